import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './stackConfig.ts';

const run = promisify(execFile);

/** Copies the Kafka broker's jars from Maven Central (through ~/.m2) into `<dist>/kafka-<version>/libs`; returns that dir. */
export async function ensureKafkaDistribution(
  distDir: string,
  version: string,
  log: (line: string) => void,
): Promise<string> {
  const libs = path.join(distDir, `kafka-${version}`, 'libs');
  if (fs.existsSync(path.join(libs, `kafka_2.13-${version}.jar`))) return libs;
  log(`kafka: fetching Apache Kafka ${version} jars with mvn (first run only)`);
  await run(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      path.join(repoRoot, 'harness/stack/pom.xml'),
      `-Dstack.dir=${path.dirname(distDir)}`,
      `-Dkafka.version=${version}`,
      'process-resources',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(
      `mvn could not fetch kafka_2.13:${version}: ${lastLines(error.stdout ?? error.stderr ?? error.message)}`,
    );
  });
  return libs;
}

/**
 * Unpacks Apicurio Registry's runnable Quarkus app into `<dist>/apicurio-<version>`; returns the runner jar.
 * `dependency:get -Dtransitive=false` because the 3.x parent POM is not on Maven Central,
 * which makes the dependency plugin's `unpack` fail to read the artifact's descriptor.
 */
export async function ensureApicurioDistribution(
  distDir: string,
  version: string,
  log: (line: string) => void,
): Promise<string> {
  const home = path.join(distDir, `apicurio-${version}`);
  const runner = path.join(home, `apicurio-registry-app-${version}-runner.jar`);
  if (fs.existsSync(runner)) return runner;
  const coordinates = `io.apicurio:apicurio-registry-app:${version}:zip:all`;
  log(`schema-registry: fetching ${coordinates} with mvn (first run only)`);
  await run('mvn', ['-B', '-q', 'dependency:get', `-Dartifact=${coordinates}`, '-Dtransitive=false'], {
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(
      `mvn could not fetch ${coordinates}: ${lastLines(error.stdout ?? error.stderr ?? error.message)}`,
    );
  });
  const zip = path.join(
    await localMavenRepository(),
    'io/apicurio/apicurio-registry-app',
    version,
    `apicurio-registry-app-${version}-all.zip`,
  );
  const staging = `${home}.partial`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  // `jar` ships with every JDK, so no unzip package is needed.
  await run('jar', ['xf', zip], { cwd: staging });
  fs.rmSync(home, { recursive: true, force: true });
  fs.renameSync(staging, home);
  if (!fs.existsSync(runner)) throw new Error(`${zip} did not contain ${path.basename(runner)}`);
  return runner;
}

async function localMavenRepository(): Promise<string> {
  const fromEnv = process.env.MAVEN_REPO_LOCAL;
  if (fromEnv) return fromEnv;
  try {
    const { stdout } = await run('mvn', [
      '-B',
      '-q',
      'help:evaluate',
      '-Dexpression=settings.localRepository',
      '-DforceStdout',
    ]);
    const value = stdout.trim();
    if (value && fs.existsSync(value)) return value;
  } catch {
    // help:evaluate needs its plugin; the Maven default is right for almost everyone.
  }
  return path.join(os.homedir(), '.m2', 'repository');
}

function lastLines(text: string, count = 6): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
