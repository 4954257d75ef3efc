import { InputError } from '../config/input-error.js';
import type { Mixture } from '../config/mixture.js';
import { findModel, modelsWithRole, type SearchSpace } from '../config/space.js';
import { callCostUsd, emptyTokenStats, JUDGE_PRIORS, TOKEN_PRIORS, type TokenRole, type TokenStats } from '../cost/index.js';
import { scoreJudgeAgreement } from '../eval/judge-agreement.js';
import { mean } from '../eval/statistics.js';
import { JUDGE_AGGREGATE_TEMPLATE, protocolFor } from '../eval/judges/judge.js';
import { rewardModelSettings } from '../eval/judges/reward-model.js';
import type { PreferenceItem } from '../eval/preferences.js';
import type { ValidationItem } from '../eval/types.js';
import { SAMPLE_STRIDE } from '../executor/sample-offset.js';
import type { Executor, GenerateOptions, GenerationRequest, GenerationResult } from '../executor/types.js';
import { estimateTokens } from '../providers/estimate-tokens.js';
import type { CostModel } from './budget-plan.js';
import type { SearchDims } from './encoding.js';
import type { Measurement, SearchObjective } from './objective.js';

/**
 * The judging mixtures a `--objective judge` search explores (MoAA's reward model): models with the `judge` role
 * judge a pair (proposers, up to their maxCopies), one of them decides (aggregator), in one proposer layer; all
 * proposers at zero is that judge alone. InputError (exit 2) on `--objective` when fewer than two judges exist.
 */
export function judgeSearchDims(space: SearchSpace): SearchDims {
  const judges = modelsWithRole(space, 'judge');
  if (judges.length < 2)
    throw new InputError(`--objective judge searches over models with the judge role, and ${space.file} has ${judges.length} (${judges.map((m) => m.id).join(', ') || 'none'}): give at least two models the judge role`, { field: '--objective' });
  return { proposers: judges.map((m) => ({ id: m.id, max: m.maxCopies })), aggregators: judges.map((m) => m.id), layerOptions: [2], layers: 2 };
}

/** The judge settings (space's protocol and templates) for a judging mixture; a single model judges alone. */
export function judgeSettingsFor(space: SearchSpace, mixture: Mixture) {
  return rewardModelSettings(space, mixture.proposerLayers.length ? { judgeMixture: mixture } : { judgeModel: mixture.aggregator });
}

/** Replicate r of the search (sample offset r × SAMPLE_STRIDE) is `scoreJudgeAgreement`'s replicate r: one mapping. */
export function replicateOf(sampleOffset: number): number {
  if (!Number.isInteger(sampleOffset) || sampleOffset < 0 || sampleOffset % SAMPLE_STRIDE !== 0)
    throw new RangeError(`sample offset ${sampleOffset} is not a replicate's (a multiple of ${SAMPLE_STRIDE})`);
  return sampleOffset / SAMPLE_STRIDE;
}

/** Both presentation orders of every pair: AlpacaEval's two judgments, Arena-Hard's two games. */
const GAMES_PER_PAIR = 2;
const FIRST_MARGIN = 2;
const MEASURED_MARGIN = 1.3;
/** A judge that writes an assessment (a proposer of a judging mixture, its aggregator, an Arena-Hard judge). */
const ASSESSMENT_TOKENS = JUDGE_PRIORS.arena_hard.completion;
const AGGREGATE_OVERHEAD = estimateTokens(JUDGE_AGGREGATE_TEMPLATE) + TOKEN_PRIORS.templateOverhead;

/** Where a judge call sat, from the engine's purpose label: a judge alone is filed as `ranker` (it gives a verdict). */
function placeOf(purpose: string | undefined): TokenRole | undefined {
  if (purpose === 'judge' || purpose === 'judge retry') return 'ranker';
  if (purpose?.endsWith(' proposer')) return 'proposer';
  if (purpose?.endsWith(' aggregator')) return 'aggregator';
  return undefined; // the criteria step and anything else: not part of the projection
}

/** The executor, recording each judge call's tokens by model and place (cached calls too: they size a projection). */
function recordingExecutor(inner: Executor, stats: TokenStats): Executor {
  return {
    async generate(req: GenerationRequest, opts?: GenerateOptions): Promise<GenerationResult> {
      const r = await inner.generate(req, opts);
      const role = placeOf(opts?.purpose);
      if (role) {
        const m = (stats.models[req.model] ??= {});
        const cur = (m[role] ??= { n: 0, prompt: 0, completion: 0 });
        cur.prompt = (cur.prompt * cur.n + r.promptTokens) / (cur.n + 1);
        cur.completion = (cur.completion * cur.n + r.completionTokens) / (cur.n + 1);
        cur.n++;
      }
      return r;
    },
    priceOf: (model, p, c) => inner.priceOf(model, p, c),
    spend: () => inner.spend(),
    close: async () => {},
  };
}

/**
 * Measured completion tokens of a judge in a place; else its own in the other assessment-writing place; else the
 * mean of all judges there; else the prior (a verdict label for a lone AlpacaEval judge, an assessment otherwise).
 */
