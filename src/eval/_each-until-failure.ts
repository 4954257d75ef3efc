import pLimit from 'p-limit';

/**
 * `fn(i)` for i = 0 … n−1 in order, `concurrency` at a time. After the first failure nothing new starts, and that
 * failure is thrown once every started call has settled, so none is left running against an executor the caller
 * is about to close.
 */
export async function eachUntilFailure(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  const limit = pLimit(Math.max(1, Math.min(concurrency, n)));
  let failure: { error: unknown } | undefined;
  const one = async (i: number) => {
    if (failure) return;
    try {
      await fn(i);
    } catch (error) {
      failure ??= { error };
    }
  };
  await Promise.all(Array.from({ length: n }, (_, i) => limit(one, i)));
  if (failure) throw failure.error;
}
