import { mixtureKey, mixtureName, toMixtureFile, type Mixture } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import { mergeTokenStats, type TokenStats } from '../cost/index.js';
import type { ValidationItem } from '../eval/types.js';
import { BudgetExceeded, type Executor, type GenerateOptions, type GenerationRequest, type GenerationResult } from '../executor/types.js';
import { paidSamples, type CostModel } from './budget-plan.js';
import type { SearchDims } from './encoding.js';
import type { SearchObjective } from './objective.js';
import type { Strategy, StudyView } from './strategies/types.js';
import type { StudyStore } from './study-store.js';
import type { FidelityPlan, MeasurementPurpose, ObservationRecord, StudyRecord, TrialKind, TrialRecord } from './types.js';

export type StopReason = 'budget' | 'max-evals' | 'converged' | 'interrupted';

export type SearchEvent =
  /** `searchIndex`: 1-based count of search measurements including this one (undefined for references). */
  | { type: 'trial-start'; trial: TrialRecord; observation: ObservationRecord; searchIndex?: number; projectedUsd: number; resumed: boolean }
  | { type: 'prompt'; trial: TrialRecord; done: number; total: number }
  | { type: 'trial-end'; trial: TrialRecord; observation: ObservationRecord; best?: TrialRecord }
  | { type: 'spend'; spent: number; budget: number; made: number; cached: number }
  | { type: 'stop'; reason: StopReason; detail: string };

/**
 * Forwards to the executor and counts what it spends as each call settles (the ledger has booked it on the study's
 * scope by then, so even `kill -9` loses nothing). Counting reads the executor's ledger rather than each result: a
 * call whose waiter was aborted may still have been paid and cached, and it must count.
 */
