// The HTTP ingress process: `node workers/ingress/main.ts`. Configuration comes from the
// environment (workers/ingress/README.md); SIGTERM/SIGINT close it gracefully and exit 0.
import { ConfigError } from '../runtime/config/configError.ts';
import { stopOnSignals } from '../runtime/worker/shutdownSignals.ts';
import { loadIngressConfig } from './ingressConfig.ts';

let config: ReturnType<typeof loadIngressConfig>;
try {
  config = loadIngressConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`ingress: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

// Loaded after the configuration is known to be valid: a bad variable fails fast, before the
// Kafka client and Fastify are even imported.
const { IngressService } = await import('./ingressService.ts');
const service = new IngressService(config);
try {
  await service.start();
} catch (error) {
  await service.stop();
  // A variable that only proves wrong once used (SCHEMA_REGISTRY_URL serving no registry API).
  if (error instanceof ConfigError) {
    process.stderr.write(`ingress: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  service.logger.fatal({ err: error }, 'ingress failed to start');
  process.exit(1);
}

// In-flight requests finish (each is bounded by the produce and statement timeouts); past the
// shutdown timeout something is stuck, and the exit is forced.
stopOnSignals({
  logger: service.logger,
  message: 'shutting down',
  fields: { timeoutMs: config.shutdownTimeoutMs },
  forceAfterMs: config.shutdownTimeoutMs,
  stop: async () => {
    await service.stop();
    return 0;
  },
});
