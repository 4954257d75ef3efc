import type { Executor } from './types.js';

/**
 * Sample indices a replicate may use before it runs into the next one's: copies of a model (maxCopies ≤ 16)
 * and a judge's retry (sample 1) stay well inside it. The one mapping of the project: replicate r's request with
 * sample i is sample `r × SAMPLE_STRIDE + i`, whether through this view or the engine's `sampleOffset` (the search
 * measures replicate r at offset r × SAMPLE_STRIDE, and its judge asks with `offset + retry`).
 */
export const SAMPLE_STRIDE = 64;

/**
 * The executor, with every request's sample index moved to replicate `replicate`'s range
 * (`replicate × SAMPLE_STRIDE + sample`): the same work again draws fresh samples instead of the cached ones,
 * so a replicate measures sampling noise. Replicate 0 sends the requests unchanged (same cache keys).
 * Closing the view does not close the executor.
 */
export function withSampleOffset(executor: Executor, replicate: number): Executor {
  if (!Number.isInteger(replicate) || replicate < 0) throw new RangeError(`replicate must be a whole number ≥ 0, got ${replicate}`);
  const shift = replicate * SAMPLE_STRIDE;
  return {
    generate: (req, opts) => executor.generate({ ...req, sample: shift + (req.sample ?? 0) }, opts),
    priceOf: (model, p, c) => executor.priceOf(model, p, c),
    spend: () => executor.spend(),
    close: async () => {},
  };
}
