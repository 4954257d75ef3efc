import { mulberry32 } from '../../random.js';
import { pointKey, seedFor, toMixture } from '../encoding.js';
import { boxTrials, screen, triedPoints } from './_history.js';
import { randomPoint } from './random.js';
import type { Strategy } from './types.js';

/** How many screened mixtures stage 2 re-ranks on all prompts, and the most of the budget it may hold back. */
export const ARCHON_TOP = 10;
const STAGE2_SHARE = 0.5;

/**
 * Archon-style two-stage baseline (Saad-Falcon et al., 2024): random mixtures screened on the smallest fidelity level,
 * then the top ARCHON_TOP by their screening score re-ranked on all prompts. Stage 1 runs while the budget still holds
 * back what stage 2 needs (at most half of it); stage 2 promotes in screening order until done or out of budget.
 */
export const archonStrategy: Strategy = {
  name: 'archon',
  suggest(view, ctx) {
    const { dims, fidelity, seed } = ctx;
    const small = fidelity.levels[0]!;
    const full = fidelity.levels.at(-1)!;
    const box = boxTrials(view, ctx);
    const typical = toMixture(dims, { counts: dims.proposers.map(() => 1), agg: 0 });
    const promoteUsd = ctx.prior.measurement(typical, fidelity.order.slice(small, full), 0);
    const reserve = Math.min(ARCHON_TOP * promoteUsd, STAGE2_SHARE * ctx.budget.total);
    const promoted = box.filter((b) => b.level >= full).length;
    const rand = mulberry32(seedFor(seed, view.trials.length, 0xa7c0));
    // With a single fidelity level there is nothing to re-rank on: stage 1 is the whole strategy.
    if (small === full || promoted === 0) {
      const tried = triedPoints(view, dims);
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const p = randomPoint(dims, rand);
        if (tried.has(pointKey(p))) continue;
        const s = screen(dims, p, small, 'archon stage 1: random screen');
        if (small === full || ctx.budget.spent + ctx.cost.measurement(s.mixture, fidelity.order.slice(0, small), 0) + reserve <= ctx.budget.total) return s;
        break;
      }
    }
    // Stage 2: the best screening scores, promoted to every prompt in that order.
    const screenScore = new Map(view.observations.filter((o) => o.state === 'COMPLETE' && o.fidelity === small && o.sampleOffset === 0).map((o) => [o.trial, o.score!]));
    const ranked = box
      .filter((b) => b.trial.kind === 'search' && screenScore.has(b.trial.number))
      .sort((a, b) => screenScore.get(b.trial.number)! - screenScore.get(a.trial.number)! || a.trial.number - b.trial.number)
      .slice(0, ARCHON_TOP);
    const next = ranked.find((b) => b.level < full);
    if (!next) return null;
    return { point: next.point, mixture: toMixture(dims, next.point), fidelity: full, sampleOffset: 0, purpose: 'promote', note: 'archon stage 2: re-rank on all prompts' };
  },
};
