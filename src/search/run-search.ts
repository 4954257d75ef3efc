import { existsSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import { InputError } from '../config/input-error.js';
import { checkMixtureAgainstSpace, loadMixture, mixtureKey, mixtureName, singleModelMixture, toMixtureFile, type Mixture, type MixtureFile } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import { mergeTokenStats, type TokenStats } from '../cost/index.js';
import { evaluateMixture } from '../eval/evaluate.js';
import { pairedDifference, type PairedDifference } from '../eval/statistics.js';
import type { ValidationItem } from '../eval/types.js';
import { openExecutor, type DB } from '../executor/index.js';
import { BudgetExceeded, type Executor, type GenerateOptions, type GenerationRequest, type GenerationResult } from '../executor/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { ChatProvider } from '../providers/types.js';
import { chooseBest } from './answer.js';
import { loadFmin } from './bfgs.js';
import { projectTrialCost } from './budget-plan.js';
import { fromMixtureFile, searchDims, type SearchDims } from './encoding.js';
import { STRATEGIES, checkExhaustive, type StrategyName } from './strategies/index.js';
import { StudyStore } from './study-store.js';
import type { StudyConfig, StudyRecord, TrialKind, TrialRecord } from './types.js';

export type StopReason = 'budget' | 'max-evals' | 'converged' | 'interrupted';

export interface SearchOptions {
  space: SearchSpace;
  items: readonly ValidationItem[];
  db: DB;
  /** Study configuration (stored; a resumed study keeps its own). */
  config: StudyConfig;
  studyName: string;
  resume?: boolean;
  concurrency?: number;
  /** Evaluate reference trials (the aggregator alone, MoA-Lite) when the budget allows. Default true. */
  references?: boolean;
  providers?: Map<string, ChatProvider>;
  signal?: AbortSignal;
  onEvent?: (e: SearchEvent) => void;
}

export type SearchEvent =
  /** `searchIndex`: 1-based count of search trials including this one (undefined for references). */
  | { type: 'trial-start'; trial: TrialRecord; searchIndex?: number; projectedUsd: number; resumed: boolean }
  | { type: 'prompt'; trial: TrialRecord; done: number; total: number }
  | { type: 'trial-end'; trial: TrialRecord; best?: TrialRecord }
  | { type: 'spend'; spent: number; budget: number; made: number; cached: number }
  | { type: 'stop'; reason: StopReason; detail: string };

export interface Comparison {
  against: string;
  againstLabel: string;
  diff: PairedDifference;
}

export interface SearchOutcome {
  study: StudyRecord;
  stopped: StopReason;
  trials: TrialRecord[];
  best?: {
    trial: TrialRecord;
    mixture: MixtureFile;
    posteriorMean: number;
    vsRunnerUp?: Comparison;
    vsBestSingle?: Comparison;
  };
  spent: number;
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
 * Forwards to the executor and books what it spends on the study as soon as each call settles, so even `kill -9`
 * loses (almost) no spend. Booking reads the executor's ledger rather than each result: a call whose waiter was
 * aborted may still have been paid and cached, and it must count.
 */
class SpendRecorder implements Executor {
  private booked: number;
  constructor(
    private readonly inner: Executor,
    private readonly onPaid: (usd: number) => void,
  ) {
    this.booked = inner.spend().total;
  }
  private lastYield = Date.now();
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
  /** Book whatever the ledger settled since the last look. */
  sync(): void {
    const total = this.inner.spend().total;
    if (total > this.booked) {
      this.onPaid(total - this.booked);
      this.booked = total;
    }
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

// Once the user's abort fired, whatever the evaluation threw is the abort surfacing through some layer.
const isAbort = (signal?: AbortSignal) => !!signal?.aborted;

/**
 * Run (or resume) a study: reference trials, then the strategy's suggestions until the budget, `maxEvals` or the
 * strategy stops it. Each trial is evaluated through the caching executor and stored before the next is chosen;
 * nothing the next suggestion depends on lives only in memory.
 */
export async function runSearch(opts: SearchOptions): Promise<SearchOutcome> {
  // Every in-flight call listens on the signal: many listeners are expected, not a leak.
  if (opts.signal) setMaxListeners(0, opts.signal);
  const store = new StudyStore(opts.db);
  let study: StudyRecord;
  const existing = store.getStudy(opts.studyName);
  if (opts.resume) {
    if (!existing) throw new InputError(`no study named "${opts.studyName}" to resume`, { field: '--study' });
    store.claim(existing.name); // before touching it: another live process may be running it
    // The stored configuration wins, except the budget and max-evals, which a user may raise to continue further.
    study = store.updateStudy(opts.studyName, {
      state: 'RUNNING',
      stopped: undefined,
      config: { ...existing.config, budget: opts.config.budget, maxEvals: opts.config.maxEvals ?? existing.config.maxEvals },
    });
  } else {
    if (existing) throw new InputError(`study "${opts.studyName}" exists already: add --resume to continue it, or choose another --study`, { field: '--study' });
    study = store.createStudy(opts.studyName, opts.config);
    store.claim(study.name);
  }
  try {
    return await runClaimed(opts, store, study);
  } finally {
    store.release(study.name);
  }
}

async function runClaimed(opts: SearchOptions, store: StudyStore, claimed: StudyRecord): Promise<SearchOutcome> {
  const { space, items, db, signal } = opts;
  const emit = opts.onEvent ?? (() => {});
  let study = claimed;
  const config = study.config;
  const dims: SearchDims = searchDims(space);
  const strategyName = config.strategy as StrategyName;
  const strategy = STRATEGIES[strategyName];
  if (!strategy) throw new InputError(`unknown strategy "${config.strategy}"`, { field: '--strategy' });
  if (strategyName === 'exhaustive') checkExhaustive(dims, space.file);

  if (config.inner === 'nelder-mead') await loadFmin();
  const budget = config.budget;
  let spent = study.spent;
  // The executor's hard budget covers this session: what earlier sessions spent is already gone.
  const inner = await openExecutor({ space, db, budgetUsd: Math.max(0, budget - spent), providers: opts.providers });
  const bookSpend = db.prepare('UPDATE search_studies SET spent = spent + ?, updated_at = ? WHERE name = ?');
  const executor = new SpendRecorder(inner, (usd) => {
    spent += usd;
    bookSpend.run(usd, new Date().toISOString(), study.name);
  });
  const spendEvent = () => {
    const s = inner.spend();
    emit({ type: 'spend', spent, budget, made: s.calls.made, cached: s.calls.cached });
  };

  let trials = store.listTrials(study.name);
  let stats: TokenStats | undefined = trials.reduce<TokenStats | undefined>((acc, t) => (t.tokenStats ? (acc ? mergeTokenStats(acc, t.tokenStats) : t.tokenStats) : acc), undefined);
  let stopped: StopReason | undefined;
  let stopDetail = '';
  const bestSoFar = () => {
    const done = trials.filter((t) => t.state === 'COMPLETE' && t.score !== undefined);
    return done.length ? done.reduce((a, b) => (b.score! > a.score! ? b : a)) : undefined;
  };

  /** Evaluate one trial; false when the search must stop (budget or interrupt). */
  const evaluate = async (mixture: Mixture, kind: TrialKind, posteriorMean: number | undefined, projectedUsd: number, resumed: boolean): Promise<boolean> => {
    const mf = toMixtureFile(mixture);
    const trial = store.startTrial(study.name, {
      kind,
      strategy: kind === 'reference' ? 'reference' : strategy.name,
      mixture: mf,
      mixtureKey: mixtureKey(mixture),
      label: mixtureName(mixture, space),
      ...(posteriorMean !== undefined ? { posteriorMean } : {}),
    });
    const searchIndex = kind === 'search' ? trials.filter((t) => t.kind === 'search' && t.number !== trial.number).length + 1 : undefined;
    emit({ type: 'trial-start', trial, ...(searchIndex ? { searchIndex } : {}), projectedUsd, resumed });
    const before = spent;
    try {
      const r = await evaluateMixture({
        mixture,
        space,
        items,
        executor,
        concurrency: opts.concurrency ?? 4,
        signal,
        onProgress: (p) => {
          emit({ type: 'prompt', trial, done: p.done, total: p.total });
          spendEvent();
        },
      });
      if (r.tokenStats) stats = stats ? mergeTokenStats(stats, r.tokenStats) : r.tokenStats;
      const done = store.completeTrial(study.name, trial.number, {
        score: r.score,
        ci: r.ci,
        bySource: r.bySource,
        ...(r.lc !== undefined ? { lc: r.lc } : {}),
        costPerQuery: r.costPerQuery,
        tflopsPerQuery: r.tflopsPerQuery,
        latencyProxyPerQuery: r.latencyProxyPerQuery,
        spent: spent - before,
        spentCumulative: spent,
        calls: r.calls,
        perPrompt: r.perPrompt,
        projectedUsd,
        ...(r.tokenStats ? { tokenStats: r.tokenStats } : {}),
      });
      trials = store.listTrials(study.name);
      emit({ type: 'trial-end', trial: done, best: bestSoFar() });
      return true;
    } catch (e) {
      if (e instanceof BudgetExceeded) {
        // Its paid calls stay in the cache; the study ends here.
        const failed = store.failTrial(study.name, trial.number, e.message, { spent: spent - before, spentCumulative: spent, projectedUsd });
        trials = store.listTrials(study.name);
        emit({ type: 'trial-end', trial: failed, best: bestSoFar() });
        stopped = 'budget';
        stopDetail = e.message;
        return false;
      }
      if (isAbort(signal)) {
        // Left RUNNING on purpose: --resume re-runs it first, from the cache.
        trials = store.listTrials(study.name);
        stopped = 'interrupted';
        stopDetail = 'interrupted during a trial (it will be re-run from the cache on --resume)';
        return false;
      }
      store.failTrial(study.name, trial.number, (e as Error)?.message ?? String(e), { spent: spent - before, spentCumulative: spent });
      throw e;
    }
  };

  const fits = (projected: number) => spent + projected <= budget;
  const project = (m: Mixture) => projectTrialCost(m, space, items, stats);

  try {
    // 1. Trials a killed session left RUNNING are re-run first (from the cache), so the history is whole again.
    for (const t of trials.filter((x) => x.state === 'RUNNING')) {
      const m = loadMixture(JSON.stringify(t.mixture), space);
      if (!(await evaluate(m, t.kind, t.posteriorMean, project(m), true))) break;
    }
    const tried = () => new Set(trials.map((t) => t.mixtureKey));
    // 2. The aggregator alone, per aggregator: a cheap reference and the surrogate's value at zero proposers.
    if (!stopped && opts.references !== false) {
      for (const agg of dims.aggregators) {
        const m = singleModelMixture(agg);
        if (tried().has(mixtureKey(m))) continue;
        if (signal?.aborted) break;
        const p = project(m);
        if (!fits(p)) break;
        if (!(await evaluate(m, 'reference', undefined, p, false))) break;
      }
    }
    // 3. The strategy's suggestions.
    while (!stopped) {
      if (signal?.aborted) {
        stopped = 'interrupted';
        stopDetail = 'interrupted between trials';
        break;
      }
      const searchDone = trials.filter((t) => t.kind === 'search').length;
      if (config.maxEvals !== undefined && searchDone >= config.maxEvals) {
        stopped = 'max-evals';
        stopDetail = `${searchDone} search trials evaluated (--max-evals ${config.maxEvals})`;
        break;
      }
      await new Promise<void>((r) => setImmediate(r)); // let a pending Ctrl-C in before choosing the next trial
      const s = strategy.suggest(trials, { dims, seed: config.seed, inner: config.inner ?? 'bfgs' });
      if (!s) {
        stopped = 'converged';
        stopDetail = `${strategy.name} has nothing left worth evaluating`;
        break;
      }
      const p = project(s.mixture);
      if (!fits(p)) {
        stopped = 'budget';
        stopDetail = `the next trial is projected at $${p.toFixed(4)}, more than the $${Math.max(0, budget - spent).toFixed(4)} left`;
        break;
      }
      if (!(await evaluate(s.mixture, 'search', s.posteriorMean, p, false))) break;
    }
    // 4. Fixed reference mixtures (MoA-Lite) when the search ended with budget to spare.
    if (opts.references !== false && (stopped === 'max-evals' || stopped === 'converged')) {
      for (const m of referenceMixtures(space)) {
        if (tried().has(mixtureKey(m)) || signal?.aborted) continue;
        const p = project(m);
        if (!fits(p)) continue;
        if (!(await evaluate(m, 'reference', undefined, p, false))) break;
      }
    }
  } finally {
    await inner.close();
    executor.sync(); // calls settled while closing
    spendEvent();
  }
  const reason: StopReason = stopped ?? 'converged';
  emit({ type: 'stop', reason, detail: stopDetail });
  study = store.updateStudy(study.name, { state: reason === 'interrupted' ? 'RUNNING' : 'COMPLETE', stopped: reason, spent });
  trials = store.listTrials(study.name);
  const calls = trials.reduce((a, t) => ({ made: a.made + (t.calls?.made ?? 0), cached: a.cached + (t.calls?.cached ?? 0) }), { made: 0, cached: 0 });
  const outcome: SearchOutcome = { study, stopped: reason, trials, spent, budget, calls };
  const answer = chooseBest(trials, dims, config.seed);
  if (answer) {
    const best = answer.trial;
    // Stored so the report recommends the search's answer, not merely the luckiest noisy score.
    outcome.study = store.updateStudy(study.name, { best: { trial: best.number, posteriorMean: answer.posteriorMean } });
    outcome.best = { trial: best, mixture: best.mixture, posteriorMean: answer.posteriorMean };
    const compare = (other: TrialRecord | undefined): Comparison | undefined => {
      if (!other?.perPrompt || !best.perPrompt || other.number === best.number) return undefined;
      try {
        return { against: other.mixtureKey, againstLabel: other.label, diff: pairedDifference(best.perPrompt, other.perPrompt) };
      } catch {
        return undefined;
      }
    };
    outcome.best.vsRunnerUp = compare(answer.ranking[1]?.trial);
    const singles = trials.filter((t) => t.state === 'COMPLETE' && t.score !== undefined && t.mixture.layers === 1);
    const bestSingle = singles.length ? singles.reduce((a, b) => (b.score! > a.score! ? b : a)) : undefined;
    outcome.best.vsBestSingle = compare(bestSingle);
  }
  return outcome;
}

/** True when the stored trial lies in the search box (used by reports that separate searched and fixed mixtures). */
export function inSearchBox(space: SearchSpace, t: TrialRecord): boolean {
  return fromMixtureFile(searchDims(space), t.mixture) !== undefined;
}
