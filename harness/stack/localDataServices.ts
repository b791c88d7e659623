import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { probePostgres, probeRedis } from './healthProbes.ts';
import { ManagedProcessService } from './managedJvmService.ts';
import { type StackConfig, stackPaths } from './stackConfig.ts';

const run = promisify(execFile);

/**
 * PostgreSQL: the server already running at DATABASE_ADMIN_URL is used as is (reported `external`).
 * Where none answers, a cluster is initialised in the stack's data dir from Debian's
 * postgresql binaries and started on the URL's port with trust auth on loopback.
 */
export function postgresService(config: StackConfig, log: (line: string) => void): ManagedProcessService {
  const paths = stackPaths(config.stackDir);
  const url = new URL(config.databaseAdminUrl);
  const port = Number(url.port || 5432);
  const dataDir = path.join(paths.data, 'postgres');
  const socketDir = path.join(paths.run, 'postgres');
  let binDir = '';

  return new ManagedProcessService({
    name: 'postgres',
    endpoint: `${url.hostname}:${port}`,
    runDir: paths.run,
    logDir: paths.logs,
    startTimeoutMs: config.startTimeoutMs,
    probe: () => probePostgres(config.databaseAdminUrl),
    prepare: async () => {
      binDir = debianPostgresBinDir();
      fs.mkdirSync(socketDir, { recursive: true });
      if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
        log(`postgres: no server answers at ${url.host}; initialising ${dataDir}`);
        fs.mkdirSync(dataDir, { recursive: true });
        chownToPostgres([dataDir, socketDir]);
        await run(
          ...asPostgresUser(path.join(binDir, 'initdb'), [
            '-D',
            dataDir,
            '-U',
            url.username || 'postgres',
            '--auth=trust',
            '-E',
            'UTF8',
          ]),
        );
      }
    },
    command: () => {
      const [command, args] = asPostgresUser(path.join(binDir, 'postgres'), [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        `listen_addresses=${url.hostname}`,
        '-c',
        `unix_socket_directories=${socketDir}`,
      ]);
      return { command, args, cwd: config.stackDir, marker: dataDir };
    },
  });
}

/** Redis: the server at REDIS_URL is used as is; where none answers, redis-server runs without persistence. */
export function redisService(config: StackConfig): ManagedProcessService {
  const paths = stackPaths(config.stackDir);
  const url = new URL(config.endpoints.redisUrl);
  const port = Number(url.port || 6379);
  const dataDir = path.join(paths.data, 'redis');
  return new ManagedProcessService({
    name: 'redis',
    endpoint: `${url.hostname}:${port}`,
    runDir: paths.run,
    logDir: paths.logs,
    startTimeoutMs: config.startTimeoutMs,
    probe: () => probeRedis(config.endpoints.redisUrl),
    prepare: async () => {
      fs.mkdirSync(dataDir, { recursive: true });
    },
    command: () => ({
      command: 'redis-server',
      args: [
        '--bind',
        url.hostname,
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dataDir,
      ],
      cwd: dataDir,
      marker: `:${port}`,
    }),
  });
}

function debianPostgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (fs.existsSync(path.join(bin, 'postgres'))) return bin;
  }
  throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
}

// PostgreSQL refuses to run as root; run it as the Debian package's `postgres` user instead.
function asPostgresUser(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

function chownToPostgres(dirs: string[]): void {
  if (process.getuid?.() !== 0) return;
  for (const dir of dirs) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
}
