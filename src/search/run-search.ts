import { existsSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { InputError } from '../config/input-error.js';
import { checkMixtureAgainstSpace, loadMixture, mixtureKey, singleModelMixture, type Mixture, type MixtureFile } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import { pairedDifference, type PairedDifference } from '../eval/statistics.js';
import type { ValidationItem } from '../eval/types.js';
import { openExecutor, SAMPLE_STRIDE, UNSETTLED, type Lease, type Storage } from '../executor/index.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { ChatProvider } from '../providers/types.js';
import { chooseAnswer } from './answer.js';
import { capAnswer, type CappedAnswer } from './capped-answer.js';
import { capsOf, hasCaps, meetsCaps, projectedQuery, studyDims } from './constraints.js';
import { loadFmin } from './bfgs.js';
import { trialMixture } from './budget-plan.js';
import { fromMixtureFile, searchDims } from './encoding.js';
import { deploymentContext } from './_deployment.js';
import { paretoStrategy } from './strategies/pareto.js';
import { fidelityPlan, promptsSeen, promptsToMeasure } from './fidelity.js';
import { measure, mergeStats, refresh, sessionCost, SpendRecorder, type MeasureRequest, type SearchEvent, type Session, type StopReason } from './_session.js';
import { STRATEGIES, checkExhaustive, searchMeasurements, type StrategyContext, type StrategyName, type StudyView, type Suggestion } from './strategies/index.js';
import { StudyStore, studyScope } from './study-store.js';
import { studyCompat } from './study-compat.js';
import { completeWarmStart, planWarmStart } from './warm-start.js';
import { fitModel } from './surrogate.js';
import { qualityObjective, type SearchObjective } from './objective.js';
import type { Estimate, StudyConfig, StudyRecord, TrialRecord } from './types.js';

export type { SearchEvent, StopReason } from './_session.js';

export interface SearchOptions {
  space: SearchSpace;
  items: readonly ValidationItem[];
  /** Where the study, the cache and the spend ledger live (SQLite or PostgreSQL); not closed here. */
  storage: Storage;
  /** How long the study's claim outlives a missed heartbeat (default STUDY_LEASE_MS; tests shorten it). */
  leaseMs?: number;
  /** Study configuration (stored; a resumed study keeps its own). */
  config: StudyConfig;
  studyName: string;
  resume?: boolean;
  /** New study only: import the compatible observations of these earlier studies first (warm-start.ts). */
  warmStart?: string[];
  concurrency?: number;
  /** Evaluate reference trials (the aggregator alone, MoA-Lite) when the budget allows. Default true. */
  references?: boolean;
  providers?: Map<string, ChatProvider>;
  /** What the search optimizes (default: the quality objective on `items`); `--objective judge` passes `judgeObjective`. */
  objective?: SearchObjective;
  signal?: AbortSignal;
  onEvent?: (e: SearchEvent) => void;
}

export interface Comparison {
  against: string;
  againstLabel: string;
  diff: PairedDifference;
}

export interface SearchOutcome {
  study: StudyRecord;
  stopped: StopReason;
  trials: TrialRecord[];
  /** Measurements taken (all sessions). */
  measurements: number;
  best?: {
    trial: TrialRecord;
    mixture: MixtureFile;
    /** The printed score: the model's estimate for the whole validation set, its interval, prompts and measurements. */
    estimate: Estimate;
    posteriorMean: number;
    vsRunnerUp?: Comparison;
    vsBestSingle?: Comparison;
    /** Under caps: the chosen mixture against the best the search saw without them (absent when they are the same). */
    vsUnconstrained?: Comparison;
  };
  /** Under `--max-cost` / `--max-latency`: the unconstrained best and the cheapest evaluated mixture beside the answer. */
  capped?: CappedAnswer;
  spent: number;
  /**
   * Part of `spent` booked at its worst case for calls a killed process left in flight: they may have been billed,
   * and the budget must hold whatever happened to them.
   */
  unsettled: number;
  budget: number;
  calls: { made: number; cached: number };
}

/** The paper's fixed mixtures (the project's copies in search-spaces/examples/). */
export const PAPER_MIXTURES = {
  'moa-lite': resolve(PACKAGE_ROOT, 'search-spaces/examples/moa-lite.json'),
  moa: resolve(PACKAGE_ROOT, 'search-spaces/examples/moa.json'),
} as const;

/**
 * Paper mixtures whose models all exist in the space (others are skipped). A search evaluates only MoA-Lite by
 * default: the 3-layer MoA costs about twice as much per evaluation.
 */
export function referenceMixtures(space: SearchSpace, names: ReadonlyArray<keyof typeof PAPER_MIXTURES> = ['moa-lite']): Mixture[] {
  const out: Mixture[] = [];
  for (const name of names) {
    const f = PAPER_MIXTURES[name];
    if (!existsSync(f)) continue;
    try {
      const m = loadMixture(f, space);
      checkMixtureAgainstSpace(m, space, f);
      out.push(m);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
    }
  }
  return out;
}

/**
 * Run (or resume) a study in named phases over one session: re-run what a killed session left unfinished, measure
 * the references, let the strategy choose measurements until the budget, `maxEvals` or the strategy stops it, then
 * answer with the model of all observations. Each measurement is stored before the next is chosen; nothing the next
 * choice depends on lives only in memory.
 */
export async function runSearch(opts: SearchOptions): Promise<SearchOutcome> {
  // Every in-flight call listens on the signal: many listeners are expected, not a leak.
  if (opts.signal) setMaxListeners(0, opts.signal);
  const store = await StudyStore.open(opts.storage);
  const { study, lease } = await openStudy(store, opts);
  // A lost claim (this process stalled past its lease and another took the study over) stops this session.
  const lost = new AbortController();
  setMaxListeners(0, lost.signal);
  lease.keepAlive({ onLost: () => lost.abort() });
  try {
    const signal = opts.signal ? AbortSignal.any([opts.signal, lost.signal]) : lost.signal;
    setMaxListeners(0, signal);
    const s = await openSession(store, study, { ...opts, signal });
    try {
      await rerunUnfinished(s);
      if (opts.references !== false) await measureReferences(s);
      await searchLoop(s);
      if (opts.references !== false) await closingReferences(s);
    } finally {
      await closeSession(s);
    }
    // The study is another process's now: answer from what is stored, and write nothing more to it.
    if (lost.signal.aborted && s.stop) s.stop.detail = `another process took study ${study.name} over after this one missed its heartbeats`;
    return await answer(s, !lost.signal.aborted);
  } finally {
    await lease.release();
  }
}

/**
 * Create the study, or claim it for a resume (the stored configuration wins but for budget and max-evals). The claim
 * is a lease: held while this process runs the study, renewed by a heartbeat.
 */
export async function openStudy(store: StudyStore, opts: SearchOptions): Promise<{ study: StudyRecord; lease: Lease }> {
  const existing = await store.getStudy(opts.studyName);
  if (opts.resume) {
    if (!existing) throw new InputError(`no study named "${opts.studyName}" to resume`, { field: '--study' });
    const lease = await store.claim(existing.name, opts.leaseMs); // before touching it: another live process may be running it
    try {
      const study = await store.updateStudy(opts.studyName, {
        state: 'RUNNING',
        stopped: undefined,
        config: { ...existing.config, budget: opts.config.budget, maxEvals: opts.config.maxEvals ?? existing.config.maxEvals },
      });
      return { study: await completeWarmStart(store, study, opts.space), lease };
    } catch (e) {
      await lease.release();
      throw e;
    }
  }
  if (existing) throw new InputError(`study "${opts.studyName}" exists already: add --resume to continue it, or choose another --study`, { field: '--study' });
  const config = await newStudyConfig(store, opts);
  const study = await store.createStudy(opts.studyName, config);
  const lease = await store.claim(study.name, opts.leaseMs);
  return { study: await completeWarmStart(store, study, opts.space), lease };
}

/** A new study's stored configuration: its compatibility record, and the prompt order of its warm start if any. */
async function newStudyConfig(store: StudyStore, opts: SearchOptions): Promise<StudyConfig> {
  const compat = opts.config.compat ?? studyCompat(opts.space, opts.items);
  const from = opts.warmStart?.length ? opts.warmStart : undefined;
  const warm = from ? await planWarmStart(store, from, { name: opts.studyName, space: opts.space, compat }) : undefined;
  const fidelity = opts.config.fidelity ?? warm?.plan ?? fidelityPlan(opts.items, opts.config.seed, SAMPLE_STRIDE);
  return { ...opts.config, compat, fidelity, ...(from ? { warmStart: { from } } : {}) };
}

export async function openSession(store: StudyStore, study: StudyRecord, opts: SearchOptions): Promise<Session> {
  const { space } = opts;
  const config = study.config;
  const objective = opts.objective ?? qualityObjective(space, opts.items);
  if ((config.objective === 'judge') !== (objective.name === 'judge'))
    throw new InputError(`study "${study.name}" optimizes ${config.objective ?? 'quality'}, not ${objective.name}`, { field: '--objective' });
  const dims = objective.name === 'judge' ? objective.dims(space) : studyDims(space, config);
  const strategy = config.objective === 'pareto' && config.strategy === 'bfgs' ? paretoStrategy : STRATEGIES[config.strategy as StrategyName];
  if (!strategy) throw new InputError(`unknown strategy "${config.strategy}"`, { field: '--strategy' });
  if (config.strategy === 'exhaustive') checkExhaustive(dims, space.file);
  if (config.inner === 'nelder-mead') await loadFmin();
  const plan = config.fidelity ?? fidelityPlan(opts.items, config.seed, SAMPLE_STRIDE);
  const missing = plan.order.filter((id) => !opts.items.some((it) => it.id === id));
  if (missing.length) throw new InputError(`the validation set no longer holds ${missing.length} of the prompts this study uses (e.g. ${missing[0]})`, { file: config.validationFile });
  // The study's ledger scope holds its whole budget across sessions and processes: settled spend plus open
  // reservations never pass it. Holds a killed session left are closed first (booked at their worst case).
  const inner = await openExecutor({ space, storage: opts.storage, budgetUsd: config.budget, ledgerScope: studyScope(study.name), providers: opts.providers, ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}) });
  await inner.ledger.sweepExpired();
  const booked = await inner.ledger.scopeSpend();
  const s: Session = {
    store,
    study,
    space,
    items: opts.items,
    byId: new Map(opts.items.map((it) => [it.id, it])),
    dims,
    plan,
    strategy,
    objective,
    executor: new SpendRecorder(inner, async (usd) => {
      s.spent += usd;
    }),
    concurrency: opts.concurrency ?? 4,
    ...(opts.signal ? { signal: opts.signal } : {}),
    emit: opts.onEvent ?? (() => {}),
    view: { trials: [], observations: [] },
    spent: booked.spent,
    unsettled: booked.byAccount[UNSETTLED] ?? 0,
    budget: config.budget,
  };
  await refresh(s);
  s.stats = mergeStats(s.view);
  return s;
}