export class SpendRecorder implements Executor {
  private booked: number;
  private lastYield = Date.now();
  private pending: Promise<void> = Promise.resolve();
  constructor(
    private readonly inner: Executor,
    private readonly onPaid: (usd: number) => Promise<void>,
  ) {
    this.booked = inner.spend().total;
  }
  async generate(req: GenerationRequest, opts?: GenerateOptions): Promise<GenerationResult> {
    // An in-process provider resolves in microtasks and never lets the event loop turn: Ctrl-C (a macrotask)
    // would wait for the whole search. Yield now and then so signals and the progress line get their turn.
    if (Date.now() - this.lastYield > 50) {
      await new Promise<void>((r) => setImmediate(r));
      this.lastYield = Date.now();
    }
    try {
      return await this.inner.generate(req, opts);
    } finally {
      this.sync();
    }
  }
  /** Book whatever the ledger settled since the last look (bookings are chained, so they land in order). */
  sync(): Promise<void> {
    const total = this.inner.spend().total;
    if (total > this.booked) {
      const usd = total - this.booked;
      this.booked = total;
      this.pending = this.pending.then(() => this.onPaid(usd));
    }
    return this.pending;
  }
  priceOf(model: string, p: number, c: number): number {
    return this.inner.priceOf(model, p, c);
  }
  spend() {
    return this.inner.spend();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** One running session of a study: what its phases share. Everything else is in the store. */
export interface Session {
  readonly store: StudyStore;
  study: StudyRecord;
  readonly space: SearchSpace;
  /** The study's validation prompts (file order). */
  readonly items: readonly ValidationItem[];
  readonly byId: ReadonlyMap<string, ValidationItem>;
  readonly dims: SearchDims;
  readonly plan: FidelityPlan;
  readonly strategy: Strategy;
  /** What a measurement scores (win rate on a validation set, or a judging mixture's agreement). */
  readonly objective: SearchObjective;
  readonly executor: SpendRecorder;
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  readonly emit: (e: SearchEvent) => void;
  view: StudyView;
  /** USD spent across all sessions (the study's ledger scope at the start, plus what this session settles). */
  spent: number;
  /** Of `spent`: holds of killed sessions booked at their worst case. */
  readonly unsettled: number;
  readonly budget: number;
  stats?: TokenStats;
  stop?: { reason: StopReason; detail: string };
}

export async function refresh(s: Session): Promise<void> {
  s.view = { trials: await s.store.listTrials(s.study.name), observations: await s.store.listObservations(s.study.name) };
}

/** Projected USD of measurements given what the study already paid for. */
export function sessionCost(s: Session): CostModel {
  return s.objective.costModel(s.stats, paidSamples(s.view.trials, s.view.observations));
}

export function mergeStats(view: StudyView): TokenStats | undefined {
  return view.observations.reduce<TokenStats | undefined>((acc, o) => (o.state === 'COMPLETE' && o.tokenStats ? (acc ? mergeTokenStats(acc, o.tokenStats) : o.tokenStats) : acc), undefined);
}

export interface MeasureRequest {
  mixture: Mixture;
  kind: TrialKind;
  strategy: string;
  purpose: MeasurementPurpose;
  fidelity: number;
  sampleOffset: number;
  promptIds: string[];
  projectedUsd: number;
  posteriorMean?: number;
  note?: string;
  resumed?: boolean;
}

// Once the user's abort fired, whatever the evaluation threw is the abort surfacing through some layer.
const isAbort = (signal?: AbortSignal) => !!signal?.aborted;

/** The progress line's "best": the highest score among the mixtures judged on the most prompts. */
function leader(trials: readonly TrialRecord[]): TrialRecord | undefined {
  const done = trials.filter((t) => t.state === 'COMPLETE' && t.score !== undefined);
  const most = Math.max(0, ...done.map((t) => t.prompts ?? 0));
  return done.filter((t) => (t.prompts ?? 0) === most).reduce<TrialRecord | undefined>((a, b) => (!a || b.score! > a.score! ? b : a), undefined);
}

export interface Started {
  trial: TrialRecord;
  obs: ObservationRecord;
}

/** Record the trial (created on its first measurement) and the observation as RUNNING, before any call is made. */
export async function startMeasurement(s: Session, r: MeasureRequest): Promise<Started> {
  const name = s.study.name;
  const trial = await s.store.ensureTrial(name, {
    kind: r.kind,
    strategy: r.strategy,
    mixture: toMixtureFile(r.mixture),
    mixtureKey: mixtureKey(r.mixture),
    label: mixtureName(r.mixture, s.space),
    ...(r.posteriorMean !== undefined ? { posteriorMean: r.posteriorMean } : {}),
  });
  const obs = await s.store.startObservation(name, trial.number, {
    purpose: r.purpose,
    strategy: r.strategy,
    fidelity: r.fidelity,
    sampleOffset: r.sampleOffset,
    promptIds: r.promptIds,
    projectedUsd: r.projectedUsd,
    ...(r.note ? { note: r.note } : {}),
  });
  return { trial, obs };
}

/**
 * Take one measurement: judge the mixture on the requested prompts at the sample offset, through the caching
 * executor, and store it before anything else is decided. False when the session must stop (budget or interrupt).
 */
export async function measure(s: Session, r: MeasureRequest, started?: Started): Promise<boolean> {
  const name = s.study.name;
  const { trial, obs } = started ?? (await startMeasurement(s, r));
  await refresh(s);
  const searchIndex = r.purpose !== 'reference' ? s.view.observations.filter((o) => o.purpose !== 'reference' && o.number <= obs.number).length : undefined;
  s.emit({ type: 'trial-start', trial, observation: obs, ...(searchIndex ? { searchIndex } : {}), projectedUsd: r.projectedUsd, resumed: !!r.resumed });
  const before = s.spent;
  const book = async () => {
    await s.executor.sync();
    return { spent: s.spent - before, spentCumulative: s.spent, projectedUsd: r.projectedUsd };
  };
  const run = (concurrency: number) =>
    s.objective.measure({
      mixture: r.mixture,
      promptIds: r.promptIds,
      executor: s.executor,
      concurrency,
      sampleOffset: r.sampleOffset,
      signal: s.signal,
      onProgress: (p) => {
        s.emit({ type: 'prompt', trial, done: p.done, total: p.total });
        const sp = s.executor.spend();
        s.emit({ type: 'spend', spent: s.spent, budget: s.budget, made: sp.calls.made, cached: sp.calls.cached });
      },
    });
  try {
    let e;
    try {
      e = await run(s.concurrency);
    } catch (err) {
      // The executor reserves every call in flight at its worst case (maxTokens): near the end of a budget, several
      // prompts at once can trip it while the measurement itself fits. Once more, one prompt at a time; what was
      // already answered comes from the cache.
      if (!(err instanceof BudgetExceeded) || s.concurrency === 1 || !(s.spent < s.budget)) throw err;
      e = await run(1);
    }
    if (e.tokenStats) s.stats = s.stats ? mergeTokenStats(s.stats, e.tokenStats) : e.tokenStats;
    const done = await s.store.completeObservation(name, obs.number, {
      score: e.score,
      ci: e.ci,
      bySource: e.bySource,
      ...(e.lc !== undefined ? { lc: e.lc } : {}),
      costPerQuery: e.costPerQuery,
      tflopsPerQuery: e.tflopsPerQuery,
      latencyProxyPerQuery: e.latencyProxyPerQuery,
      calls: e.calls,
      perPrompt: e.perPrompt,
      ...(e.tokenStats ? { tokenStats: e.tokenStats } : {}),
      ...(await book()),
    });
    await refresh(s);
    s.emit({ type: 'trial-end', trial: s.view.trials.find((t) => t.number === trial.number)!, observation: done, best: leader(s.view.trials) });
    return true;
  } catch (e) {
    if (e instanceof BudgetExceeded) {
      // Its paid calls stay in the cache; the study ends here.
      const failed = await s.store.failObservation(name, obs.number, e.message, await book());
      await refresh(s);
      s.emit({ type: 'trial-end', trial: s.view.trials.find((t) => t.number === trial.number)!, observation: failed, best: leader(s.view.trials) });
      s.stop = { reason: 'budget', detail: e.message };
      return false;
    }
    if (isAbort(s.signal)) {
      // Left RUNNING on purpose: --resume re-runs it first, from the cache.
      await book();
      await refresh(s);
      s.stop = { reason: 'interrupted', detail: 'interrupted during a measurement (it will be re-run from the cache on --resume)' };
      return false;
    }
    await s.store.failObservation(name, obs.number, (e as Error)?.message ?? String(e), await book());
    throw e;
  }
}
