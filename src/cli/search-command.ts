import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { InputError } from '../config/input-error.js';
import { loadSpace, type SearchSpace } from '../config/space.js';
import { loadValidationSet } from '../eval/validation-set.js';
import type { ValidationItem } from '../eval/types.js';
import { openDatabase, sqliteFileOf, type DB } from '../executor/index.js';
import { resolveDbPath, SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../paths.js';
import { planPromptCount, stratifiedSubset } from '../search/budget-plan.js';
import { searchDims, toMixture } from '../search/encoding.js';
import { ProgressView } from './search-progress.js';
import { runSearch, type SearchOutcome } from '../search/run-search.js';
import { checkExhaustive, STRATEGY_NAMES, type StrategyName } from '../search/strategies/index.js';
import { StudyStore } from '../search/study-store.js';
import type { StudyConfig } from '../search/types.js';

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

interface Prepared {
  space: SearchSpace;
  items: ValidationItem[];
  config: StudyConfig;
  studyName: string;
}

/**
 * Check a configuration fully (files, judge, strategy limits) before anything is written, and settle which prompts
 * the study uses: a stored subset on resume, `--prompts n`, or — when the budget cannot afford a handful of
 * evaluations of the whole set — a stratified subset sized to the budget (said in one line).
 */
function prepare(config: StudyConfig, studyName: string, promptsFlag?: number, say?: (s: string) => void): Prepared {
  const space = loadSpace(config.spaceFile);
  let items = loadValidationSet(config.validationFile);
  if (!items.length) throw new InputError('the validation set is empty', { file: config.validationFile });
  if (!space.judge) throw new InputError('no judge: add `judge: { model: <id> }` (or `judge.mixture`) to the search space', { file: space.file, field: 'judge' });
  const dims = searchDims(space);
  if (config.strategy === 'exhaustive') checkExhaustive(dims, space.file);
  let promptIds = config.promptIds;
  if (promptIds) {
    const ids = new Set(promptIds);
    items = items.filter((it) => ids.has(it.id));
    if (items.length !== ids.size) throw new InputError(`the validation set no longer holds all ${ids.size} prompts this study used`, { file: config.validationFile });
  } else {
    if (promptsFlag !== undefined && promptsFlag > items.length) throw new InputError(`--prompts ${promptsFlag}: the validation set has only ${items.length} prompts`, { field: '--prompts' });
    const allOnce = toMixture(dims, { counts: dims.proposers.map(() => 1), agg: 0 });
    const n = promptsFlag ?? planPromptCount(allOnce, space, items, config.budget);
    if (n !== undefined && n < items.length) {
      const full = items.length;
      items = stratifiedSubset(items, n, config.seed);
      promptIds = items.map((it) => it.id);
      if (promptsFlag === undefined)
        say?.(`budget $${config.budget} affords few evaluations of all ${full} prompts: using a stratified subset of ${n} (set --prompts to choose)`);
    }
  }
  return { space, items, config: { ...config, layers: dims.layers, aggregators: dims.aggregators, ...(promptIds ? { promptIds } : {}) }, studyName };
}

export async function searchCommand(flags: SearchFlags): Promise<void> {
  // ---- validate everything before the database is opened ----
  const strategy = (flags.strategy ?? 'bfgs') as StrategyName;
  if (!STRATEGY_NAMES.includes(strategy)) throw new InputError(`--strategy must be one of ${STRATEGY_NAMES.join(', ')} (got "${flags.strategy}")`, { field: '--strategy' });
  if (flags.budget !== undefined && !(flags.budget > 0)) throw new InputError('--budget must be greater than 0', { field: '--budget' });
  if (flags.study !== undefined && !STUDY_NAME.test(flags.study)) throw new InputError('--study: use letters, digits, ".", "_" or "-" (at most 64)', { field: '--study' });
  if (flags.resume && !flags.study) throw new InputError('--resume needs --study <name>', { field: '--resume' });
  if (!flags.resume && flags.budget === undefined) throw new InputError('--budget <usd> is required (e.g. --budget 1)', { field: '--budget' });
  const dbPath = sqliteFileOf(resolveDbPath(flags.db));
  const err = process.stderr;

  let prepared: Prepared;
  let db: DB;
  if (flags.resume) {
    if (!existsSync(dbPath)) throw new InputError(`no database at ${dbPath}: nothing to resume`, { field: '--db' });
    db = openDatabase(dbPath);
    const stored = new StudyStore(db).getStudy(flags.study!);
    if (!stored) {
      db.close();
      throw new InputError(`no study named "${flags.study}" in ${dbPath}`, { field: '--study' });
    }
    try {
      prepared = prepare({ ...stored.config, budget: flags.budget ?? stored.config.budget, maxEvals: flags.maxEvals ?? stored.config.maxEvals }, stored.name);
      if (flags.prompts !== undefined && flags.prompts !== prepared.items.length) throw new InputError('--prompts cannot change on --resume: a study keeps its prompts', { field: '--prompts' });
    } catch (e) {
      db.close();
      throw e;
    }
    if (!(prepared.config.budget > stored.spent) && !flags.json) err.write(`study ${stored.name} already spent $${stored.spent.toFixed(4)} of its $${prepared.config.budget} budget\n`);
  } else {
    const notes: string[] = [];
    const simulated = !flags.space;
    const spaceFile = resolve(flags.space ?? SIM_SPACE_FILE);
    const validationFile = flags.validation ? resolve(flags.validation) : simulated ? SIM_VALIDATION_FILE : validationFor(loadSpace(spaceFile), undefined);
    prepared = prepare(
      { spaceFile, validationFile, strategy, seed: flags.seed ?? 0, ...(flags.innerOptimizer && flags.innerOptimizer !== 'bfgs' ? { inner: flags.innerOptimizer } : {}), budget: flags.budget!, ...(flags.maxEvals !== undefined ? { maxEvals: flags.maxEvals } : {}), layers: 2, aggregators: [], simulated },
      flags.study ?? generatedStudyName(),
      flags.prompts,
      (line) => notes.push(line),
    );
    if (simulated) err.write(`no --space given: searching the simulated world (${SIM_SPACE_FILE}) — no API key needed, no real money spent\n`);
    for (const n of notes) err.write(n + '\n');
    db = openDatabase(dbPath);
  }

  const { space, items, config, studyName } = prepared;
  err.write(`study: ${studyName}  (resume with: moa-search --study ${studyName} --resume${flags.db ? ` --db ${flags.db}` : ''})\n`);
  err.write(`${config.strategy} over ${searchDims(space).proposers.length} proposers, ${items.length} prompts, budget $${config.budget}${config.maxEvals ? `, at most ${config.maxEvals} evaluations` : ''}\n`);

  // Ctrl-C once: stop cleanly (the trial in flight stays RUNNING and is re-run from the cache on --resume). Twice: now.
  const controller = new AbortController();
  // Every in-flight call listens on this one signal: dozens of listeners are expected, not a leak.
  setMaxListeners(0, controller.signal);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    err.write('\ninterrupting: stopping cleanly (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);

  const view = new ProgressView(process.stderr, config.maxEvals);
  let outcome: SearchOutcome;
  try {
    outcome = await runSearch({
      space,
      items,
      db,
      config,
      studyName,
      resume: !!flags.resume,
      concurrency: flags.concurrency ?? 4,
      signal: controller.signal,
      onEvent: view.handle,
    });
  } catch (e) {
    db.close();
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }

  let reportPath: string | undefined;
  if (flags.report !== false && outcome.best) {
    reportPath = await writeStudyReport(db, studyName, space, flags.out);
  }
  db.close();

  if (flags.json) process.stdout.write(JSON.stringify(jsonOf(outcome, reportPath)) + '\n');
  else process.stdout.write(summary(outcome, reportPath));
  if (outcome.stopped === 'interrupted') process.exitCode = 130;
}

async function writeStudyReport(db: DB, studyName: string, space: SearchSpace, outDir?: string): Promise<string> {
  // Loaded lazily: vega is heavy, and --no-report runs never need it.
  const { writeReport } = await import('../report/index.js');
  const r = await writeReport({ db, studyName, space, ...(outDir ? { outDir } : {}) });
  return r.files.find((f) => f.endsWith('report.html')) ?? r.dir;
}

export function jsonOf(o: SearchOutcome, reportPath?: string) {
  const b = o.best;
  return {
    study: o.study.name,
    best: b
      ? {
          mixture: b.mixture,
          label: b.trial.label,
          score: b.trial.score,
          ci: b.trial.ci,
          posteriorMean: b.posteriorMean,
          costPerQuery: b.trial.costPerQuery,
          tflopsPerQuery: b.trial.tflopsPerQuery,
          ...(b.vsRunnerUp ? { vsRunnerUp: { label: b.vsRunnerUp.againstLabel, diff: b.vsRunnerUp.diff.diff, ci: b.vsRunnerUp.diff.ci, distinguishable: b.vsRunnerUp.diff.distinguishable } } : {}),
          ...(b.vsBestSingle ? { vsBestSingle: { label: b.vsBestSingle.againstLabel, diff: b.vsBestSingle.diff.diff, ci: b.vsBestSingle.diff.ci, distinguishable: b.vsBestSingle.diff.distinguishable } } : {}),
        }
      : null,
    trials: o.trials.length,
    spent: o.spent,
    budget: o.budget,
    stopped: o.stopped,
    calls: o.calls,
    ...(reportPath ? { report: reportPath } : {}),
  };
}

const pm = (v: number) => (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(1);

function summary(o: SearchOutcome, reportPath?: string): string {
  const lines: string[] = [];
  lines.push(`study ${o.study.name}: ${o.trials.length} trials, stopped (${o.stopped})`);
  const b = o.best;
  if (b) {
    const t = b.trial;
    lines.push(`best: ${t.label}`);
    lines.push(
      `  score ${t.score!.toFixed(1)} [${t.ci![0].toFixed(1)}, ${t.ci![1].toFixed(1)}] (surrogate mean ${b.posteriorMean.toFixed(1)}), ` +
        `$${(t.costPerQuery ?? 0).toFixed(5)}/query, ${(t.tflopsPerQuery ?? NaN).toFixed(1)} TFLOPs/query`,
    );
    for (const [what, c] of [['runner-up', b.vsRunnerUp], ['best single model', b.vsBestSingle]] as const) {
      if (c) lines.push(`  vs ${what} (${c.againstLabel}): ${pm(c.diff.diff)} [${pm(c.diff.ci[0])}, ${pm(c.diff.ci[1])}]${c.diff.distinguishable ? '' : ' — not distinguishable on this validation set'}`);
    }
    lines.push(`  mixture: ${JSON.stringify(b.mixture)}`);
  } else lines.push('no trial completed: nothing to recommend');
  lines.push(`spent: $${o.spent.toFixed(4)} of $${o.budget.toFixed(4)} (provider calls ${o.calls.made} made, ${o.calls.cached} cached)`);
  if (reportPath) lines.push(`report: ${reportPath}`);
  return lines.join('\n') + '\n';
}
