import type { Mixture } from '../config/mixture.js';
import { findModel, type SearchSpace } from '../config/space.js';
import { projectJudgeCost, projectQueryCost, expectedCompletionTokens, type TokenStats } from '../cost/index.js';
import { protocolFor } from '../eval/judges/judge.js';
import type { ValidationItem } from '../eval/types.js';
import { estimateTokens } from '../providers/estimate-tokens.js';

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
export function projectTrialCost(mixture: Mixture, space: SearchSpace, items: readonly ValidationItem[], stats: TokenStats | undefined): number {
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
  return (perQuery * items.length + judgeUsd) * (measured ? MEASURED_MARGIN : FIRST_TRIAL_MARGIN);
}
