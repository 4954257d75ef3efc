import { pointKey, toMixture, type Point } from '../encoding.js';
import { observations, triedPoints } from './_history.js';
import type { Strategy } from './types.js';

/**
 * Forward selection under the first aggregator: evaluate each proposer alone (one copy), keep the best, then
 * repeatedly try adding one copy of each model and keep the best addition while it beats the current mixture.
 * Replayed from the stored scores at every call, so it needs no memory between calls.
 */
export const greedyStrategy: Strategy = {
  name: 'greedy',
  suggest(history, { dims }) {
    const obs = new Map(observations(history, dims).map((o) => [pointKey(o.point), o.score]));
    const tried = triedPoints(history, dims);
    const agg = 0;
    const d = dims.proposers.length;
    const single = (i: number): Point => ({ counts: dims.proposers.map((_, j) => (j === i ? 1 : 0)), agg });
    let round: Point[] = Array.from({ length: d }, (_, i) => single(i));
    let current: { point: Point; score: number } | undefined;
    for (;;) {
      const pending = round.find((p) => !tried.has(pointKey(p)));
      if (pending) return { point: pending, mixture: toMixture(dims, pending), note: current ? 'greedy: add one copy' : 'greedy: single proposer' };
      // Every candidate of this round was tried: failed ones simply do not compete.
      let best: { point: Point; score: number } | undefined;
      for (const p of round) {
        const s = obs.get(pointKey(p));
        if (s !== undefined && (!best || s > best.score)) best = { point: p, score: s };
      }
      if (!best || (current && best.score <= current.score)) return null; // nothing helps: done
      current = best;
      round = [];
      for (let i = 0; i < d; i++) {
        if (current.point.counts[i]! >= dims.proposers[i]!.max) continue;
        const counts = current.point.counts.slice();
        counts[i]!++;
        round.push({ counts, agg });
      }
      if (!round.length) return null; // every model at maxCopies
    }
  },
};
