/**
 * `npm start`: the whole fleet on the local stack, in the foreground.
 * Brings up the stack, applies topics, schemas and migrations (and seeds the local vehicle
 * catalog), then runs every worker under one supervisor with prefixed logs. Ctrl-C or
 * SIGTERM drains the workers and stops what this run started, stack services included (also
 * while the stack is still starting); a second Ctrl-C (a second or more later) kills the workers
 * and exits 1.
 */
import { ConfigError } from '../../workers/runtime/config/configError.ts';
import { EnvReader } from '../../workers/runtime/config/envReader.ts';
import { upUnlessInterrupted } from '../stack/interruptibleUp.ts';
import { LocalStack } from '../stack/localStack.ts';
import { loadStackConfig, repoRoot } from '../stack/stackConfig.ts';
import { fleetProcesses, readFleetPorts } from './fleetProcesses.ts';
import { shutdownOnSignals } from './fleetShutdown.ts';
import { prepareFleet } from './prepareFleet.ts';
import { ProcessSupervisor } from './processSupervisor.ts';

async function main(): Promise<void> {
  const config = loadStackConfig();
  const reader = new EnvReader(process.env);
  const ports = readFleetPorts(reader);
  reader.done();
  console.log('== local stack');
  const stack = await LocalStack.create(config, (line) => console.log(line));
  const outcomes = await upUnlessInterrupted(stack);
  // Interrupted: what it started is stopped; a Ctrl-C under `npm start` exits 0, as at any other time.
  if (!outcomes) process.exit(0);
  const startedHere = new Set([...outcomes].filter(([, o]) => o === 'started').map(([name]) => name));
  for (const [name, outcome] of outcomes) console.log(`${name.padEnd(16)} ${outcome}`);

  const supervisor = new ProcessSupervisor(repoRoot, fleetProcesses(ports), {
    // An incomplete fleet must not look like a running one.
    onGaveUp: (name) => void shutdown(`${name} keeps exiting`, 1),
  });
  const shutdown = shutdownOnSignals(supervisor, async () => {
    if (startedHere.size > 0 && process.env.KEEP_STACK !== '1') {
      const stopped = await stack.down(startedHere);
      console.log(`== stopped stack services this run started: ${stopped.join(', ') || 'none'}`);
    } else {
      console.log('== stack services were already running before `npm start`: left running');
    }
  });

  try {
    prepareFleet();
    console.log('\n== fleet');
    await supervisor.start(120_000);
  } catch (error) {
    console.error(`\nnpm start failed: ${(error as Error).message}`);
    await shutdown('failure', 1);
    return;
  }
  // Ctrl-C during the start: the shutdown is under way, nothing is running to advertise.
  if (supervisor.isStopping) return;
  const e = config.endpoints;
  const ingress = `http://127.0.0.1:${ports.ingress}`;
  console.log(`
== fleetstream is running
  ingress          ${ingress}   (GET /readyz, /metrics)
  settler          http://127.0.0.1:${ports.settler}/metrics
  rental ledger    http://127.0.0.1:${ports.ledger}/metrics
  notifier         http://127.0.0.1:${ports.notifier}/metrics   (messages: http://127.0.0.1:${ports.notifyProvider}/v1/messages)
  lag monitor      http://127.0.0.1:${ports.lagMonitor}/v1/lag
  kafka            ${e.kafkaBootstrap}
  schema registry  ${e.schemaRegistryUrl}
  postgres         ${e.databaseUrl}
  redis            ${e.redisUrl}

  Mint a token and place a first reservation (in another terminal):
    TOKEN=$(npm run -s token -- --sub alice)
    VEHICLE=$(curl -s -H "Authorization: Bearer $TOKEN" '${ingress}/v1/vehicles?limit=1' | node -p 'JSON.parse(require("fs").readFileSync(0)).vehicles[0].vehicleId')
    curl -i -X POST ${ingress}/v1/reservations \\
      -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
      -d "{\\"vehicleId\\":\\"$VEHICLE\\",\\"startsAt\\":\\"$(date -u -d '+1 day' +%Y-%m-%dT10:00:00Z)\\",\\"endsAt\\":\\"$(date -u -d '+2 day' +%Y-%m-%dT10:00:00Z)\\"}"

  What alice was told:        curl -s 'http://127.0.0.1:${ports.notifyProvider}/v1/messages?to=alice'
  Give the ledger some money:  npm run -s rentals -- --rentals 5   (docs/rental-ledger.md)

  Ctrl-C stops the fleet${startedHere.size ? ` and the stack services it started (${[...startedHere].join(', ')})` : ''}.
`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `npm start: ${(error as Error).message}`);
  process.exit(1);
});
