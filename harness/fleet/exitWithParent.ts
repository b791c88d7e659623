/**
 * Preloaded (`--import`) into every process the supervisor starts: when the supervisor dies
 * without stopping it (SIGKILL, OOM), the IPC channel it opened closes, and the process stops
 * itself the graceful way (SIGTERM: drain, commit, leave the group) instead of living on as an
 * orphan that holds its port for the next `npm start`. The channel is unref'd, so it never keeps
 * a process alive that is otherwise done.
 */
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
