import { describe, expect, it } from 'vitest';
import { paymentPurposeSymbols } from '../../schemas/generated/types.ts';
import { creditedAccountFor, ledgerAccounts } from './chartOfAccounts.ts';
import { capturePostings, type PostingLine, refundPostings } from './postingPlan.ts';

const sum = (lines: PostingLine[]) => lines.reduce((total, line) => total + line.amountMinor, 0);

describe('posting plans', () => {
  it.each(paymentPurposeSymbols)(
    'a %s capture debits clearing and credits its account, balanced',
    (purpose) => {
      const account = creditedAccountFor(purpose);
      const lines = capturePostings(account, 'EUR', 4_900);
      expect(lines).toEqual([
        { account: ledgerAccounts.paymentClearing, currency: 'EUR', amountMinor: 4_900 },
        { account, currency: 'EUR', amountMinor: -4_900 },
      ]);
      expect(sum(lines)).toBe(0);
    },
  );

  it('a refund reverses its capture exactly, so capture plus full refund nets every account to zero', () => {
    const account = creditedAccountFor('deposit');
    expect(account).toBe(ledgerAccounts.customerDeposits);
    const lines = [...capturePostings(account, 'EUR', 30_000), ...refundPostings(account, 'EUR', 30_000)];
    const byAccount = new Map<string, number>();
    for (const line of lines)
      byAccount.set(line.account, (byAccount.get(line.account) ?? 0) + line.amountMinor);
    expect([...byAccount.values()]).toEqual([0, 0]);
  });

  it('only a deposit is a liability; every other purpose is revenue', () => {
    for (const purpose of paymentPurposeSymbols) {
      expect(
        creditedAccountFor(purpose).startsWith(purpose === 'deposit' ? 'liabilities:' : 'revenue:'),
      ).toBe(true);
    }
  });
});
