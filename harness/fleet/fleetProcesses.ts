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

/** Every process `npm start` runs, in start order (consumers before the ingress that feeds them). */
export const fleetProcesses: readonly FleetProcess[] = [
  { name: 'settler', entry: 'workers/reservation-settler/main.ts', readyUrl: 'http://127.0.0.1:9101/readyz' },
  { name: 'lag-monitor', entry: 'workers/lag-monitor/main.ts', readyUrl: 'http://127.0.0.1:9104/readyz' },
  { name: 'ingress', entry: 'workers/ingress/main.ts', readyUrl: 'http://127.0.0.1:8080/readyz' },
];