export const fits = (s: Session, usd: number) => s.spent + usd <= s.budget;

/** Measurements a killed session left RUNNING are re-run first (from the cache), so the history is whole again. */
async function rerunUnfinished(s: Session): Promise<void> {
  for (const o of s.view.observations.filter((x) => x.state === 'RUNNING')) {
    const t = s.view.trials.find((x) => x.number === o.trial)!;
    const mixture = trialMixture(t, s.space);
    const usd = sessionCost(s).measurement(mixture, o.promptIds, o.sampleOffset);
    const ok = await measure(s, { mixture, kind: t.kind, strategy: o.strategy, purpose: o.purpose, fidelity: o.fidelity, sampleOffset: o.sampleOffset, promptIds: o.promptIds, projectedUsd: usd, resumed: true });
    if (!ok) return;
  }
}

/** The aggregator alone, per aggregator, on the first fidelity level: a cheap reference and the model's value at zero proposers. */
async function measureReferences(s: Session): Promise<void> {
  for (let r = nextReference(s); r && !s.stop && !s.signal?.aborted; r = nextReference(s)) if (!(await measure(s, r))) return;
}

/** The next aggregator-alone reference not yet measured (nor started), when it fits the budget. */
export function nextReference(s: Session, reservedUsd = 0): MeasureRequest | undefined {
  const level = s.plan.levels[0]!;
  const deploy = deploymentContext(s).deployment;
  const single = (agg: number) => ({ counts: s.dims.proposers.map(() => 0), agg });
  const cheapest = deploy ? s.dims.aggregators.map((_, a) => a).reduce((x, y) => (deploy.cost(single(y)).usd < deploy.cost(single(x)).usd ? y : x)) : -1;
  for (const [a, agg] of s.dims.aggregators.entries()) {
    // Over the caps a single model is no use as an answer; the cheapest is measured anyway (the projection may be pessimistic).
    if (deploy && a !== cheapest && !deploy.feasible(single(a))) continue;
    const m = singleModelMixture(agg);
    if (s.view.trials.some((t) => t.mixtureKey === mixtureKey(m))) continue;
    const promptIds = s.plan.order.slice(0, level);
    const usd = sessionCost(s).measurement(m, promptIds, 0);
    if (!fits(s, usd + reservedUsd)) return undefined;
    return { mixture: m, kind: 'reference', strategy: 'reference', purpose: 'reference', fidelity: level, sampleOffset: 0, promptIds, projectedUsd: usd };
  }
  return undefined;
}

