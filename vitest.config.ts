import { defineConfig } from 'vitest/config';

const roots = [
  'workers',
  'topics',
  'schemas',
  'db',
  'harness',
  'dashboards',
  'deploy',
  'runbooks',
  'ops',
  'test',
];

// Unit tests (`*.test.ts`) touch no service. Integration tests (`*.int.test.ts`) talk to the
// real stack, which the global setup brings up when it is not running; they run in forked
// workers, two at a time at most on a 2-core machine, each with random topic and group names.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: roots.map((r) => `${r}/**/*.test.ts`),
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          // Forks, not threads: the Kafka client's native addon cannot be loaded in several worker threads.
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'integration',
          include: roots.map((r) => `${r}/**/*.int.test.ts`),
          globalSetup: ['harness/test/stackGlobalSetup.ts'],
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
