import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ConfigAdminUnavailableError, TopicAdminError } from './topicsErrors.ts';

/** Effective topic-level configs by name (null where the broker hides a sensitive value). */
export type TopicConfigs = Readonly<Record<string, string | null>>;

/** One topic-level config to set. */
export interface ConfigChange {
  topic: string;
  config: string;
  value: string;
}

/** Reads and alters topic-level configs: the two operations @confluentinc/kafka-javascript 1.10.1 lacks. */
export interface TopicConfigAdmin {
  /** Effective configs of each named topic that exists; missing topics are left out of the map. */
  describe(topics: readonly string[]): Promise<Map<string, TopicConfigs>>;
  /**
   * Sets the configs with IncrementalAlterConfigs, so configs not named stay as they are.
   * Resolves to the topics the broker refused (each topic's changes apply all or nothing);
   * rejects when the request as a whole failed.
   */
  alter(changes: readonly ConfigChange[]): Promise<Map<string, TopicAdminError>>;
  /** Releases whatever the admin holds (for the Java helper: its JVM). Safe to call twice. */
  close(): Promise<void>;
}

/** Where the Java helper finds its jars and keeps its compiled class. */
export interface JavaConfigAdminOptions {
  bootstrap: string;
  timeoutMs: number;
  /** A folder holding kafka-clients-*.jar and its dependencies (the broker's libs folder will do). */
  kafkaLibsDir: string;
  /** A writable folder for the compiled helper, reused while the source and jars are unchanged. */
  cacheDir: string;
}

const sourceFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'java', 'TopicConfigAdmin.java');

type HelperError = { type: string; message: string; retriable: boolean };
type HelperAnswer = {
  error?: HelperError;
  topics?: { name: string; error?: HelperError; configs?: { name: string; value: string | null }[] }[];
};

/**
 * Topic config access through Kafka's own Java Admin client (topics/java/TopicConfigAdmin.java),
 * compiled once into `cacheDir`. The JVM starts on the first request (about a second) and serves
 * every later one until close(); nothing starts when no request is made.
 */
export function javaConfigAdmin(options: JavaConfigAdminOptions): TopicConfigAdmin {
  let helper: Promise<HelperProcess> | undefined;
  let closed = false;

  const request = async (words: readonly string[]): Promise<HelperAnswer> => {
    if (closed) throw new TopicAdminError(`topic config helper ${words[0]}`, 'the admin is closed', false);
    helper ??= startHelper(options);
    const running = await helper;
    const line = await running.request(words.map((word) => encodeURIComponent(word)).join('\t'));
    let answer: HelperAnswer;
    try {
      answer = JSON.parse(line) as HelperAnswer;
    } catch {
      throw new TopicAdminError(
        `topic config helper ${words[0]}`,
        `unreadable answer: ${line.slice(0, 200)}`,
        false,
      );
    }
    if (answer.error) {
      throw new TopicAdminError(
        `topic config helper ${words[0]}`,
        `${answer.error.type}: ${answer.error.message}`,
        answer.error.retriable,
      );
    }
    return answer;
  };

  return {
    async describe(topics) {
      const configs = new Map<string, TopicConfigs>();
      if (topics.length === 0) return configs;
      const answer = await request(['describe', ...topics]);
      for (const topic of answer.topics ?? []) {
        if (topic.error?.type === 'UnknownTopicOrPartitionException') continue;
        if (topic.error) {
          throw new TopicAdminError(
            `describe configs of ${topic.name}`,
            `${topic.error.type}: ${topic.error.message}`,
            topic.error.retriable,
          );
        }
        configs.set(topic.name, Object.fromEntries((topic.configs ?? []).map((c) => [c.name, c.value])));
      }
      return configs;
    },

    async alter(changes) {
      const refused = new Map<string, TopicAdminError>();
      if (changes.length === 0) return refused;
      const answer = await request(['alter', ...changes.flatMap((c) => ['set', c.topic, c.config, c.value])]);
      for (const topic of answer.topics ?? []) {
        if (!topic.error) continue;
        refused.set(
          topic.name,
          new TopicAdminError(
            `alter configs of ${topic.name}`,
            `${topic.error.type}: ${topic.error.message}`,
            topic.error.retriable,
          ),
        );
      }
      return refused;
    },

    async close() {
      closed = true;
      const running = helper;
      helper = undefined;
      if (running) await (await running.catch(() => undefined))?.close();
    },
  };
}

/** A running helper JVM: one request line in, one answer line out, strictly in turn. */
interface HelperProcess {
  request(line: string): Promise<string>;
  close(): Promise<void>;
}