export function strategyContext(s: Session): StrategyContext {
  const c = s.study.config;
  return {
    dims: s.dims,
    seed: c.seed,
    inner: c.inner ?? 'bfgs',
    items: s.items,
    fidelity: s.plan,
    budget: { total: s.budget, spent: s.spent },
    cost: sessionCost(s),
    prior: s.objective.costModel(undefined, new Set()),
    ...(c.maxEvals !== undefined ? { maxEvals: c.maxEvals } : {}),
    ...deploymentContext(s),
  };
}

/** The strategy's measurements until the budget, `--max-evals`, an interrupt or the strategy itself stops. */
async function searchLoop(s: Session): Promise<void> {
  while (!s.stop) {
    if (s.signal?.aborted) {
      s.stop = { reason: 'interrupted', detail: 'interrupted between measurements' };
      return;
    }
    await new Promise<void>((r) => setImmediate(r)); // let a pending Ctrl-C in before choosing the next measurement
    const next = nextSearchMeasurement(s, s.view);
    if ('stop' in next) {
      s.stop = next.stop;
      return;
    }
    await measure(s, next.req);
  }
}

/**
 * The strategy's next measurement, or why there is none (`--max-evals`, converged, the budget). `view` is the study,
 * or for a worker the study with the other workers' running measurements as fantasies, whose projected dollars
 * (`reservedUsd`) the choice must fit beside.
 */
