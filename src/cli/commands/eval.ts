import type { Command } from 'commander';
import type { EvalResult } from '../../eval/types.js';
import type { BatchStats } from '../../executor/index.js';
import { action, numberArg } from '../_run.js';

interface EvalOptions {
  space?: string;
  validation?: string;
  mixture?: string;
  baseline?: string;
  db?: string;
  concurrency?: number;
  budget?: number;
  json?: boolean;
  seed?: number;
  preferences?: string;
  judge?: string;
  judgeMixture?: string;
  criteria?: boolean;
  limit?: number;
  batch?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Evaluate one mixture (or a single baseline model) on a validation set: score, 95% CIs, LC win rate, cost. With --preferences: score a judge by its agreement with reference preferences.')
    .option('--space <file>', 'search-space file (default: the simulated world)')
    .option('--validation <file>', 'validation set, JSONL (default: the space\'s `validation`, or sim-100 for the simulated world)')
    .option('--mixture <file|json>', 'mixture file, or inline JSON such as \'{"layers":2,"proposers":{"A":2},"aggregator":"A"}\'')
    .option('--baseline <model>', 'evaluate a single model (the 1-proposer, no-aggregator mixture) instead of --mixture')
    .option('--db <file|url>', 'cache database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--concurrency <n>', 'prompts evaluated at once (default 4; with --batch, all of them)', numberArg({ integer: true, min: 1, max: 256 }))
    .option('--budget <usd>', 'refuse uncached calls that could push spend past this many USD', numberArg({ min: 0 }))
    .option('--seed <n>', 'bootstrap seed for the confidence intervals', numberArg({ integer: true }), 0)
    .option('--batch', 'send uncached requests as provider Batch API jobs, layer by layer (every provider used needs `batch:` in the space): about half the price, answers in minutes to hours; a killed run re-attaches to its jobs')
    .option('--json', 'print {score, ci, bySource, lc, costPerQuery, tflopsPerQuery, spent, calls, ...} as JSON')
    .option('--preferences <file>', 'score a judge instead: reference preferences, JSONL {prompt, output_1, output_2, preference 1-2} or AlpacaEval annotations (JSON)')
    .option('--judge-mixture <file|json>', 'with --preferences: the judging mixture to score (proposers judge, the aggregator decides)')
    .option('--judge <model>', 'with --preferences: a single judge model to score (default: the space\'s judge)')
    .option('--criteria', 'with --preferences: the judge first lists the criteria that matter for each prompt')
    .option('--limit <n>', 'with --preferences: only the first n pairs', numberArg({ integer: true, min: 1 }))
    .action(action((opts: EvalOptions) => (opts.preferences !== undefined ? runJudgeEval(opts) : runEval(opts))));
}

async function runJudgeEval(opts: EvalOptions): Promise<void> {
  const { InputError } = await import('../../config/index.js');
  for (const [flag, v] of [['--mixture', opts.mixture], ['--baseline', opts.baseline], ['--validation', opts.validation]] as const)
    if (v !== undefined) throw new InputError('scores a mixture or model as an answerer; with --preferences, name the judge with --judge-mixture or --judge', { field: flag });
  if (opts.batch) throw new InputError('scoring a judge (--preferences) has no Batch API mode yet; run it without --batch', { field: '--batch' });
  const { evalJudge } = await import('../eval-judge.js');
  await evalJudge({ ...opts, preferences: opts.preferences! });
}

const num = (x: number) => (Number.isFinite(x) ? x : null);

async function runEval(opts: EvalOptions): Promise<void> {
  const input = await checkEvalInput(opts);
  const { mixtureName } = await import('../../config/index.js');
  const name = mixtureName(input.mixture, input.space);
  const progress = evalProgress(name);
  const executor = await openEvalExecutor(opts, input, progress.endLive);
  try {
    const { evaluateMixture } = await import('../../eval/index.js');
    const r = await evaluateMixture({
      mixture: input.mixture,
      space: input.space,
      items: input.items,
      executor,
      // Batched, every prompt is in flight so each layer's requests of all prompts go out together.
      concurrency: opts.concurrency ?? (opts.batch ? input.items.length : 4),
      bootstrap: { seed: opts.seed ?? 0 },
      onProgress: progress.onProgress,
    });
    progress.endLive();
    const shown: Shown = { name, judge: input.judge, n: input.items.length, batchStats: 'batchStats' in executor ? executor.batchStats() : undefined };
    if (opts.json) printEvalJson(r, shown);
    else await printEvalTable(r, shown);
  } finally {
    await executor.close();
  }
}

