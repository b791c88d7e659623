import { describe, expect, it } from 'vitest';
import type { ReservationCommand } from '../../schemas/generated/types.ts';
import type { ConsumedMessage } from '../runtime/consumer/consumedMessage.ts';
import { PermanentError } from '../runtime/errors/processingErrors.ts';
import { InvalidCommandError, toSettlementCommand } from './settlementCommand.ts';
import { cancellationCommand, commandValue, requestCommand } from './testing/settlementCommands.ts';

const vehicleId = '00000000-0000-4000-8000-0000000000aa';

function message(value: ReservationCommand, key = vehicleId): ConsumedMessage<ReservationCommand> {
  return {
    topic: 't',
    partition: 2,
    offset: 41,
    key: Buffer.from(key),
    keyText: key,
    value,
    rawValue: null,
    headers: {},
    timestamp: 0,
    correlationId: 'from-header',
    attempt: 1,
  };
}

describe('toSettlementCommand', () => {
  it('reads a reservation request with its position and the envelope correlation id', () => {
    const request = requestCommand({ vehicleId, fromHour: 1, toHour: 3 });
    expect(toSettlementCommand(message(commandValue(request)))).toEqual({
      ...request,
      position: { partition: 2, offset: 41 },
    });
  });

  it('reads a cancellation, falling back to the record correlation id when the envelope has none', () => {
    const cancel = cancellationCommand({ reservationId: '00000000-0000-4000-8000-0000000000bb', vehicleId });
    const value = { ...commandValue(cancel), correlationId: null };
    expect(toSettlementCommand(message(value))).toMatchObject({
      kind: 'cancellation',
      correlationId: 'from-header',
    });
  });

  it.each([
    ['a key other than the vehicle id', (v: ReservationCommand) => message(v, 'another-key')],
    [
      'an empty period',
      (v: ReservationCommand) => {
        const payload = v.payload as {
          'dev.fleetstream.reservation.ReservationRequested': { endsAt: number; startsAt: number };
        };
        payload['dev.fleetstream.reservation.ReservationRequested'].endsAt =
          payload['dev.fleetstream.reservation.ReservationRequested'].startsAt;
        return message(v);
      },
    ],
    [
      'a reservation id that is no UUID',
      (v: ReservationCommand) => message({ ...v, commandId: 'not-a-uuid' }),
    ],
    [
      'an empty customer id',
      (v: ReservationCommand) => {
        const payload = v.payload as {
          'dev.fleetstream.reservation.ReservationRequested': { customerId: string };
        };
        payload['dev.fleetstream.reservation.ReservationRequested'].customerId = '';
        return message(v);
      },
    ],
  ])('refuses %s as a permanent, invalid command', (_what, build) => {
    const value = commandValue(requestCommand({ vehicleId, fromHour: 1, toHour: 3 }));
    const attempt = () => toSettlementCommand(build(value));
    expect(attempt).toThrow(InvalidCommandError);
    expect(attempt).toThrow(PermanentError);
  });
});
