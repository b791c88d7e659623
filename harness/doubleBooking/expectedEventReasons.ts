/**
 * The reason a decision event must carry for a rejection the database stores, written down here
 * on its own (docs/settler.md, the event contract) rather than imported from the settler, so the
 * storm checks the settler's mapping instead of reusing it.
 */
const announcedAs: Readonly<Record<string, string>> = {
  overlap: 'overlap',
  unknown_vehicle: 'unknown_vehicle',
  // A retired vehicle is not bookable: customers are told it is unknown.
  vehicle_retired: 'unknown_vehicle',
  period_started: 'invalid_period',
  // Someone else's reservation, an unknown one and one on another vehicle read the same (BOLA):
  // no event may say `not_owner`.
  not_found: 'not_found',
  not_owner: 'not_found',
  wrong_vehicle: 'not_found',
  nothing_to_cancel: 'not_found',
};

/** The event reason of a stored rejection reason; one the settler did not write (the ingress's `enqueue_failed`) is `unspecified`. */
export function expectedEventReason(stored: string | null): string {
  return (stored !== null ? announcedAs[stored] : undefined) ?? 'unspecified';
}