type EvalInput = Awaited<ReturnType<typeof checkEvalInput>>;
interface Shown {
  name: string;
  judge: EvalInput['judge'];
  n: number;
  batchStats?: BatchStats;
}

/** Everything is validated before the database is opened: bad input writes nothing. */
async function checkEvalInput(opts: EvalOptions) {
  // Loaded here so `moa-search --help` never pulls in SQLite or the OpenAI SDK.
  const { dirname, resolve } = await import('node:path');
  const { InputError, loadSpace, loadMixture, singleModelMixture, checkMixtureAgainstSpace, checkNotSelfJudged, judgeModelOf, checkRole } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, SIM_VALIDATION_FILE, resolveDbPath } = await import('../../paths.js');
  const { checkDbLocation } = await import('../../executor/db-location.js');
  const { checkMixtureKeys, loadTemplates, mixtureModels } = await import('../../moa/index.js');
  const { loadValidationSet, resolveJudge } = await import('../../eval/index.js');

  for (const [flag, v] of [['--judge-mixture', opts.judgeMixture], ['--judge', opts.judge], ['--criteria', opts.criteria], ['--limit', opts.limit]] as const)
    if (v !== undefined) throw new InputError('only applies with --preferences (scoring a judge)', { field: flag });
  if (!!opts.mixture === !!opts.baseline) throw new InputError('give exactly one of --mixture <file|json> or --baseline <model>', { field: opts.mixture ? '--baseline' : '--mixture' });
  const spaceFile = opts.space ?? SIM_SPACE_FILE;
  const space = loadSpace(spaceFile);
  let mixture;
  if (opts.mixture) mixture = loadMixture(opts.mixture, space);
  else {
    mixture = singleModelMixture(opts.baseline!);
    if (!space.models.some((m) => m.id === opts.baseline)) throw new InputError(`unknown model "${opts.baseline}" (not in ${space.file})`, { field: '--baseline' });
    checkRole(space, opts.baseline!, 'single', { field: '--baseline' });
    checkMixtureAgainstSpace(mixture, space, '--baseline');
  }
  loadTemplates(mixture.prompts);
  checkMixtureKeys(mixture, space);
  const judge = resolveJudge(space);
  // Self-judging is refused, not flagged: a judge prefers its own answers, so the score would not mean what it says.
  const inline = !!opts.mixture?.trim().startsWith('{');
  checkNotSelfJudged(mixture.aggregator, judgeModelOf(judge), opts.baseline ? { field: '--baseline' } : { file: inline ? '--mixture' : opts.mixture, field: 'aggregator' });
  checkMixtureKeys(judge.mixture ?? singleModelMixture(judge.model!), space);
  let validationFile = opts.validation;
  if (!validationFile && space.validation) validationFile = resolve(dirname(resolve(space.file)), space.validation);
  if (!validationFile && !opts.space) validationFile = SIM_VALIDATION_FILE;
  if (!validationFile) throw new InputError('no validation set: pass --validation <file> or set `validation` in the space', { field: '--validation' });
  const items = loadValidationSet(validationFile);
  const dbPath = checkDbLocation(resolveDbPath(opts.db));
  const { checkBatchProviders } = await import('../../executor/index.js');
  if (opts.batch) checkBatchProviders(space, [...mixtureModels(mixture), ...(judge.mixture ? mixtureModels(judge.mixture) : [judge.model!])]);
  return { space, spaceFile, mixture, judge, items, dbPath };
}

