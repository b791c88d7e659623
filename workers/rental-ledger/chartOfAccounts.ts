import type { PaymentPurpose } from '../../schemas/generated/types.ts';

/**
 * The ledger's accounts. Money a provider captured sits in `assets:payment_clearing` until it is
 * settled out (outside this ledger); a capture credits revenue by its purpose, except a deposit,
 * which the fleet owes back and so is a liability until it is refunded or kept.
 */
export const ledgerAccounts = Object.freeze({
  paymentClearing: 'assets:payment_clearing',
  customerDeposits: 'liabilities:customer_deposits',
  rentalRevenue: 'revenue:rental',
  extensionRevenue: 'revenue:extension',
  fuelRevenue: 'revenue:fuel',
  mileageRevenue: 'revenue:mileage',
  damageRevenue: 'revenue:damage',
  otherRevenue: 'revenue:other',
});

const creditedAccountByPurpose: Readonly<Record<PaymentPurpose, string>> = Object.freeze({
  rental_charge: ledgerAccounts.rentalRevenue,
  extension: ledgerAccounts.extensionRevenue,
  deposit: ledgerAccounts.customerDeposits,
  fuel: ledgerAccounts.fuelRevenue,
  mileage: ledgerAccounts.mileageRevenue,
  damage: ledgerAccounts.damageRevenue,
  other: ledgerAccounts.otherRevenue,
});

/** The account a captured payment of this purpose credits (and its refunds debit). */
export function creditedAccountFor(purpose: PaymentPurpose): string {
  return creditedAccountByPurpose[purpose];
}
