import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { InputError } from '../config/input-error.js';
import { checkSearchRoles, judgeModelOf } from '../config/check-roles.js';
import { checkOutputDir } from '../config/output-path.js';
import { resolveJudge } from '../eval/judges/index.js';
import { reportDirFor } from '../report/report-dir.js';
import { loadSpace, type SearchSpace } from '../config/space.js';
import { loadValidationSet } from '../eval/validation-set.js';
import type { ValidationItem } from '../eval/types.js';
import { checkDbLocation, isDbUrl, maskDbUrl, openStorage, type Storage } from '../executor/index.js';
import { resolveDbPath, SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../paths.js';
import { stratifiedSubset } from '../search/fidelity.js';
import { capsOf, checkCaps, studyDims, type CapSources } from '../search/constraints.js';
import { ProgressView } from './search-progress.js';
import { checkJudgeFlags, loadJudgeStudy } from './_judge-study.js';
import { objectiveTerms } from '../search/objective-terms.js';
import type { SearchObjective } from '../search/objective.js';
import { checkWarmStart, parseWarmStart, warmStartOffer } from './warm-start-notes.js';
import { runSearch, type Comparison, type SearchOutcome } from '../search/run-search.js';
import { checkExhaustive, STRATEGY_NAMES, type StrategyName } from '../search/strategies/index.js';
import { StudyStore } from '../search/study-store.js';
import type { StudyConfig, StudyRecord } from '../search/types.js';

/** Flags as commander hands them over (already parsed as numbers where declared). */
export interface SearchFlags {
  budget?: number;
  space?: string;
  validation?: string;
  study?: string;
  resume?: boolean;
  maxEvals?: number;
  strategy?: string;
  seed?: number;
  concurrency?: number;
  db?: string;
  json?: boolean;
  report?: boolean;
  out?: string;
  /** Use a stratified subset of this many validation prompts. */
  prompts?: number;
  innerOptimizer?: 'bfgs' | 'nelder-mead';
  /** `judge`: search judging mixtures, scored by agreement with `--preferences`; `pareto`: the quality-vs-cost front. */
  objective?: 'quality' | 'pareto' | 'judge';
  preferences?: string;
  /** Deployment caps: USD per 1,000 queries and TFLOPs per query. */
  maxCost?: number;
  maxLatency?: number;
  /** Run the study with this many local worker processes (`moa-search worker`). */
  workers?: number;
  /** Comma-separated earlier studies whose compatible observations the new study starts with. */
  warmStart?: string;
}

const STUDY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function generatedStudyName(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `search-${t}-${randomBytes(2).toString('hex')}`;
}

function validationFor(space: SearchSpace, flag: string | undefined): string {
  if (flag) return resolve(flag);
  if (space.validation) return resolve(dirname(resolve(space.file)), space.validation);
  throw new InputError('no validation set: pass --validation <file.jsonl> or set `validation:` in the search space', { field: '--validation' });
}

export interface Prepared {
  space: SearchSpace;
  items: ValidationItem[];
  config: StudyConfig;
  studyName: string;
  /** Set for `--objective judge` (else the search's default, quality on the validation set). */
  objective?: SearchObjective;
}

/**
 * Check a configuration fully (files, judge, roles, strategy limits) before anything is written, and settle which
 * prompts the study uses: a stored subset on resume, `--prompts n`, else all (the strategy chooses fidelity per
 * measurement).
 */
export function prepare(config: StudyConfig, studyName: string, promptsFlag?: number, flags: SearchFlags = {}): Prepared {
  const space = loadSpace(config.spaceFile);
  const judge = config.objective === 'judge' ? loadJudgeStudy(space, config.validationFile) : undefined;
  let items = judge?.items ?? loadValidationSet(config.validationFile);
  if (!judge) {
    if (!items.length) throw new InputError('the validation set is empty', { file: config.validationFile });
    if (!space.judge) throw new InputError('no judge: add `judge: { model: <id> }` (or `judge.mixture`) to the search space', { file: space.file, field: 'judge' });
    checkSearchRoles(space, judgeModelOf(resolveJudge(space)));
    config = withSpaceCaps(config, space);
  }
  const dims = judge ? judge.objective.dims(space) : studyDims(space, config);
  if (!judge) checkCaps(space, dims, capsOf(config), capSources(flags, space));
  if (config.strategy === 'exhaustive') checkExhaustive(dims, space.file);
  let promptIds = config.promptIds;
  if (promptIds) {
    const ids = new Set(promptIds);
    items = items.filter((it) => ids.has(it.id));
    if (items.length !== ids.size) throw new InputError(`the validation set no longer holds all ${ids.size} prompts this study used`, { file: config.validationFile });
  } else {
    if (promptsFlag !== undefined && promptsFlag > items.length) throw new InputError(`--prompts ${promptsFlag}: the ${judge ? 'preference set has only' : 'validation set has only'} ${items.length} ${judge ? 'pairs' : 'prompts'}`, { field: '--prompts' });
    if (promptsFlag !== undefined && promptsFlag < items.length) {
      items = stratifiedSubset(items, promptsFlag, config.seed);
      promptIds = items.map((it) => it.id);
    }
  }
  return { space, items, config: { ...config, layers: dims.layerOptions.length > 1 ? dims.layerOptions : dims.layers, aggregators: dims.aggregators, ...(promptIds ? { promptIds } : {}) }, studyName, ...(judge ? { objective: judge.objective } : {}) };
}

/** Caps the space file sets under `search:` apply when no flag gives them (the flags are already in `config`). */
function withSpaceCaps(config: StudyConfig, space: SearchSpace): StudyConfig {
  const { maxCost, maxLatency } = space.search;
  return { ...config, ...(config.maxCost === undefined && maxCost !== undefined ? { maxCost } : {}), ...(config.maxLatency === undefined && maxLatency !== undefined ? { maxLatency } : {}) };
}

/** Name the flag when one gave the cap (now or when the study was created), else the space's field. */
function capSources(flags: SearchFlags, space: SearchSpace): CapSources {
  const from = (flag: string, field: string, given: number | undefined, inSpace: number | undefined) => (given === undefined && inSpace !== undefined ? { field, file: space.file } : { field: flag });
  return { maxCost: from('--max-cost', 'search.maxCost', flags.maxCost, space.search.maxCost), maxLatency: from('--max-latency', 'search.maxLatency', flags.maxLatency, space.search.maxLatency) };
}

/** The flags alone, before any file is read. */
function checkFlags(flags: SearchFlags): void {
  if (flags.strategy !== undefined && !STRATEGY_NAMES.includes(flags.strategy as StrategyName))
    throw new InputError(`--strategy must be one of ${STRATEGY_NAMES.join(', ')} (got "${flags.strategy}")`, { field: '--strategy' });
  if (flags.budget !== undefined && !(flags.budget > 0)) throw new InputError('--budget must be greater than 0', { field: '--budget' });
  if (flags.study !== undefined && !STUDY_NAME.test(flags.study)) throw new InputError('--study: use letters, digits, ".", "_" or "-" (at most 64)', { field: '--study' });
  if (flags.resume && flags.warmStart !== undefined) throw new InputError('a study\'s warm start is fixed when it is created: drop --warm-start to resume it', { field: '--warm-start' });
  parseWarmStart(flags.warmStart);
  if (flags.resume && !flags.study) throw new InputError('--resume needs --study <name>', { field: '--resume' });
  if (!flags.resume && flags.budget === undefined) throw new InputError('--budget <usd> is required (e.g. --budget 1)', { field: '--budget' });
  checkJudgeFlags(flags);
  if (flags.objective === 'judge' && (flags.maxCost !== undefined || flags.maxLatency !== undefined))
    throw new InputError('deployment caps apply to answering mixtures, not to --objective judge: drop the cap', { field: flags.maxCost !== undefined ? '--max-cost' : '--max-latency' });
  if (flags.out !== undefined && flags.report === false) throw new InputError('names the report folder, but --no-report writes no report: drop one of the two', { field: '--out' });
}

/**
 * On --resume the study keeps what defines it. A flag that says otherwise is refused rather than silently
 * ignored; only the limits (--budget, --max-evals) may change, and the change is said.
 */
function checkResumeFlags(flags: SearchFlags, stored: StudyRecord): string[] {
  const c = stored.config;
  const refuse = (flag: string, given: unknown, has: unknown) => {
    throw new InputError(`"${given}" contradicts study "${stored.name}", which has "${has}": drop ${flag} to resume it, or start a new --study`, { field: flag });
  };
  if (flags.space !== undefined && resolve(flags.space) !== resolve(c.spaceFile)) refuse('--space', flags.space, c.spaceFile);
  if (flags.validation !== undefined && resolve(flags.validation) !== resolve(c.validationFile)) refuse('--validation', flags.validation, c.validationFile);
  if (flags.strategy !== undefined && flags.strategy !== c.strategy) refuse('--strategy', flags.strategy, c.strategy);
  if (flags.seed !== undefined && flags.seed !== c.seed) refuse('--seed', flags.seed, c.seed);
  if (flags.objective !== undefined && flags.objective !== (c.objective ?? 'quality')) refuse('--objective', flags.objective, c.objective ?? 'quality');
  if (flags.preferences !== undefined && (c.objective !== 'judge' || resolve(flags.preferences) !== resolve(c.validationFile))) refuse('--preferences', flags.preferences, c.objective === 'judge' ? c.validationFile : 'no preference set');
  if (flags.innerOptimizer !== undefined && flags.innerOptimizer !== (c.inner ?? 'bfgs')) refuse('--inner-optimizer', flags.innerOptimizer, c.inner ?? 'bfgs');
  if (flags.maxCost !== undefined && flags.maxCost !== c.maxCost) refuse('--max-cost', flags.maxCost, c.maxCost ?? 'none');
  if (flags.maxLatency !== undefined && flags.maxLatency !== c.maxLatency) refuse('--max-latency', flags.maxLatency, c.maxLatency ?? 'none');
  const said: string[] = [];
  if (flags.budget !== undefined && flags.budget !== c.budget) said.push(`budget: $${flags.budget} (the study had $${c.budget}; it has spent $${stored.spent.toFixed(4)})`);
  if (flags.maxEvals !== undefined && flags.maxEvals !== c.maxEvals) said.push(`max-evals: ${flags.maxEvals} (the study had ${c.maxEvals ?? 'none'})`);
  return said;
}

interface Opened {
  prepared: Prepared;
  storage: Storage;
  /** Lines to print once everything is known to be good. */
  notes: string[];
}

/** Resume: the database and the study must exist; the study's stored configuration is checked against the flags. */
async function openToResume(flags: SearchFlags, db: string): Promise<Opened> {
  // A missing SQLite file is not created just to find no study in it.
  if (!isDbUrl(db) && !existsSync(db)) throw new InputError(`no database at ${db}: nothing to resume`, { field: '--db' });
  const storage = await openStorage(db, { migrate: false });
  try {
    const store = await StudyStore.existing(storage);
    const stored = await store?.getStudy(flags.study!);
    if (!stored) throw new InputError(`no study named "${flags.study}" in ${storage.display}`, { field: '--study' });
    const runner = await store!.runner(stored.name);
    if (runner) throw new InputError(`study "${stored.name}" is being run by ${runner}: wait for it or stop it first`, { field: '--study' });
    const notes = checkResumeFlags(flags, stored);
    const prepared = prepare({ ...stored.config, budget: flags.budget ?? stored.config.budget, maxEvals: flags.maxEvals ?? stored.config.maxEvals }, stored.name, undefined, flags);
    if (flags.prompts !== undefined && flags.prompts !== prepared.items.length) throw new InputError('--prompts cannot change on --resume: a study keeps its prompts', { field: '--prompts' });
    checkReportDir(flags, db, stored.name);
    if (!(prepared.config.budget > stored.spent)) notes.push(`study ${stored.name} already spent $${stored.spent.toFixed(4)} of its $${prepared.config.budget} budget`);
    return { prepared, storage, notes };
  } catch (e) {
    await storage.close();
    throw e;
  }
}

/** A new study: everything is read and checked before the database is opened (and so perhaps created). */
async function openNew(flags: SearchFlags, db: string): Promise<Opened> {
  const notes: string[] = [];
  const simulated = !flags.space;
  const spaceFile = resolve(flags.space ?? SIM_SPACE_FILE);
  const judge = flags.objective === 'judge';
  const validationFile = judge ? resolve(flags.preferences!) : flags.validation ? resolve(flags.validation) : simulated ? SIM_VALIDATION_FILE : validationFor(loadSpace(spaceFile), undefined);
  if (simulated) notes.push(`no --space given: searching the simulated world (${SIM_SPACE_FILE}) — no API key needed, no real money spent`);
  const prepared = prepare(
    {
      spaceFile,
      validationFile,
      strategy: flags.strategy ?? 'bfgs',
      seed: flags.seed ?? 0,
      ...(flags.innerOptimizer && flags.innerOptimizer !== 'bfgs' ? { inner: flags.innerOptimizer } : {}),
      budget: flags.budget!,
      ...(flags.maxEvals !== undefined ? { maxEvals: flags.maxEvals } : {}),
      ...(flags.maxCost !== undefined ? { maxCost: flags.maxCost } : {}),
      ...(flags.maxLatency !== undefined ? { maxLatency: flags.maxLatency } : {}),
      ...(flags.objective === 'pareto' ? { objective: 'pareto' as const } : {}),
      layers: 2,
      aggregators: [],
      simulated,
      ...(judge ? { objective: 'judge' as const } : {}),
    },
    flags.study ?? generatedStudyName(),
    flags.prompts,
    flags,
  );
  checkReportDir(flags, db, prepared.studyName);
  if (flags.warmStart !== undefined && !isDbUrl(db) && !existsSync(db)) throw new InputError(`--warm-start: no database at ${db}, so no study to start from (give the --db that holds it)`, { field: '--warm-start' });
  const storage = await openStorage(db);
  try {
    if (await (await StudyStore.open(storage)).getStudy(prepared.studyName))
      throw new InputError(`study "${prepared.studyName}" exists already in ${storage.display}: add --resume to continue it, or choose another --study`, { field: '--study' });
    const warm = parseWarmStart(flags.warmStart);
    notes.push(...(warm ? await checkWarmStart(storage, warm, prepared) : await warmStartOffer(storage, prepared)));
  } catch (e) {
    await storage.close();
    throw e;
  }
  return { prepared, storage, notes };
}

/** The report folder (--out, else beside the database) must be writable before a cent is spent. */
function checkReportDir(flags: SearchFlags, db: string, studyName: string): void {
  if (flags.report === false) return;
  if (flags.out !== undefined) {
    checkOutputDir(flags.out, '--out');
    return;
  }
  try {
    checkOutputDir(reportDirFor(db, studyName), '--out');
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    throw new InputError(`the default report folder (beside --db, or runs/ for a database URL): ${e.reason}; give --out <dir> or --no-report`, e.location);
  }
}

const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * SIGINT and SIGTERM once: stop cleanly (the trial in flight stays RUNNING and is re-run from the cache on
 * --resume). A second signal: now.
 */
function onStopSignals(controller: AbortController, studyName: string, resumeHint: string): { detach(): void; exitCode(): number | undefined } {
  const err = process.stderr;
  let received: keyof typeof SIGNAL_CODES | undefined;
  const handlers = (Object.keys(SIGNAL_CODES) as Array<keyof typeof SIGNAL_CODES>).map((sig) => {
    const h = () => {
      if (received) process.exit(SIGNAL_CODES[sig]);
      received = sig;
      const [what, again] = sig === 'SIGINT' ? ['interrupted (Ctrl-C)', 'Ctrl-C again'] : ['SIGTERM', 'send it again'];
      err.write(`\n${what}: stopping study ${studyName} cleanly; resume with: ${resumeHint} (${again} to quit at once)\n`);
      controller.abort();
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return {
    detach: () => handlers.forEach(([sig, h]) => process.off(sig, h)),
    exitCode: () => (received ? SIGNAL_CODES[received] : undefined),
  };
}

export async function searchCommand(flags: SearchFlags): Promise<void> {
  // ---- validate everything (flags, files, paths, the study) before a line is printed or a cent is spent ----
  checkFlags(flags);
  const dbLocation = checkDbLocation(resolveDbPath(flags.db));
  const { prepared, storage, notes } = flags.resume ? await openToResume(flags, dbLocation) : await openNew(flags, dbLocation);

  // ---- then talk ----
  const err = process.stderr;
  const { space, items, config, studyName } = prepared;
  for (const n of notes) err.write(n + '\n');
  // The hint is printed: a password in a --db URL is masked (give it again, or set MOA_SEARCH_DB).
  const resumeHint = `moa-search --study ${studyName} --resume${flags.db ? ` --db ${isDbUrl(flags.db) ? maskDbUrl(flags.db) : flags.db}` : ''}`;
  err.write(`study: ${studyName}  (resume with: ${resumeHint})\n`);
  const dims = prepared.objective?.dims(space) ?? studyDims(space, config);
  const terms = objectiveTerms(config.objective);
  err.write(
    `${config.strategy} over ${dims.proposers.length} ${config.objective === 'judge' ? 'judges' : 'proposers'} × ${dims.aggregators.length} ${config.objective === 'judge' ? 'deciding judge' : 'aggregator'}${dims.aggregators.length > 1 ? 's' : ''}${dims.layerOptions.length > 1 ? ` × ${dims.layerOptions.length} depths` : ''}, ` +
      `${items.length} ${terms.items}, budget $${config.budget}${config.maxEvals ? `, at most ${config.maxEvals} measurements` : ''}${costLine(config)}\n`,
  );

  const controller = new AbortController();
  // Every in-flight call listens on this one signal: dozens of listeners are expected, not a leak.
  setMaxListeners(0, controller.signal);
  const signals = onStopSignals(controller, studyName, resumeHint);

  const view = new ProgressView(process.stderr, config.maxEvals);
  view.words = terms;
  let outcome: SearchOutcome;
  try {
    const search = {
      space,
      items,
      ...(prepared.objective ? { objective: prepared.objective } : {}),
      storage,
      config,
      studyName,
      resume: !!flags.resume,
      ...(flags.warmStart !== undefined ? { warmStart: parseWarmStart(flags.warmStart)! } : {}),
      concurrency: flags.concurrency ?? 4,
      signal: controller.signal,
      onEvent: view.handle,
    };
    outcome = flags.workers
      ? await (await import('./search-workers.js')).searchWithWorkers({ search, workers: flags.workers, db: dbLocation, write: (l) => err.write(`${l}\n`) })
      : await runSearch(search);
  } catch (e) {
    await storage.close();
    throw e;
  } finally {
    signals.detach();
  }

  let reportPath: string | undefined;
  try {
    if (flags.report !== false && outcome.best) reportPath = await writeStudyReport(storage, dbLocation, studyName, space, flags.out);
  } finally {
    await storage.close();
  }

  if (flags.json) process.stdout.write(JSON.stringify(jsonOf(outcome, reportPath)) + '\n');
  else process.stdout.write(summary(outcome, reportPath));
  if (outcome.stopped === 'interrupted') process.exitCode = signals.exitCode() ?? 130;
}

async function writeStudyReport(storage: Storage, dbLocation: string, studyName: string, space: SearchSpace, outDir?: string): Promise<string> {
  // Loaded lazily: vega is heavy, and --no-report runs never need it.
  const { writeReport } = await import('../report/index.js');
  const r = await writeReport({ storage, studyName, space, outDir: outDir ?? reportDirFor(dbLocation, studyName) });
  return r.files.find((f) => f.endsWith('report.html')) ?? r.dir;
}

export function jsonOf(o: SearchOutcome, reportPath?: string) {
  const b = o.best;
  return {
    study: o.study.name,
    objective: o.study.config.objective ?? 'quality',
    best: b
      ? {
          mixture: b.mixture,
          label: b.trial.label,
          score: b.estimate.mean,
          ci: b.estimate.ci,
          prompts: b.estimate.prompts,
          measurements: b.estimate.measurements,
          validationPrompts: o.study.best?.validationPrompts,
          measured: { score: b.trial.score, ci: b.trial.ci },
          posteriorMean: b.posteriorMean,
          costPerQuery: b.trial.costPerQuery,
          tflopsPerQuery: b.trial.tflopsPerQuery,
          ...(b.vsRunnerUp ? { vsRunnerUp: comparisonJson(b.vsRunnerUp) } : {}),
          ...(b.vsUnconstrained ? { vsUnconstrained: comparisonJson(b.vsUnconstrained) } : {}),
          ...(b.vsBestSingle ? { vsBestSingle: comparisonJson(b.vsBestSingle) } : {}),
        }
      : null,
    ...(o.capped ? { caps: capsOf(o.study.config), unconstrained: { label: o.capped.unconstrained.trial.label, score: o.capped.unconstrained.estimate.mean, ci: o.capped.unconstrained.estimate.ci, costPerQuery: o.capped.unconstrained.trial.costPerQuery }, ...(o.capped.cheapest ? { cheapest: { label: o.capped.cheapest.label, costPerQuery: o.capped.cheapest.costPerQuery, score: o.capped.cheapest.score } } : {}) } : {}),
    trials: o.trials.length,
    measurements: o.measurements,
    spent: o.spent,
    ...(o.unsettled > 0 ? { unsettled: o.unsettled } : {}),
    budget: o.budget,
    stopped: o.stopped,
    calls: o.calls,
    ...(reportPath ? { report: reportPath } : {}),
  };
}

// Models without `params` in the space have no TFLOPs estimate: say so rather than print NaN.
const tflops = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? `${v.toFixed(1)} TFLOPs/query` : 'TFLOPs unknown (a model has no params in the space)');

const pm = (v: number) => (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(1);

function comparisonJson(c: Comparison) {
  return { label: c.againstLabel, diff: c.diff.diff, ci: c.diff.ci, distinguishable: c.diff.distinguishable };
}

/** Measured on the shared prompts only, so it may disagree in sign with the model's ranking, which uses every measurement. */
function comparisonLine(what: string, against: string, c: Comparison, items: string): string {
  return `  vs ${what} (${against}): ${pm(c.diff.diff)} [${pm(c.diff.ci[0])}, ${pm(c.diff.ci[1])}] measured on ${c.diff.n} shared ${items}${c.diff.distinguishable ? '' : ' — not distinguishable there'}`;
}

const per1k = (usd: number | undefined) => (usd === undefined ? 'cost unknown' : `$${(usd * 1000).toFixed(3)} per 1k queries`);

/** The header's cost part: the objective and the caps. */
function costLine(c: StudyConfig): string {
  const parts = [c.objective === 'pareto' ? 'objective: the quality-vs-cost front' : '', c.maxCost !== undefined ? `cap $${c.maxCost} per 1k queries` : '', c.maxLatency !== undefined ? `cap ${c.maxLatency} TFLOPs/query (critical path)` : ''];
  const said = parts.filter(Boolean);
  return said.length ? `; ${said.join(', ')}` : '';
}

const capsText = (c: StudyConfig) => [c.maxCost !== undefined ? `$${c.maxCost} per 1k queries` : '', c.maxLatency !== undefined ? `${c.maxLatency} TFLOPs/query` : ''].filter(Boolean).join(' and ');

/** Nothing evaluated meets the caps: say so, and show the cheapest evaluated mixture and the unconstrained best. */
function noFeasible(o: SearchOutcome): string[] {
  const c = o.capped!;
  const out = [`no evaluated mixture's measured cost meets the cap (${capsText(o.study.config)}): nothing to recommend`];
  if (c.cheapest) out.push(`  cheapest evaluated: ${c.cheapest.label} at ${per1k(c.cheapest.costPerQuery)}, ${tflops(c.cheapest.latencyProxyPerQuery)} on the critical path, score ${c.cheapest.score?.toFixed(1) ?? '?'}`);
  out.push(`  best without the cap: ${c.unconstrained.trial.label} at ${per1k(c.unconstrained.trial.costPerQuery)}, score ${c.unconstrained.estimate.mean.toFixed(1)} [${c.unconstrained.estimate.ci[0].toFixed(1)}, ${c.unconstrained.estimate.ci[1].toFixed(1)}]`);
  return out;
}

function summary(o: SearchOutcome, reportPath?: string): string {
  const lines: string[] = [];
  lines.push(`study ${o.study.name}: ${o.trials.length} mixtures, ${o.measurements} measurements, stopped (${o.stopped})`);
  const b = o.best;
  const w = objectiveTerms(o.study.config.objective);
  if (b) {
    const t = b.trial;
    const e = b.estimate;
    const total = o.study.best?.validationPrompts;
    lines.push(`best: ${t.label}`);
    lines.push(`  ${w.score} ${e.mean.toFixed(1)} [${e.ci[0].toFixed(1)}, ${e.ci[1].toFixed(1)}] (95% interval; model estimate for all ${total} ${w.items}, no selection bias)`);
    lines.push(`  stands on ${e.measurements} measurement${e.measurements === 1 ? '' : 's'} of this mixture on ${e.prompts} of ${total} ${w.items} (measured there: ${t.score!.toFixed(1)}), and ${o.trials.length - 1} other mixtures`);
    lines.push(`  $${(t.costPerQuery ?? 0).toFixed(5)}/${w.per}, ${tflops(t.tflopsPerQuery)}`);
    if (o.capped) lines.push(`  measured ${per1k(t.costPerQuery)}: within the cap (${capsText(o.study.config)})`);
    if (b.vsRunnerUp) lines.push(comparisonLine('runner-up', b.vsRunnerUp.againstLabel, b.vsRunnerUp, w.items));
    if (b.vsBestSingle) lines.push(comparisonLine(w.single, b.vsBestSingle.againstLabel, b.vsBestSingle, w.items));
    if (b.vsUnconstrained) lines.push(comparisonLine('the best without the cap', `${b.vsUnconstrained.againstLabel}, ${per1k(o.capped!.unconstrained.trial.costPerQuery)}`, b.vsUnconstrained, w.items));
    else if (o.capped) lines.push('  it is also the best mixture the search saw without the cap');
    lines.push(`  mixture: ${JSON.stringify(b.mixture)}`);
  } else if (o.capped) lines.push(...noFeasible(o));
  else lines.push('no trial completed: nothing to recommend');
  lines.push(`spent: $${o.spent.toFixed(4)} of $${o.budget.toFixed(4)} (provider calls ${o.calls.made} made, ${o.calls.cached} cached)`);
  if (o.unsettled > 0) lines.push(`  of which $${o.unsettled.toFixed(4)} is booked at worst case for calls a killed session left in flight (they may have been billed)`);
  if (reportPath) lines.push(`report: ${reportPath}`);
  return lines.join('\n') + '\n';
}