/** The cache and ledger, wrapped in Batch API jobs with --batch. */
async function openEvalExecutor(opts: EvalOptions, input: EvalInput, beforeLine: () => void) {
  const { openExecutor, withBatching } = await import('../../executor/index.js');
  const inner = await openExecutor({ space: input.space, dbPath: input.dbPath, budgetUsd: opts.budget });
  // Said once the database is open: a PostgreSQL server that refuses us is still one line.
  if (!opts.space) process.stderr.write(`moa-search: no --space given: using the simulated world (${input.spaceFile})\n`);
  if (!opts.batch) return inner;
  const { batchProgress } = await import('../batch-progress.js');
  return withBatching(inner, { onEvent: batchProgress(process.stderr, { beforeLine }) }).catch(async (e: unknown) => {
    await inner.close();
    throw e;
  });
}

/** A live counter on a terminal; on a pipe, a line every 10 prompts (and the last). */
function evalProgress(name: string) {
  const tty = process.stderr.isTTY;
  let live = false;
  return {
    onProgress({ done, total }: { done: number; total: number }) {
      if (tty) {
        process.stderr.write(`\r  evaluating ${name}: ${done}/${total}`);
        live = true;
      } else if (done % 10 === 0 || done === total) process.stderr.write(`evaluating: ${done}/${total} prompts\n`);
    },
    endLive() {
      if (live) process.stderr.write('\n');
      live = false;
    },
  };
}

function bySourceOf(r: EvalResult) {
  const bySource: Record<string, { winRate: number; ci: [number, number]; n: number }> = {};
  for (const [s, v] of Object.entries(r.bySource)) bySource[s] = { winRate: v.winRate, ci: v.ci, n: v.n };
  return bySource;
}

function printEvalJson(r: EvalResult, shown: Shown): void {
  const out = {
    score: r.score,
    ci: r.ci,
    bySource: bySourceOf(r),
    lc: r.lc ?? null,
    costPerQuery: r.costPerQuery,
    tflopsPerQuery: num(r.tflopsPerQuery),
    latencyProxyPerQuery: num(r.latencyProxyPerQuery),
    spent: r.spent.total,
    spentByAccount: { mixture: r.spent.mixture, judge: r.spent.judge },
    calls: r.calls,
    failures: r.failures,
    n: shown.n,
    mixture: shown.name,
    judge: shown.judge.mixture ? 'mixture' : shown.judge.model,
    ...(shown.batchStats ? { batch: shown.batchStats } : {}),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

async function printEvalTable(r: EvalResult, shown: Shown): Promise<void> {
  const f1 = (x: number) => x.toFixed(1);
  const ci = (c: [number, number]) => `[${f1(c[0])}, ${f1(c[1])}]`;
  const rows: string[][] = [['score', f1(r.score), ci(r.ci), `n=${shown.n}`]];
  for (const [s, v] of Object.entries(bySourceOf(r))) rows.push([`  ${s}`, f1(v.winRate), ci(v.ci), `n=${v.n}`]);
  if (r.lc !== undefined) rows.push(['LC win rate', f1(r.lc), '', '(alpaca_eval prompts)']);
  const w = rows.reduce((a, row) => row.map((c, i) => Math.max(a[i] ?? 0, c.length)), [] as number[]);
  const { judge } = shown;
  const lines = [
    `mixture   ${shown.name}`,
    `judge     ${judge.mixture ? `mixture (aggregator ${judge.mixture.aggregator})` : judge.model}`,
    `scores    win rate vs. the references, 0–100, with 95% bootstrap CIs; score = mean of per-source win rates`,
    ...rows.map((row) => '  ' + row.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')),
    `cost      $${r.costPerQuery.toFixed(5)} per query, ${Number.isFinite(r.tflopsPerQuery) ? r.tflopsPerQuery.toFixed(2) : 'unknown'} TFLOPs per query`,
    `spent     $${r.spent.total.toFixed(4)} (mixture $${r.spent.mixture.toFixed(4)}, judge $${r.spent.judge.toFixed(4)}); calls: ${r.calls.made} made, ${r.calls.cached} cached`,
    `failures  generation ${r.failures.generation}, judge unparsed ${r.failures.judgeUnparsed}, truncated ${r.failures.truncated}`,
  ];
  if (shown.batchStats) {
    const { batchSummary } = await import('../batch-progress.js');
    lines.push(`batch     ${batchSummary(shown.batchStats)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
