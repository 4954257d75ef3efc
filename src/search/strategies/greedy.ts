import { pointKey, type Point } from '../encoding.js';
import { boxTrials, fixedFidelity, screen, triedPoints } from './_history.js';
import type { Strategy } from './types.js';

/**
 * Forward selection at a fixed fidelity: evaluate each proposer alone (one copy) under each aggregator, keep the best,
 * then repeatedly try adding one copy of each model (same aggregator and depth) and keep the best addition while it
 * beats the current mixture. Scores are compared on the same prompts. Replayed from the stored scores at every call,
 * so it needs no memory between calls.
 */
export const greedyStrategy: Strategy = {
  name: 'greedy',
  suggest(view, ctx) {
    const { dims } = ctx;
    const fidelity = fixedFidelity(ctx);
    const scores = new Map(boxTrials(view, ctx).filter((b) => b.trial.state === 'COMPLETE' && b.trial.score !== undefined).map((b) => [pointKey(b.point), b.trial.score!]));
    const tried = triedPoints(view, dims);
    const d = dims.proposers.length;
    let round: Point[] = [];
    for (let agg = 0; agg < dims.aggregators.length; agg++) for (let i = 0; i < d; i++) round.push({ counts: dims.proposers.map((_, j) => (j === i ? 1 : 0)), agg });
    let current: { point: Point; score: number } | undefined;
    for (;;) {
      const pending = round.find((p) => !tried.has(pointKey(p)));
      if (pending) return screen(dims, pending, fidelity, current ? 'greedy: add one copy' : 'greedy: single proposer');
      // Every candidate of this round was tried: failed ones simply do not compete.
      let best: { point: Point; score: number } | undefined;
      for (const p of round) {
        const s = scores.get(pointKey(p));
        if (s !== undefined && (!best || s > best.score)) best = { point: p, score: s };
      }
      if (!best || (current && best.score <= current.score)) return null; // nothing helps: done
      current = best;
      round = [];
      for (let i = 0; i < d; i++) {
        if (current.point.counts[i]! >= dims.proposers[i]!.max) continue;
        const counts = current.point.counts.slice();
        counts[i]!++;
        round.push({ ...current.point, counts });
      }
      if (!round.length) return null; // every model at maxCopies
    }
  },
};