export function nextSearchMeasurement(s: Session, view: StudyView, reservedUsd = 0): { req: MeasureRequest } | { stop: { reason: StopReason; detail: string } } {
  const maxEvals = s.study.config.maxEvals;
  const done = searchMeasurements(s.view);
  if (maxEvals !== undefined && done >= maxEvals) return { stop: { reason: 'max-evals', detail: `${done} search measurements taken (--max-evals ${maxEvals})` } };
  const ctx = strategyContext(s);
  const sug = s.strategy.suggest(view, ctx);
  if (!sug) return { stop: { reason: 'converged', detail: `${s.strategy.name} has nothing left worth measuring` } };
  const key = mixtureKey(sug.mixture);
  const trial = view.trials.find((t) => t.mixtureKey === key);
  const promptIds = promptsToMeasure(s.plan, trial ? promptsSeen(view.observations, trial.number) : new Map(), sug.fidelity, sug.sampleOffset);
  if (!promptIds.length) {
    // Only a running measurement (a fantasy) can leave a suggestion nothing to measure; in one process it is a bug.
    if (view === s.view) throw new Error(`strategy ${s.strategy.name} suggested a measurement already taken (${key}, ${sug.fidelity} prompts, offset ${sug.sampleOffset})`);
    return { stop: { reason: 'converged', detail: `${s.strategy.name} suggested only measurements already running` } };
  }
  const usd = ctx.cost.measurement(sug.mixture, promptIds, sug.sampleOffset);
  if (!fits(s, usd + reservedUsd)) {
    const left = Math.max(0, s.budget - s.spent - reservedUsd);
    return { stop: { reason: 'budget', detail: `the next measurement is projected at $${usd.toFixed(4)}, more than the $${left.toFixed(4)} left` } };
  }
  return { req: suggestionRequest(s, sug, trial, promptIds, usd) };
}

/** The measurement a strategy's suggestion asks for (shared by the single-process loop and workers). */
export function suggestionRequest(s: Session, sug: Suggestion, trial: TrialRecord | undefined, promptIds: string[], usd: number): MeasureRequest {
  return {
    mixture: sug.mixture,
    kind: trial?.kind ?? 'search',
    strategy: s.strategy.name,
    purpose: sug.purpose,
    fidelity: sug.fidelity,
    sampleOffset: sug.sampleOffset,
    promptIds,
    projectedUsd: usd,
    ...(sug.posteriorMean !== undefined ? { posteriorMean: sug.posteriorMean } : {}),
    ...(sug.note ? { note: sug.note } : {}),
  };
}

/** Fixed reference mixtures (MoA-Lite) when the search ended with budget to spare, on as many prompts as fit. */
async function closingReferences(s: Session): Promise<void> {
  if (s.stop?.reason !== 'max-evals' && s.stop?.reason !== 'converged') return;
  for (let r = nextClosingReference(s); r && !s.signal?.aborted; r = nextClosingReference(s)) if (!(await measure(s, r))) return;
}

