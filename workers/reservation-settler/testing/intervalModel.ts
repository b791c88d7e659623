import type { SettlementCommand } from '../settlementCommand.ts';

/** A request's final state as a serial settlement would leave it. */
export type ModelStatus = 'confirmed' | 'rejected' | 'cancelled';

/**
 * The reference model of settlement: commands of each vehicle applied one by one in log order
 * against an interval set of confirmed periods. Returns each request's final status. The real
 * settler (batched, concurrent, several replicas) must end exactly here.
 */
export function settleSerially(commands: readonly SettlementCommand[]): Map<string, ModelStatus> {
  const status = new Map<string, ModelStatus>();
  const requests = new Map<string, SettlementCommand & { kind: 'request' }>();
  for (const command of commands) {
    if (command.kind === 'request') {
      if (status.has(command.reservationId)) continue; // a replay decides nothing new
      requests.set(command.reservationId, command);
      const taken = [...requests.values()].some(
        (other) =>
          other.reservationId !== command.reservationId &&
          other.vehicleId === command.vehicleId &&
          status.get(other.reservationId) === 'confirmed' &&
          other.startsAtMs < command.endsAtMs &&
          command.startsAtMs < other.endsAtMs,
      );
      status.set(command.reservationId, taken ? 'rejected' : 'confirmed');
      continue;
    }
    const target = requests.get(command.reservationId);
    if (
      target &&
      target.customerId === command.customerId &&
      target.vehicleId === command.vehicleId &&
      status.get(target.reservationId) === 'confirmed'
    ) {
      status.set(target.reservationId, 'cancelled');
    }
  }
  return status;
}
