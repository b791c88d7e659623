/** The configurable rules of new decisions (read from the environment by settlerConfig.ts). */
export interface SettlementPolicy {
  /**
   * How long after its period started a pending request may still be booked (SETTLER_START_GRACE_S);
   * older ones — a request that waited out a Kafka or settler outage — are rejected `invalid_period`.
   */
  startGraceMs: number;
}

/** 15 minutes: normal lag never comes near it, a request relayed after an outage of hours does. */
export const defaultSettlementPolicy: Readonly<SettlementPolicy> = Object.freeze({ startGraceMs: 900_000 });
