import { ledgerAccounts } from './chartOfAccounts.ts';

/** One line of a posting set: a signed amount in minor units (debit positive, credit negative). */
export interface PostingLine {
  account: string;
  currency: string;
  amountMinor: number;
}

/** A capture: the clearing account receives the money, the purpose's account is credited. */
export function capturePostings(
  creditedAccount: string,
  currency: string,
  amountMinor: number,
): PostingLine[] {
  return [
    { account: ledgerAccounts.paymentClearing, currency, amountMinor },
    { account: creditedAccount, currency, amountMinor: -amountMinor },
  ];
}

/** A refund: the exact reverse of (part of) its payment's capture, against the same account. */
export function refundPostings(
  creditedAccount: string,
  currency: string,
  amountMinor: number,
): PostingLine[] {
  return [
    { account: creditedAccount, currency, amountMinor },
    { account: ledgerAccounts.paymentClearing, currency, amountMinor: -amountMinor },
  ];
}
