import type { ReservationCommand } from '../../schemas/generated/types.ts';
import type { ConsumedMessage, MessageHandler } from '../runtime/consumer/consumedMessage.ts';
import type { Logger } from '../runtime/observability/logger.ts';
import type { Settlement } from './settlement.ts';
import { type SettlementCommand, toSettlementCommand } from './settlementCommand.ts';
import type { SettlerMetrics } from './settlerMetrics.ts';

/** What the handler needs: settle a command (batched), then announce its decision. */
export interface SettlementHandlerDeps {
  settle(command: SettlementCommand): Promise<Settlement>;
  emit(settlement: Settlement, message: ConsumedMessage<ReservationCommand>): Promise<void>;
  metrics: SettlerMetrics;
  logger: Logger;
}

/**
 * The settler's message handler: validate, settle (the transaction commits before this
 * continues), emit the decision event and wait for the broker's ack. Only then does the runtime
 * count the command as done and let its offset be committed.
 */
export function createSettlementHandler(deps: SettlementHandlerDeps): MessageHandler<ReservationCommand> {
  return async (message) => {
    const command = toSettlementCommand(message);
    const settlement = await deps.settle(command);
    deps.metrics.countSettlement(settlement);
    await deps.emit(settlement, message);
    if (command.kind === 'cancellation' && settlement.outcome === 'rejected') {
      // The event says only "not found"; operators get the stored reason through the command id.
      deps.logger.info(
        { commandId: command.commandId, correlationId: command.correlationId, replayed: settlement.replayed },
        'cancellation refused (see fleet.cancellation_decisions for the reason)',
      );
    }
    deps.logger.debug(
      {
        commandId: command.commandId,
        correlationId: command.correlationId,
        outcome: settlement.outcome,
        reason: settlement.reason,
        replayed: settlement.replayed,
        eventId: settlement.event.eventId,
      },
      'command settled',
    );
  };
}
