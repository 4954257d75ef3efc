import type { Mixture } from '../config/mixture.js';
import { findModel, type SearchSpace } from '../config/space.js';
import { projectJudgeCost, projectQueryCost, expectedCompletionTokens, type TokenStats } from '../cost/index.js';
import { protocolFor } from '../eval/judges/judge.js';
import type { ValidationItem } from '../eval/types.js';
import { estimateTokens } from '../providers/estimate-tokens.js';
import { mulberry32 } from '../random.js';

/**
 * Safety factors on projections. Before any measurement the priors are rough, so the first trial is planned
 * generously; afterwards measured token means can still be beaten by an unlucky prompt set.
 */
const FIRST_TRIAL_MARGIN = 2;
const MEASURED_MARGIN = 1.3;

/**
 * Projected USD of evaluating `mixture` on `items` as if nothing were cached: every mixture call plus the judge
 * calls. Cached calls are free, so this over-estimates a partly cached trial, which is the safe side of a promise.
 */
export function projectTrialCost(
  mixture: Mixture,
  space: SearchSpace,
  items: readonly ValidationItem[],
  stats: TokenStats | undefined,
  opts: { margin?: boolean } = {},
): number {
  const measured = !!stats && Object.keys(stats.models).length > 0;
  const perQuery = projectQueryCost(mixture, space, stats).usd;
  const candidateTokens = expectedCompletionTokens(stats, mixture.aggregator, 'aggregator');
  const judge = space.judge;
  let judgeUsd = 0;
  for (const item of items) {
    const common = { userPromptTokens: estimateTokens(item.prompt), candidateTokens, referenceTokens: estimateTokens(item.reference) };
    const protocol = protocolFor(judge ?? { protocol: 'auto' }, item.source);
    if (judge?.model) judgeUsd += projectJudgeCost(findModel(space, judge.model)!, { protocol, ...common });
    else {
      // A mixture judge (MoAA): price it as four calls of the space's dearest model, per game.
      const dearest = space.models.reduce((a, m) => (m.price.input + m.price.output > a.price.input + a.price.output ? m : a));
      judgeUsd += 4 * projectJudgeCost(dearest, { protocol, ...common });
    }
  }
  const margin = opts.margin === false ? 1 : measured ? MEASURED_MARGIN : FIRST_TRIAL_MARGIN;
  return (perQuery * items.length + judgeUsd) * margin;
}

/** Evaluations a budget should afford before the validation set is cut down (see `planPromptSubset`). */
export const MIN_AFFORDABLE_EVALS = 8;
/** Never cut a validation set below this many prompts: scores would be mostly noise. */
export const MIN_SUBSET = 12;

/**
 * How many prompts to use so that the budget affords about MIN_AFFORDABLE_EVALS evaluations of a typical
 * mixture (every proposer once), or undefined when the whole set is affordable.
 */
export function planPromptCount(typical: Mixture, space: SearchSpace, items: readonly ValidationItem[], budget: number): number | undefined {
  const perEval = projectTrialCost(typical, space, items, undefined, { margin: false });
  if (perEval * MIN_AFFORDABLE_EVALS <= budget) return undefined;
  const n = Math.floor((items.length * budget) / (perEval * MIN_AFFORDABLE_EVALS));
  return Math.min(items.length, Math.max(MIN_SUBSET, n));
}

/** A deterministic subset of `n` prompts, balanced across sources (round-robin over sources in a seeded order). */
export function stratifiedSubset(items: readonly ValidationItem[], n: number, seed: number): ValidationItem[] {
  const bySource = new Map<string, ValidationItem[]>();
  for (const it of items) {
    if (!bySource.has(it.source)) bySource.set(it.source, []);
    bySource.get(it.source)!.push(it);
  }
  // Seeded Fisher–Yates per source.
  const rand = mulberry32((seed ^ 0x9e3779b9) >>> 0);
  const queues = [...bySource.keys()].sort().map((k) => {
    const xs = bySource.get(k)!.slice();
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  });
  const chosen = new Set<ValidationItem>();
  while (chosen.size < Math.min(n, items.length)) {
    for (const q of queues) if (q.length && chosen.size < n) chosen.add(q.shift()!);
  }
  // Keep the file's order: results read the same as on the full set.
  return items.filter((it) => chosen.has(it));
}
