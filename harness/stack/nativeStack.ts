import { kafkaBrokerService } from './kafkaBroker.ts';
import { postgresService, redisService } from './localDataServices.ts';
import { schemaRegistryService } from './schemaRegistry.ts';
import type { StackConfig } from './stackConfig.ts';
import type { StackService } from './stackService.ts';

/** The native provider's services, in start order (data stores first, the JVMs after). */
export function nativeStackServices(config: StackConfig, log: (line: string) => void): StackService[] {
  return [
    postgresService(config, log),
    redisService(config),
    kafkaBrokerService(config, log),
    schemaRegistryService(config, log),
  ];
}