async function startHelper(options: JavaConfigAdminOptions): Promise<HelperProcess> {
  const classDir = await compiledHelper(options);
  const classpath = [classDir, ...clientJars(options.kafkaLibsDir)].join(path.delimiter);
  // A small heap and the C1 compiler only: the helper lives for one plan or apply, so start-up time is what counts.
  const child = spawn(
    'java',
    [
      '-Xmx128m',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      // Silences SLF4J's "no providers" notice: the client's logs are not wanted, only its answers.
      '-Dslf4j.internal.verbosity=ERROR',
      '-cp',
      classpath,
      'TopicConfigAdmin',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // A child that fails to start closes stdin under us; that failure is reported through 'error' below.
  child.stdin.on('error', () => undefined);

  let exited: Error | undefined;
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  const exit = new Promise<void>((resolve) => {
    const fail = (error: Error) => {
      exited ??= error;
      for (const waiter of waiting.splice(0)) waiter.reject(exited);
      resolve();
    };
    child.on('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'ENOENT'
          ? new ConfigAdminUnavailableError(
              "reading and altering topic configs runs Kafka's Java Admin client, and `java` is not on the PATH: install a JDK (17 or newer)",
              { cause: error },
            )
          : error,
      ),
    );
    child.on('close', (code) =>
      fail(
        new TopicAdminError(
          'topic config helper',
          `exited (${code}): ${lastLines(stderr) || 'no output'}`,
          false,
        ),
      ),
    );
  });
  readline.createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));

  child.stdin.write(
    `${[
      `bootstrap.servers=${options.bootstrap}`,
      `default.api.timeout.ms=${options.timeoutMs}`,
      `request.timeout.ms=${Math.min(options.timeoutMs, 30_000)}`,
    ].join('\n')}\n--\n`,
  );

  let queue: Promise<unknown> = Promise.resolve();
  return {
    request(line) {
      // One request in flight at a time: answers carry no id, so order is what pairs them.
      const answer = queue.then(
        () =>
          new Promise<string>((resolve, reject) => {
            if (exited) return reject(exited);
            waiting.push({ resolve, reject });
            child.stdin.write(`${line}\n`);
          }),
      );
      queue = answer.catch(() => undefined);
      return answer;
    },
    async close() {
      child.stdin.end();
      // The helper exits on end of input; kill it only if the Admin client will not let go.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Compiles the helper unless a class compiled from the same source against the same jars is cached; returns its folder. */
async function compiledHelper(options: JavaConfigAdminOptions): Promise<string> {
  let jars: string[];
  try {
    jars = fs.readdirSync(options.kafkaLibsDir).filter((name) => name.endsWith('.jar'));
  } catch {
    jars = [];
  }
  if (!jars.some((name) => /^kafka-clients-.*\.jar$/.test(name))) {
    throw new ConfigAdminUnavailableError(
      `reading and altering topic configs needs Kafka's client jars, and ${options.kafkaLibsDir} holds no ` +
        'kafka-clients-*.jar: run `npm run -s stack:up` once (it fetches them) or set KAFKA_LIBS_DIR',
    );
  }
  const source = fs.readFileSync(sourceFile);
  const digest = createHash('sha256')
    .update(source)
    .update(jars.sort().join('\n'))
    .digest('hex')
    .slice(0, 16);
  const classDir = path.join(options.cacheDir, digest);
  if (fs.existsSync(path.join(classDir, 'TopicConfigAdmin.class'))) return classDir;

  // Compile into a private folder and rename it into place, so concurrent runs never see half a class.
  fs.mkdirSync(options.cacheDir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(options.cacheDir, `${digest}.tmp-`));
  try {
    const result = await runProcess('javac', [
      '-nowarn',
      '-d',
      staging,
      '-cp',
      clientJars(options.kafkaLibsDir).join(path.delimiter),
      sourceFile,
    ]);
    if (result.code !== 0) {
      throw new ConfigAdminUnavailableError(
        `javac could not compile ${sourceFile}: ${lastLines(result.stderr)}`,
      );
    }
    try {
      fs.renameSync(staging, classDir);
    } catch (error) {
      // Another process won the race and its class is just as good.
      if (!fs.existsSync(path.join(classDir, 'TopicConfigAdmin.class'))) throw error;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return classDir;
}

/**
 * The two jars the Admin client needs. Naming them instead of `libs/*` halves the JVM's start-up,
 * since it no longer opens the broker's forty-odd jars; without an SLF4J provider the client logs nothing.
 */
function clientJars(libsDir: string): string[] {
  const jars = fs.readdirSync(libsDir);
  return [/^kafka-clients-\d[\w.-]*\.jar$/, /^slf4j-api-\d[\w.-]*\.jar$/].flatMap((pattern) =>
    jars.filter((name) => pattern.test(name)).map((name) => path.join(libsDir, name)),
  );
}

/** Runs a command to completion (javac here), collecting its output. */
async function runProcess(
  command: string,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'ENOENT'
          ? new ConfigAdminUnavailableError(
              `reading and altering topic configs runs Kafka's Java Admin client, and \`${command}\` is not on the PATH: install a JDK (17 or newer)`,
              { cause: error },
            )
          : error,
      );
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
