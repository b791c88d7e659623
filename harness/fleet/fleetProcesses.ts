import type { EnvReader } from '../../workers/runtime/config/envReader.ts';

/** One long-running process of the local fleet. */
export interface FleetProcess {
  /** Log prefix and name. */
  name: string;
  /** Entry file, relative to the repository root. */
  entry: string;
  /** Answers 200 once the process is ready. */
  readyUrl: string;
  /** Extra environment for the process. */
  env?: Record<string, string>;
}

/** The ports `npm start` gives its processes; the defaults are the contract's. */
export interface FleetPorts {
  /** INGRESS_PORT: the ingress's API, health and metrics port; default 8080. */
  ingress: number;
  /** FLEET_SETTLER_PORT: the settler's METRICS_PORT under `npm start`; default 9101. */
  settler: number;
  /** FLEET_LEDGER_PORT: the rental ledger's METRICS_PORT under `npm start`; default 9102. */
  ledger: number;
  /** FLEET_NOTIFIER_PORT: the notifier's METRICS_PORT under `npm start`; default 9103. */
  notifier: number;
  /** NOTIFY_PROVIDER_PORT: the local notification provider the notifier calls; default 9180. */
  notifyProvider: number;
  /** FLEET_LAG_MONITOR_PORT: the lag monitor's METRICS_PORT (and /v1/lag) under `npm start`; default 9104. */
  lagMonitor: number;
}

/** Reads the fleet's ports (call `reader.done()` afterwards); each process gets its own, never a shared METRICS_PORT. */
export function readFleetPorts(reader: EnvReader): FleetPorts {
  const port = (name: string, fallback: number) => reader.int(name, fallback, { min: 1, max: 65_535 });
  return {
    ingress: port('INGRESS_PORT', 8080),
    settler: port('FLEET_SETTLER_PORT', 9101),
    ledger: port('FLEET_LEDGER_PORT', 9102),
    notifier: port('FLEET_NOTIFIER_PORT', 9103),
    notifyProvider: port('NOTIFY_PROVIDER_PORT', 9180),
    lagMonitor: port('FLEET_LAG_MONITOR_PORT', 9104),
  };
}

/** Every process `npm start` runs, in start order (consumers before the ingress that feeds them). */
export function fleetProcesses(ports: FleetPorts): FleetProcess[] {
  return [
    {
      name: 'settler',
      entry: 'workers/reservation-settler/main.ts',
      readyUrl: `http://127.0.0.1:${ports.settler}/readyz`,
      env: { METRICS_PORT: String(ports.settler) },
    },
    {
      name: 'rental-ledger',
      entry: 'workers/rental-ledger/main.ts',
      readyUrl: `http://127.0.0.1:${ports.ledger}/readyz`,
      env: { METRICS_PORT: String(ports.ledger) },
    },
    {
      // The local stand-in for the external provider, up before the notifier that calls it.
      name: 'notify-provider',
      entry: 'harness/notifyProvider/main.ts',
      readyUrl: `http://127.0.0.1:${ports.notifyProvider}/readyz`,
      env: { NOTIFY_PROVIDER_PORT: String(ports.notifyProvider) },
    },
    {
      name: 'notifier',
      entry: 'workers/notifier/main.ts',
      readyUrl: `http://127.0.0.1:${ports.notifier}/readyz`,
      env: {
        METRICS_PORT: String(ports.notifier),
        NOTIFIER_PROVIDER_URL: `http://127.0.0.1:${ports.notifyProvider}/v1/messages`,
      },
    },
    {
      name: 'lag-monitor',
      entry: 'workers/lag-monitor/main.ts',
      readyUrl: `http://127.0.0.1:${ports.lagMonitor}/readyz`,
      env: { METRICS_PORT: String(ports.lagMonitor) },
    },
    {
      name: 'ingress',
      entry: 'workers/ingress/main.ts',
      readyUrl: `http://127.0.0.1:${ports.ingress}/readyz`,
      env: { INGRESS_PORT: String(ports.ingress) },
    },
  ];
}
