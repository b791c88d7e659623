/**
 * `promise`, or a rejection after `ms` if it has not settled by then ("no answer within … ms").
 * The timer is cleared either way; the promise itself runs on (a caller that needs it stopped
 * passes an AbortSignal to whatever it calls).
 */
export function answerWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
