import pLimit from 'p-limit';
import type { JudgeSettings, SearchSpace } from '../config/space.js';
import { activeParamsB, callTflops } from '../cost/tflops.js';
import { withSampleOffset } from '../executor/sample-offset.js';
import type { Executor } from '../executor/types.js';
import { EvaluationFailed } from './evaluate.js';
import { JudgeError, type JudgeCall } from './judges/judge.js';
import { createPairwiseJudge } from './judges/pairwise.js';
import type { PreferenceItem } from './preferences.js';
import { scoreOutcomes } from './scores.js';
import type { BootstrapOptions } from './statistics.js';
import type { PromptOutcome } from './types.js';

/**
 * Agreement of a judge with a reference on one pair: the chance that two verdicts drawn from their preferences
 * (for output_2) agree, p·r + (1 − p)(1 − r). Hard verdicts give 1 when they match and 0 when they do not; a tie
 * on either side gives ½; soft preferences (AlpacaEval's logprob-weighted ones) count by their weight.
 */
export function agreement(judge: number, reference: number): number {
  return judge * reference + (1 - judge) * (1 - reference);
}

/** One pair of a preference set, judged: a PromptOutcome whose `preference` is the agreement (0–1). */
export interface AgreementOutcome extends PromptOutcome {
  /** The judge's preference for output_2, both presentation orders averaged. */
  judgePreference: number;
  /** The reference's preference for output_2. */
  referencePreference: number;
  /** The judge failed after retries (not its answer's format): scored as a tie, counted. */
  judgeFailed?: boolean;
}

export interface JudgeAgreementOptions {
  space: SearchSpace;
  executor: Executor;
  /** The judge being scored (a model or a mixture as judge); see `rewardModelSettings`. */
  judge: JudgeSettings;
  /** The pairs to judge: a whole preference set, or the subset a search's fidelity level picks. */
  items: readonly PreferenceItem[];
  /** Replicate r draws fresh samples (`withSampleOffset`); 0, the default, uses the cache as is. */
  replicate?: number;
  /** Pairs judged at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
  bootstrap?: BootstrapOptions;
}

export interface JudgeAgreementResult {
  /** Mean agreement over sources of the per-source mean agreement, 0–100 (a single source: plain mean). */
  agreement: number;
  ci: [number, number];
  bySource: Record<string, { agreement: number; ci: [number, number]; n: number }>;
  n: number;
  /** Judge answers unparseable after a retry (ties), and pairs whose judge failed outright (ties too). */
  unparsed: number;
  failed: number;
  /** List price of the judge's calls per pair (cached or not): the reward model's running cost. */
  costPerPair: number;
  /** USD this scoring paid (uncached calls). */
  spent: number;
  calls: { made: number; cached: number };
  /** Per pair, in the order of `items`: paired outcomes for `pairedDifference` against another judge. */
  perItem: AgreementOutcome[];
}

/**
 * Score a judge by its agreement with reference preferences, through the executor: every pair compared in both
 * presentation orders (as MoAA's reward model does), the agreement per pair, a stratified bootstrap 95% interval.
 * Outcomes carry the pair's id and source, so two judges scored on the same pairs compare with `pairedDifference`,
 * and a search can call this with a subset of the pairs and a replicate number as its objective.
 * `BudgetExceeded` and aborts propagate; a pair whose judge fails after retries counts as a tie.
 */