function completionOf(stats: TokenStats | undefined, model: string, role: TokenRole, protocolPrior: number): number {
  const own = stats?.models[model];
  if (own?.[role]?.n) return own[role]!.completion;
  if (role !== 'ranker') {
    const other = own?.[role === 'proposer' ? 'aggregator' : 'proposer'];
    if (other?.n) return other.completion;
  }
  let n = 0;
  let sum = 0;
  for (const roles of Object.values(stats?.models ?? {})) if (roles[role]?.n) (n += roles[role]!.n), (sum += roles[role]!.n * roles[role]!.completion);
  if (n) return sum / n;
  return role === 'ranker' ? protocolPrior : ASSESSMENT_TOKENS;
}

/**
 * Projected USD of judging pairs with a judging mixture: per pair, both presentation orders, each replaying the
 * engine's shape — layer-1 judges read the judge template, the prompt and both outputs; later readers add the
 * previous judges' assessments and the aggregate template. Completion sizes come from the study's measured judge
 * calls (by model and place), priors before any; ×2 before any measurement, ×1.3 after.
 */
export function judgeCostModel(space: SearchSpace, items: readonly PreferenceItem[], stats: TokenStats | undefined): CostModel {
  const byId = new Map(items.map((it) => [it.id, it]));
  const measured = !!stats && Object.keys(stats.models).length > 0;
  const price = (id: string) => findModel(space, id)!;
  const settings = space.judge ?? { protocol: 'auto' as const };
  const pairTokens = new Map<string, number>();
  const pairOf = (id: string) => {
    let v = pairTokens.get(id);
    if (v === undefined) {
      const it = byId.get(id);
      if (!it) throw new Error(`judgeCostModel: pair ${id} is not in the preference set`);
      v = estimateTokens(it.prompt) + estimateTokens(it.output_1) + estimateTokens(it.output_2);
      pairTokens.set(id, v);
    }
    return v;
  };
  const game = (mixture: Mixture, item: PreferenceItem, first: number) => {
    const protocol = protocolFor(settings, item.source);
    if (!mixture.proposerLayers.length) return callCostUsd(price(mixture.aggregator), first, completionOf(stats, mixture.aggregator, 'ranker', JUDGE_PRIORS[protocol].completion));
    let usd = 0;
    let refs: number | undefined;
    for (const layer of mixture.proposerLayers) {
      const prompt = refs === undefined ? first : first + refs + AGGREGATE_OVERHEAD;
      refs = 0;
      for (const [id, n] of Object.entries(layer)) {
        const c = completionOf(stats, id, 'proposer', ASSESSMENT_TOKENS);
        usd += n * callCostUsd(price(id), prompt, c);
        refs += n * c;
      }
    }
    return usd + callCostUsd(price(mixture.aggregator), first + refs! + AGGREGATE_OVERHEAD, completionOf(stats, mixture.aggregator, 'aggregator', ASSESSMENT_TOKENS));
  };
  return {
    measurement(mixture, promptIds) {
      let usd = 0;
      for (const id of promptIds) {
        const item = byId.get(id)!;
        const first = pairOf(id) + JUDGE_PRIORS[protocolFor(settings, item?.source ?? '')].template;
        usd += GAMES_PER_PAIR * game(mixture, item, first);
      }
      return usd * (measured ? MEASURED_MARGIN : FIRST_MARGIN);
    },
  };
}

/**
 * `search --objective judge`: a judging mixture scored by its agreement with reference preferences
 * (`scoreJudgeAgreement`: every pair in both orders, per-pair outcomes for paired comparisons), on the pairs a
 * fidelity level picks, replicate r drawing fresh judge samples at the search's offset r × SAMPLE_STRIDE.
 */
export function judgeObjective(space: SearchSpace, items: readonly PreferenceItem[]): SearchObjective {
  const byId = new Map(items.map((it) => [it.id, it]));
  return {
    name: 'judge',
    metric: 'agreement',
    paperReferences: false,
    dims: judgeSearchDims,
    async measure(m): Promise<Measurement> {
      const stats = emptyTokenStats();
      const r = await scoreJudgeAgreement({
        space,
        executor: recordingExecutor(m.executor, stats),
        judge: judgeSettingsFor(space, m.mixture),
        items: m.promptIds.map((id) => byId.get(id)!),
        replicate: replicateOf(m.sampleOffset),
        concurrency: m.concurrency,
        ...(m.signal ? { signal: m.signal } : {}),
        ...(m.onProgress ? { onProgress: m.onProgress } : {}),
      });
      const bySource: Measurement['bySource'] = {};
      for (const [k, v] of Object.entries(r.bySource)) bySource[k] = { winRate: v.agreement, ci: v.ci, n: v.n };
      return {
        score: r.agreement,
        ci: r.ci,
        bySource,
        costPerQuery: r.costPerPair,
        tflopsPerQuery: mean(r.perItem.map((o) => o.tflops)),
        calls: r.calls,
        perPrompt: r.perItem,
        tokenStats: stats,
      };
    },
    costModel: (stats) => judgeCostModel(space, items, stats),
  };
}

/**
 * The pairs as the search machinery sees its items (fidelity order, per-source weights, estimates use only id and
 * source); the objective itself judges the pairs.
 */
export function searchItemsOf(items: readonly PreferenceItem[]): ValidationItem[] {
  return items.map((it) => ({ id: it.id, source: it.source, prompt: it.prompt, reference: it.output_1, ...(it.category ? { category: it.category } : {}) }));
}
