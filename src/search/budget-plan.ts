import { loadMixture, type Mixture } from '../config/mixture.js';
import { findModel, type SearchSpace } from '../config/space.js';
import { callCostUsd, expectedCompletionTokens, projectJudgeCost, projectQueryCost, TOKEN_PRIORS, type TokenStats } from '../cost/index.js';
import { protocolFor } from '../eval/judges/judge.js';
import type { ValidationItem } from '../eval/types.js';
import { estimateTokens } from '../providers/estimate-tokens.js';
import type { ObservationRecord, TrialRecord } from './types.js';

export { stratifiedSubset } from './fidelity.js';

/**
 * Safety factors on projections. Before any measurement the priors are rough, so the first trial is planned
 * generously; afterwards measured token means can still be beaten by an unlucky prompt set.
 */
const FIRST_TRIAL_MARGIN = 2;
const MEASURED_MARGIN = 1.3;

/** Projected USD of one measurement: what the strategy weighs against what it would learn. */
export interface CostModel {
  /**
   * USD of judging `mixture` on `promptIds` at sample `offset`, with a safety margin. Layer-1 proposer answers this
   * study already paid for (the same model, sample and prompt through any mixture) are free: the cache serves them.
   */
  measurement(mixture: Mixture, promptIds: readonly string[], offset: number): number;
}

const sampleKey = (model: string, sample: number, prompt: string) => `${model}\u0000${sample}\u0000${prompt}`;

/**
 * Layer-1 proposer answers already paid for by complete measurements: layer 1 reads only the prompt, so copy i of a
 * model at offset o on a prompt is the same cached call in every mixture.
 */
export function paidSamples(trials: readonly TrialRecord[], observations: readonly ObservationRecord[]): Set<string> {
  const byNumber = new Map(trials.map((t) => [t.number, t]));
  const out = new Set<string>();
  for (const o of observations) {
    if (o.state !== 'COMPLETE') continue;
    const mf = byNumber.get(o.trial)?.mixture;
    if (!mf) continue;
    const first = typeof mf.layers === 'number' ? (mf.layers > 1 ? mf.proposers : undefined) : mf.layers[0];
    for (const [model, n] of Object.entries(first ?? {})) for (let i = 0; i < n; i++) for (const p of o.promptIds) out.add(sampleKey(model, o.sampleOffset + i, p));
  }
  return out;
}

export function costModel(space: SearchSpace, items: readonly ValidationItem[], stats: TokenStats | undefined, paid: ReadonlySet<string> = new Set()): CostModel {
  const byId = new Map(items.map((it) => [it.id, it]));
  const measured = !!stats && Object.keys(stats.models).length > 0;
  const margin = measured ? MEASURED_MARGIN : FIRST_TRIAL_MARGIN;
  const user = stats && stats.userPrompt.n > 0 ? stats.userPrompt.mean : TOKEN_PRIORS.userPrompt;
  const judgeCache = new Map<string, number>();
  const judgeUsd = (item: ValidationItem, candidateTokens: number) => {
    const k = `${item.id}\u0000${Math.round(candidateTokens)}`;
    let v = judgeCache.get(k);
    if (v === undefined) {
      v = projectJudge(space, item, candidateTokens);
      judgeCache.set(k, v);
    }
    return v;
  };
  return {
    measurement(mixture, promptIds, offset) {
      const perQuery = projectQueryCost(mixture, space, stats).usd;
      const candidateTokens = expectedCompletionTokens(stats, mixture.aggregator, 'aggregator');
      const layer1 = Object.entries(mixture.proposerLayers[0] ?? {}).map(([model, n]) => ({
        model,
        n,
        usd: callCostUsd(findModel(space, model)!, user, expectedCompletionTokens(stats, model, 'proposer')),
      }));
      let usd = 0;
      for (const id of promptIds) {
        const item = byId.get(id);
        if (!item) throw new Error(`costModel: prompt ${id} is not in the validation set`);
        usd += perQuery + judgeUsd(item, candidateTokens);
        for (const c of layer1) for (let i = 0; i < c.n; i++) if (paid.has(sampleKey(c.model, offset + i, id))) usd -= c.usd;
      }
      return Math.max(0, usd) * margin;
    },
  };
}

function projectJudge(space: SearchSpace, item: ValidationItem, candidateTokens: number): number {
  const common = { userPromptTokens: estimateTokens(item.prompt), candidateTokens, referenceTokens: estimateTokens(item.reference) };
  const judge = space.judge;
  const protocol = protocolFor(judge ?? { protocol: 'auto' }, item.source);
  if (judge?.model) return projectJudgeCost(findModel(space, judge.model)!, { protocol, ...common });
  // A mixture judge (MoAA): price it as four calls of the space's dearest model, per game.
  const dearest = space.models.reduce((a, m) => (m.price.input + m.price.output > a.price.input + a.price.output ? m : a));
  return 4 * projectJudgeCost(dearest, { protocol, ...common });
}

/**
 * Projected USD of evaluating `mixture` on all of `items` as if nothing were cached: every mixture call plus the
 * judge calls. Cached calls are free, so this over-estimates a partly cached evaluation: the safe side of a promise.
 */
export function projectTrialCost(mixture: Mixture, space: SearchSpace, items: readonly ValidationItem[], stats: TokenStats | undefined, opts: { margin?: boolean } = {}): number {
  const usd = costModel(space, items, stats).measurement(mixture, items.map((it) => it.id), 0);
  const measured = !!stats && Object.keys(stats.models).length > 0;
  return opts.margin === false ? usd / (measured ? MEASURED_MARGIN : FIRST_TRIAL_MARGIN) : usd;
}

/** The mixture a stored trial stands for, normalized against the space. */
export function trialMixture(t: Pick<TrialRecord, 'mixture'>, space: SearchSpace): Mixture {
  return loadMixture(JSON.stringify(t.mixture), space);
}