/** The next fixed reference mixture not yet measured, on the highest fidelity level reached that fits the budget. */
export function nextClosingReference(s: Session): MeasureRequest | undefined {
  if (!s.objective.paperReferences) return undefined;
  const reached = Math.max(s.plan.levels[0]!, ...s.view.observations.filter((o) => o.state === 'COMPLETE' && o.sampleOffset === 0).map((o) => o.fidelity));
  const caps = capsOf(s.study.config);
  for (const m of referenceMixtures(s.space)) {
    if (s.view.trials.some((t) => t.mixtureKey === mixtureKey(m))) continue;
    if (hasCaps(s.study.config) && !meetsCaps(projectedQuery(m, s.space, s.stats), caps)) continue; // over the caps: no use as an answer
    const cost = sessionCost(s);
    const level = [...s.plan.levels].reverse().find((l) => l <= reached && fits(s, cost.measurement(m, s.plan.order.slice(0, l), 0)));
    if (level === undefined) continue;
    const promptIds = s.plan.order.slice(0, level);
    return { mixture: m, kind: 'reference', strategy: 'reference', purpose: 'reference', fidelity: level, sampleOffset: 0, promptIds, projectedUsd: cost.measurement(m, promptIds, 0) };
  }
  return undefined;
}

export async function closeSession(s: Session): Promise<void> {
  await s.executor.close();
  await s.executor.sync(); // calls settled while closing
  const sp = s.executor.spend();
  s.emit({ type: 'spend', spent: s.spent, budget: s.budget, made: sp.calls.made, cached: sp.calls.cached });
}

/**
 * The answer by the model of all observations, stored on the study (unless `store` is false) so the report and
 * `pareto` recommend the same.
 */
export async function answer(s: Session, store = true): Promise<SearchOutcome> {
  const reason: StopReason = s.stop?.reason ?? 'converged';
  s.emit({ type: 'stop', reason, detail: s.stop?.detail ?? '' });
  if (store) s.study = await s.store.updateStudy(s.study.name, { state: reason === 'interrupted' ? 'RUNNING' : 'COMPLETE', stopped: reason });
  await refresh(s);
  const all = chooseAnswer(fitModel(s.view.trials, s.view.observations, s.items, s.dims, s.study.config.seed));
  if (all && store) await s.store.setEstimates(s.study.name, all.estimates);
  const capped = all && capAnswer(all, s.view.trials, capsOf(s.study.config));
  const a = capped?.answer;
  if (a && store) {
    const e = a.estimate;
    s.study = await s.store.updateStudy(s.study.name, {
      best: { trial: a.trial.number, score: e.mean, sd: e.sd, ci: e.ci, prompts: e.prompts, measurements: e.measurements, validationPrompts: s.items.length, posteriorMean: e.mean },
    });
    await refresh(s);
  }
  const trials = [...s.view.trials];
  const calls = trials.reduce((acc, t) => ({ made: acc.made + (t.calls?.made ?? 0), cached: acc.cached + (t.calls?.cached ?? 0) }), { made: 0, cached: 0 });
  const outcome: SearchOutcome = { study: s.study, stopped: reason, trials, measurements: s.view.observations.filter((o) => o.state === 'COMPLETE').length, spent: s.spent, unsettled: s.unsettled, budget: s.budget, calls };
  if (capped && hasCaps(s.study.config)) outcome.capped = capped;
  if (!a) return outcome;
  const best = trials.find((t) => t.number === a.trial.number)!;
  const compare = (other: TrialRecord | undefined): Comparison | undefined => {
    if (!other?.perPrompt || !best.perPrompt || other.number === best.number) return undefined;
    try {
      return { against: other.mixtureKey, againstLabel: other.label, diff: pairedDifference(best.perPrompt, other.perPrompt) };
    } catch {
      return undefined; // no shared prompts
    }
  };
  const singles = trials.filter((t) => t.state === 'COMPLETE' && t.estimate && t.mixture.layers === 1);
  const bestSingle = singles.length ? singles.reduce((x, y) => (y.estimate!.mean > x.estimate!.mean ? y : x)) : undefined;
  const runnerUp = a.ranking[1] ? trials.find((t) => t.number === a.ranking[1]!.trial.number) : undefined;
  outcome.best = {
    trial: best,
    mixture: best.mixture,
    estimate: a.estimate,
    posteriorMean: a.estimate.mean,
    ...(compare(runnerUp) ? { vsRunnerUp: compare(runnerUp)! } : {}),
    ...(compare(bestSingle) ? { vsBestSingle: compare(bestSingle)! } : {}),
    ...(capped && hasCaps(s.study.config) && compare(capped.unconstrained.trial) ? { vsUnconstrained: compare(capped.unconstrained.trial)! } : {}),
  };
  return outcome;
}

/** True when the stored trial lies in the search box (used by reports that separate searched and fixed mixtures). */
export function inSearchBox(space: SearchSpace, t: TrialRecord): boolean {
  return fromMixtureFile(searchDims(space), t.mixture) !== undefined;
}