export async function scoreJudgeAgreement(o: JudgeAgreementOptions): Promise<JudgeAgreementResult> {
  const executor = withSampleOffset(o.executor, o.replicate ?? 0);
  const judge = createPairwiseJudge({ space: o.space, executor, settings: o.judge });
  const perItem: AgreementOutcome[] = new Array(o.items.length);
  const tally = { spent: 0, made: 0, cached: 0 };
  const limit = pLimit(Math.max(1, o.concurrency ?? 8));
  let done = 0;
  let firstFailure: string | undefined;
  let fatal: unknown;
  const one = async (item: PreferenceItem, i: number) => {
    // After a budget stop or an abort, queued pairs end at once (no new calls).
    if (fatal !== undefined || o.signal?.aborted) return;
    let judged: Judged;
    try {
      judged = await judge.compare(item, item.output_1, item.output_2, { signal: o.signal });
    } catch (e) {
      if (!(e instanceof JudgeError)) {
        fatal ??= e;
        return;
      }
      firstFailure ??= e.message;
      judged = { preference: 0.5, unparsed: 0, calls: [], failed: true };
    }
    for (const c of judged.calls) {
      if (c.cached) tally.cached++;
      else (tally.made++, (tally.spent += c.costUsd));
    }
    perItem[i] = agreementOutcome(item, judged, o.space);
    o.onProgress?.({ done: ++done, total: o.items.length });
  };
  // Every pair settles before this returns, so no call is left running against an executor the caller may close.
  await Promise.all(o.items.map((item, i) => limit(() => one(item, i))));
  if (fatal !== undefined) throw fatal;
  o.signal?.throwIfAborted();
  if (perItem.every((x) => x.judgeFailed)) throw new EvaluationFailed(perItem.length, firstFailure ?? 'unknown error');
  return summarize(perItem, tally, o.bootstrap);
}

/** What a judge said about one pair: its preference for output_2 and the calls behind it. */
export interface Judged {
  preference: number;
  unparsed: number;
  calls: JudgeCall[];
  failed?: boolean;
}

/** One pair's outcome from a judge's verdict (its calls price and size it; `space` gives TFLOPs). */
export function agreementOutcome(item: PreferenceItem, j: Judged, space?: SearchSpace): AgreementOutcome {
  let costUsd = 0;
  let tflops = 0;
  let promptTokens = 0;
  let completionTokens = 0;
  for (const c of j.calls) {
    costUsd += c.costUsd;
    promptTokens += c.promptTokens;
    completionTokens += c.completionTokens;
    const p = space ? activeParamsB(space, c.model) : undefined;
    tflops += p === undefined ? NaN : callTflops(p, c.promptTokens + c.completionTokens);
  }
  const out: AgreementOutcome = {
    id: item.id,
    source: item.source,
    preference: agreement(j.preference, item.preference),
    judgePreference: j.preference,
    referencePreference: item.preference,
    candidateChars: item.output_2.length,
    referenceChars: item.output_1.length,
    costUsd,
    tflops,
    // Layers are not traced through the judge: no latency proxy.
    latencyProxyTflops: NaN,
    promptTokens,
    completionTokens,
    judgeCostUsd: 0,
  };
  if (j.unparsed) out.judgeUnparsed = j.unparsed;
  if (j.failed) out.judgeFailed = true;
  return out;
}

/** Agreement (0–100) over outcomes, with its stratified bootstrap interval: the mean over sources of per-source means. */
export function agreementScores(outcomes: readonly AgreementOutcome[], bootstrap?: BootstrapOptions): Pick<JudgeAgreementResult, 'agreement' | 'ci' | 'bySource' | 'n'> {
  const s = scoreOutcomes(outcomes, bootstrap);
  const bySource: JudgeAgreementResult['bySource'] = {};
  for (const [k, v] of Object.entries(s.bySource)) bySource[k] = { agreement: v.winRate, ci: v.ci, n: v.n };
  return { agreement: s.score, ci: s.ci, bySource, n: outcomes.length };
}

function summarize(perItem: AgreementOutcome[], tally: { spent: number; made: number; cached: number }, bootstrap?: BootstrapOptions): JudgeAgreementResult {
  return {
    ...agreementScores(perItem, bootstrap),
    unparsed: perItem.reduce((a, o) => a + (o.judgeUnparsed ?? 0), 0),
    failed: perItem.filter((o) => o.judgeFailed).length,
    costPerPair: perItem.reduce((a, o) => a + o.costUsd, 0) / perItem.length,
    spent: tally.spent,
    calls: { made: tally.made, cached: tally.cached },
    perItem,
  };
}
