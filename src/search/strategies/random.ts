import { mulberry32 } from '../../random.js';
import { boxSize, pointKey, seedFor, toMixture, totalCount, type Point, type SearchDims } from '../encoding.js';
import { countNonEmpty, triedPoints } from './_history.js';
import type { Strategy } from './types.js';

/** Uniform over the integer box (at least one proposer), never repeating a mixture. */
export const randomStrategy: Strategy = {
  name: 'random',
  suggest(history, { dims, seed }) {
    const tried = triedPoints(history, dims);
    if (boxSize(dims) - countNonEmpty(history, dims) <= 0) return null;
    const rand = mulberry32(seedFor(seed, history.length, 0x5eed));
    // Rejection sampling is uniform over the untried points; fall back to enumeration when the box is nearly full.
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const p: Point = { counts: dims.proposers.map((m) => Math.floor(rand() * (m.max + 1))), agg: Math.floor(rand() * dims.aggregators.length) };
      if (totalCount(p) === 0 || tried.has(pointKey(p))) continue;
      return { point: p, mixture: toMixture(dims, p), note: 'uniform random' };
    }
    const all = enumeratePoints(dims).filter((p) => !tried.has(pointKey(p)));
    if (!all.length) return null;
    const p = all[Math.floor(rand() * all.length)]!;
    return { point: p, mixture: toMixture(dims, p), note: 'uniform random' };
  },
};

/** Every point with at least one proposer, aggregator-major then counts in odometer order. */
export function enumeratePoints(dims: SearchDims): Point[] {
  const out: Point[] = [];
  const d = dims.proposers.length;
  for (let agg = 0; agg < dims.aggregators.length; agg++) {
    const c = new Array<number>(d).fill(0);
    for (;;) {
      let i = 0;
      while (i < d && c[i] === dims.proposers[i]!.max) c[i++] = 0;
      if (i === d) break;
      c[i]!++;
      out.push({ counts: c.slice(), agg });
    }
  }
  return out;
}
