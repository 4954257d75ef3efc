import type { Mixture } from '../config/mixture.js';
import type { JudgeSettings, SearchSpace } from '../config/space.js';
import { runMetrics, tokenStatsFromRuns } from '../cost/index.js';
import { BudgetExceeded, type Executor } from '../executor/types.js';
import { MixtureRunError, runMixture, type GenerationParams } from '../moa/index.js';
import type { MixtureRun } from '../moa/types.js';
import { eachUntilFailure } from './_each-until-failure.js';
import { createJudge, type Judge } from './judges/judge.js';
import { lengthControlledWinRates } from './length-controlled.js';
import { scoreOutcomes } from './scores.js';
import type { BootstrapOptions } from './statistics.js';
import type { EvalProgress, EvalResult, PromptOutcome, ValidationItem } from './types.js';

export interface EvaluateOptions {
  mixture: Mixture;
  space: SearchSpace;
  items: readonly ValidationItem[];
  executor: Executor;
  /** Defaults to `space.judge` (InputError naming `judge` when the space has none). */
  judge?: JudgeSettings;
  /** Prompts in flight at once (default 4). The executor's per-provider limits still apply. */
  concurrency?: number;
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
  /** Bootstrap settings for the intervals (default 2000 resamples, seed 0). */
  bootstrap?: BootstrapOptions;
  /**
   * A replicate on fresh samples (default 0, the original): the engine's `sampleOffset`, and the judge's sample, so
   * every call of the replicate is new yet cached under its own key.
   */
  sampleOffset?: number;
}

interface Tally {
  mixtureSpent: number;
  judgeSpent: number;
  made: number;
  cached: number;
}

