import { describe, expect, it } from 'vitest';
import { storedReasons } from '../../workers/reservation-settler/settlement.ts';
import { eventReasonOf } from '../../workers/reservation-settler/settlementEvents.ts';
import { expectedEventReason } from './expectedEventReasons.ts';

describe('expectedEventReason', () => {
  it('agrees with the settler on every reason it stores, and on what others store', () => {
    for (const stored of [...Object.values(storedReasons), 'enqueue_failed', null]) {
      expect(eventReasonOf(stored).reason, String(stored)).toBe(expectedEventReason(stored));
    }
  });

  it('never lets an event tell "not yours" from "no such reservation"', () => {
    expect(expectedEventReason('not_owner')).toBe('not_found');
    expect(expectedEventReason('wrong_vehicle')).toBe('not_found');
  });
});
