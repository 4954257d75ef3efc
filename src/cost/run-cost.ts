import type { MixtureRun } from '../moa/types.js';

/**
 * Deployment cost of one query in USD: the sum of the calls' `costUsd`. The executor fills `costUsd` with the
 * call's price even when the answer came from the cache, so this is what the query would cost in production,
 * not what this particular run spent.
 */
export function runCost(run: MixtureRun): number {
  let sum = 0;
  for (const c of run.calls) sum += c.costUsd;
  return sum;
}

/** Prompt and completion tokens of all calls of a run. */
export function runTokens(run: MixtureRun): { promptTokens: number; completionTokens: number } {
  let promptTokens = 0;
  let completionTokens = 0;
  for (const c of run.calls) {
    promptTokens += c.promptTokens;
    completionTokens += c.completionTokens;
  }
  return { promptTokens, completionTokens };
}

/**
 * Measured wall-clock time of each layer in ms (index 0 = layer 1): from the first call's start to the last
 * call's end in that layer (its summarizer included). Layers without calls give 0. Cached calls take ~0 ms,
 * so a cached run measures the cache, not the models.
 */
export function layerWallLatencyMs(run: MixtureRun): number[] {
  const span = new Map<number, { start: number; end: number }>();
  for (const c of run.calls) {
    const s = span.get(c.layer);
    if (!s) span.set(c.layer, { start: c.startMs, end: c.endMs });
    else {
      s.start = Math.min(s.start, c.startMs);
      s.end = Math.max(s.end, c.endMs);
    }
  }
  const layers = Math.max(0, ...span.keys());
  return Array.from({ length: layers }, (_, i) => {
    const s = span.get(i + 1);
    return s ? Math.max(0, s.end - s.start) : 0;
  });
}

/** Mean, standard deviation (sample), min and max of a list of numbers; for "per query, with spread". */
export interface Spread {
  n: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  if (n === 0) return { n: 0, mean: NaN, sd: NaN, min: NaN, max: NaN };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return { n, mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min, max };
}
