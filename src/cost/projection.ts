import type { Mixture, ModelCounts } from '../config/mixture.js';
import { findModel, type ModelSpec, type SearchSpace } from '../config/space.js';
import { callCostUsd } from './price.js';
import { activeParamsB, callTflops } from './tflops.js';
import type { TokenRole, TokenStats } from './token-stats.js';

/**
 * Priors used when the statistics say nothing (documented in docs/report.md). They are deliberately on the
 * generous side so that budget planning over-reserves rather than under-reserves.
 */
export const TOKEN_PRIORS = {
  /** Tokens of a typical instruction-following prompt (AlpacaEval prompts average ~150 tokens). */
  userPrompt: 150,
  /** Completion tokens of a proposer or a synthesizing aggregator. */
  completion: 400,
  /** Completion tokens of a summarizer. */
  summarizerCompletion: 300,
  /** Completion tokens of a ranker's answer (the index of the chosen response, maybe a word or two). */
  rankerCompletion: 8,
  /** Tokens an aggregate/rank/summarize template adds beyond user prompt and references. */
  templateOverhead: 180,
} as const;

export interface QueryProjection {
  /** Projected deployment USD per query. */
  usd: number;
  /** Projected TFLOPs per query; null when a model's parameter count is unknown (see `unknownParams`). */
  tflops: number | null;
  latencyProxyTflops: number | null;
  unknownParams: string[];
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

function meanOver(stats: TokenStats | undefined, role: TokenRole): number | undefined {
  if (!stats) return undefined;
  let n = 0;
  let sum = 0;
  for (const roles of Object.values(stats.models)) {
    const r = roles[role];
    if (r && r.n > 0) {
      n += r.n;
      sum += r.completion * r.n;
    }
  }
  return n ? sum / n : undefined;
}

/**
 * Expected completion tokens of `model` in `role`: its own measurement in that role; else (proposer ↔
 * aggregator, both write a full answer) its measurement in the other; else the mean of all models in the role;
 * else the prior.
 */
export function expectedCompletionTokens(stats: TokenStats | undefined, model: string, role: TokenRole): number {
  const own = stats?.models[model];
  const direct = own?.[role];
  if (direct && direct.n > 0) return direct.completion;
  if (role === 'proposer' || role === 'aggregator') {
    const other = own?.[role === 'proposer' ? 'aggregator' : 'proposer'];
    if (other && other.n > 0) return other.completion;
  }
  const across = meanOver(stats, role);
  if (across !== undefined) return across;
  if (role === 'summarizer') return TOKEN_PRIORS.summarizerCompletion;
  if (role === 'ranker') return TOKEN_PRIORS.rankerCompletion;
  return TOKEN_PRIORS.completion;
}

/**
 * Projected cost and compute of one query through `mixture`, for mixtures not yet evaluated. The engine's shape
 * is replayed: layer-1 proposers read the user prompt; every later reader (proposers of later layers, the
 * summarizer, the aggregator) reads user prompt + the previous step's outputs + template overhead.
 */
export function projectQueryCost(mixture: Mixture, space: SearchSpace, stats?: TokenStats): QueryProjection {
  const user = stats && stats.userPrompt.n > 0 ? stats.userPrompt.mean : TOKEN_PRIORS.userPrompt;
  const overhead = Math.max(0, stats && stats.templateOverhead.n > 0 ? stats.templateOverhead.mean : TOKEN_PRIORS.templateOverhead);
  const unknown = new Set<string>();
  const out: QueryProjection = { usd: 0, tflops: 0, latencyProxyTflops: 0, unknownParams: [], calls: 0, promptTokens: 0, completionTokens: 0 };

  const spec = (id: string): ModelSpec => {
    const m = findModel(space, id);
    if (!m) throw new Error(`projectQueryCost: model "${id}" is not in the search space`);
    return m;
  };
  /** Account `copies` parallel calls; returns the step's largest TFLOPs (for the latency proxy). */
  const call = (id: string, copies: number, prompt: number, completion: number): number => {
    const m = spec(id);
    out.usd += copies * callCostUsd(m, prompt, completion);
    out.calls += copies;
    out.promptTokens += copies * prompt;
    out.completionTokens += copies * completion;
    const p = activeParamsB(space, id);
    if (p === undefined) {
      unknown.add(id);
      return 0;
    }
    const t = callTflops(p, prompt + completion);
    out.tflops! += copies * t;
    return t;
  };

  let refs: number | undefined; // tokens of the previous step's outputs; undefined before layer 1
  const readerPrompt = () => (refs === undefined ? user : user + refs + overhead);
  let proxy = 0;
  mixture.proposerLayers.forEach((layer: ModelCounts) => {
    const prompt = readerPrompt();
    let outTokens = 0;
    let stepMax = 0;
    for (const [id, n] of Object.entries(layer)) {
      const c = expectedCompletionTokens(stats, id, 'proposer');
      stepMax = Math.max(stepMax, call(id, n, prompt, c));
      outTokens += n * c;
    }
    proxy += stepMax;
    refs = outTokens;
    if (mixture.summarizer) {
      const c = expectedCompletionTokens(stats, mixture.summarizer, 'summarizer');
      proxy += call(mixture.summarizer, 1, readerPrompt(), c);
      refs = c;
    }
  });
  const aggRole: TokenRole = mixture.mode === 'rank' && mixture.proposerLayers.length ? 'ranker' : 'aggregator';
  proxy += call(mixture.aggregator, 1, readerPrompt(), expectedCompletionTokens(stats, mixture.aggregator, aggRole));

  out.unknownParams = [...unknown].sort();
  if (unknown.size) {
    out.tflops = null;
    out.latencyProxyTflops = null;
  } else out.latencyProxyTflops = proxy;
  return out;
}

export type JudgeProtocol = 'alpaca_eval' | 'arena_hard';

/** Judge-side priors: template sizes and verdict lengths of the two protocols. */
export const JUDGE_PRIORS = {
  alpaca_eval: { calls: 1, template: 400, completion: 2 },
  /** Two games (positions swapped), each a short assessment ending in a verdict. */
  arena_hard: { calls: 2, template: 650, completion: 350 },
} as const;

/**
 * Projected judge USD for one validation prompt (search cost, not deployment cost): the judge reads the
 * template, the question, the candidate's and the reference's answers.
 */
export function projectJudgeCost(
  judge: Pick<ModelSpec, 'price'>,
  opts: { protocol: JudgeProtocol; userPromptTokens?: number; candidateTokens?: number; referenceTokens?: number },
): number {
  const p = JUDGE_PRIORS[opts.protocol];
  const prompt =
    p.template +
    (opts.userPromptTokens ?? TOKEN_PRIORS.userPrompt) +
    (opts.candidateTokens ?? TOKEN_PRIORS.completion) +
    (opts.referenceTokens ?? TOKEN_PRIORS.completion);
  return p.calls * callCostUsd(judge, prompt, p.completion);
}