function tallyCall(t: Tally, c: { cached: boolean; costUsd: number }, account: 'mixture' | 'judge'): void {
  if (c.cached) t.cached++;
  else {
    t.made++;
    if (account === 'mixture') t.mixtureSpent += c.costUsd;
    else t.judgeSpent += c.costUsd;
  }
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/**
 * Evaluate a mixture on a validation set: run it on every prompt through the engine, judge each answer against
 * the prompt's reference, and aggregate scores with bootstrap intervals. A generation that fails after the
 * executor's retries is a loss (preference 0), counted; an unparseable judge answer is a tie, counted.
 * `BudgetExceeded` (and aborts) stop the evaluation and propagate: the search relies on that.
 * Deterministic: per-prompt results land in the validation set's order whatever the concurrency.
 */
export async function evaluateMixture(opts: EvaluateOptions): Promise<EvalResult> {
  const { space, items } = opts;
  const st: EvalState = {
    opts,
    judge: createJudge({ space, executor: opts.executor, settings: opts.judge ?? space.judge }),
    generation: { temperature: space.generation.temperature, maxTokens: space.generation.maxTokens, ...(space.generation.topP !== undefined ? { topP: space.generation.topP } : {}) },
    outcomes: new Array(items.length),
    runs: new Array(items.length),
    tally: { mixtureSpent: 0, judgeSpent: 0, made: 0, cached: 0 },
    done: 0,
  };
  await eachUntilFailure(items.length, opts.concurrency ?? 4, (idx) => evaluatePrompt(st, idx));
  // Some failed generations are losses, counted; all of them failing is a broken endpoint, not a score of 0.
  if (items.length > 0 && st.outcomes.every((o) => o.generationFailed)) throw new EvaluationFailed(items.length, st.firstFailure ?? 'unknown error');
  return summarize(st);
}

/** One evaluation's state, filled prompt by prompt (in the validation set's order, whatever the concurrency). */
interface EvalState {
  opts: EvaluateOptions;
  judge: Judge;
  generation: GenerationParams;
  outcomes: PromptOutcome[];
  runs: MixtureRun[];
  tally: Tally;
  done: number;
  firstFailure?: string;
}

/** Run the mixture on one prompt and judge its answer; a failed generation is a loss, budget and aborts propagate. */
async function evaluatePrompt(st: EvalState, idx: number): Promise<void> {
  const { mixture, space, items, executor, signal } = st.opts;
  const item = items[idx]!;
  const sampleOffset = st.opts.sampleOffset ?? 0;
  let run: MixtureRun | undefined;
  try {
    run = await runMixture(mixture, [{ role: 'user', content: item.prompt }], { executor, generation: st.generation, account: 'mixture', signal, sampleOffset });
  } catch (e) {
    if (!(e instanceof MixtureRunError)) throw e;
    if (e.reason === 'budget') throw e.cause instanceof BudgetExceeded ? e.cause : e;
    if (e.reason === 'aborted') throw e;
    st.runs[idx] = { text: '', finishReason: 'error', calls: e.calls, wallMs: 0 };
    st.firstFailure ??= e.message;
  }
  const r = run ?? st.runs[idx]!;
  st.runs[idx] = r;
  for (const c of r.calls) tallyCall(st.tally, { cached: c.cached, costUsd: c.error ? 0 : c.costUsd }, 'mixture');
  const m = runMetrics(r, space);
  const base = {
    id: item.id,
    source: item.source,
    candidateChars: run ? run.text.length : 0,
    referenceChars: item.reference.length,
    costUsd: m.costUsd,
    tflops: m.tflops ?? NaN,
    latencyProxyTflops: m.latencyProxyTflops ?? NaN,
    promptTokens: m.promptTokens,
    completionTokens: m.completionTokens,
    // Wall-clock, hence the one field that differs between identical runs.
    layerWallMs: m.layerWallMs,
  };
  let o: PromptOutcome;
  if (!run) {
    o = { ...base, preference: 0, generationFailed: true, judgeCostUsd: 0 };
  } else {
    const v = await st.judge.judge(item, run.text, { signal, sample: sampleOffset });
    for (const c of v.calls) tallyCall(st.tally, c, 'judge');
    o = { ...base, preference: v.preference, judgeCostUsd: v.calls.reduce((a, c) => a + c.costUsd, 0) };
    if (v.unparsed) o.judgeUnparsed = v.unparsed;
    if (run.finishReason === 'length') o.truncated = true;
  }
  st.outcomes[idx] = o;
  st.done++;
  st.opts.onProgress?.({ done: st.done, total: items.length, outcome: o });
}

function summarize(st: EvalState): EvalResult {
  const { outcomes, tally } = st;
  const scores = scoreOutcomes(outcomes, st.opts.bootstrap);
  const lcFit = lengthControlledWinRates(new Map([['mixture', outcomes]])).get('mixture');
  const result: EvalResult = {
    score: scores.score,
    ci: scores.ci,
    bySource: scores.bySource,
    costPerQuery: mean(outcomes.map((o) => o.costUsd)),
    tflopsPerQuery: mean(outcomes.map((o) => o.tflops)),
    latencyProxyPerQuery: mean(outcomes.map((o) => o.latencyProxyTflops)),
    spent: { mixture: tally.mixtureSpent, judge: tally.judgeSpent, total: tally.mixtureSpent + tally.judgeSpent },
    calls: { made: tally.made, cached: tally.cached },
    failures: {
      generation: outcomes.filter((o) => o.generationFailed).length,
      judgeUnparsed: outcomes.reduce((a, o) => a + (o.judgeUnparsed ?? 0), 0),
      truncated: outcomes.filter((o) => o.truncated).length,
    },
    perPrompt: outcomes,
    tokenStats: tokenStatsFromRuns(st.runs, undefined, { mode: st.opts.mixture.mode }),
  };
  if (lcFit) result.lc = lcFit.lc;
  return result;
}

/** Every generation of an evaluation failed after retries: the mixture could not be run at all. */
export class EvaluationFailed extends Error {
  override readonly name = 'EvaluationFailed';
  constructor(
    readonly prompts: number,
    readonly firstError: string,
  ) {
    super(`all ${prompts} generations failed after retries; first error: ${firstError}`);
  }
}
