import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { defaultKafkaClientSettings } from '../runtime/kafka/clientConfig.ts';
import { createLogger } from '../runtime/observability/logger.ts';
import { createMetricsRegistry } from '../runtime/observability/metrics.ts';
import { FleetProducer } from '../runtime/producer/fleetProducer.ts';
import { defaultProducerSettings } from '../runtime/producer/producerSettings.ts';
import { createIngressApp } from './ingressApp.ts';
import { loadIngressConfig } from './ingressConfig.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Builds the app with clients that never connect (no service is touched). */
async function buildOffline() {
  const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
  const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false });
  const producer = new FleetProducer({
    client: defaultKafkaClientSettings('127.0.0.1:1', 'inventory-test'),
    settings: defaultProducerSettings,
  });
  const built = await createIngressApp(loadIngressConfig({}), {
    pool,
    redis,
    producer,
    registry: createMetricsRegistry({ worker: 'ingress', collectDefaultMetrics: false }),
    logger: createLogger({ worker: 'ingress', level: 'silent' }),
  });
  return {
    built,
    close: async () => {
      await built.app.close();
      await pool.end();
      redis.disconnect();
    },
  };
}

describe('API inventory (OWASP API9)', () => {
  it('serves exactly the routes the README documents, each with its access level, API routes under /v1', async () => {
    const { built, close } = await buildOffline();
    try {
      const readme = readFileSync(join(here, 'README.md'), 'utf8');
      const documented = [...readme.matchAll(/^\|\s*`(GET|POST|DELETE) ([^`]+)`\s*\|\s*(\w+)\s*\|/gm)].map(
        (m) => `${m[1]} ${m[2]} ${m[3]}`,
      );
      const served = built.inventory.map(
        (r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')} ${r.access}`,
      );
      expect(served.sort()).toEqual(documented.sort());
      for (const route of built.inventory) {
        if (route.access !== 'ops') expect(route.url).toMatch(/^\/v1\//);
        if (route.url.startsWith('/v1/admin/')) expect(route.access).toBe('admin');
      }
    } finally {
      await close();
    }
  });
});

describe('no server-side requests from client input (OWASP API7)', () => {
  it('the ingress source makes no outbound HTTP calls: its only peers are the configured Kafka, registry, PostgreSQL and Redis', () => {
    const sources: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !path.includes('/testing/'))
          sources.push(path);
      }
    };
    walk(here);
    expect(sources.length).toBeGreaterThan(10);
    for (const path of sources) {
      const text = readFileSync(path, 'utf8');
      expect(text, path).not.toMatch(
        /\bfetch\(|\bundici\b|\baxios\b|\bhttps?\.(request|get)\(|XMLHttpRequest|\b(?:net|tls)\.connect\(|createConnection\(/,
      );
    }
  });
});
