import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import type { BatchStats } from '../../executor/batch/types.js';
import { action, numberArg } from '../_run.js';

interface CommonOptions {
  space?: string;
  prompts: string;
  out: string;
  db?: string;
  budget?: number;
  concurrency?: number;
  limit?: number;
  json?: boolean;
  batch?: boolean;
}

interface SftOptions extends CommonOptions {
  mixture: string;
}

interface DpoOptions extends CommonOptions {
  policy: string;
  samples: number;
  judgeMixture?: string;
  criteria?: boolean;
  minMargin: number;
  temperature?: number;
}

function common(c: Command): Command {
  return c
    .requiredOption('--prompts <jsonl>', 'prompts, one JSON object a line: {"prompt": "...", "system"?: "..."} or {"messages": [...]}, optional "id"')
    .requiredOption('--out <jsonl>', 'output file; its manifest goes to <out>.manifest.json, unfinished work to <out>.partial')
    .option('--space <file>', 'search-space file (default: the simulated world)')
    .option('--db <file|url>', 'cache database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--budget <usd>', 'spend at most this many USD on uncached calls, then stop (the same command continues later)', numberArg({ min: 0 }))
    .option('--concurrency <n>', 'prompts in flight at once (default 8; with --batch, all of them); the providers\' own limits still apply', numberArg({ integer: true, min: 1 }))
    .option('--limit <n>', 'only the first n prompts of the file', numberArg({ integer: true, min: 1 }))
    .option('--batch', 'send uncached requests as provider Batch API jobs, layer by layer (every provider used needs `batch:` in the space): about half the price, answers in minutes to hours; a killed run re-attaches to its jobs')
    .option('--json', 'print the manifest (and where the files are) as JSON');
}

export function registerGenerate(program: Command): void {
  const gen = program
    .command('generate')
    .description('Generate alignment data with a mixture (MoAA): SFT examples, or DPO pairs ranked by a MoA reward model.');
  common(
    gen
      .command('sft')
      .description('Run a mixture on every prompt and write chat-format fine-tuning examples ({"messages": [...]}) and a manifest. Resumable.')
      .requiredOption('--mixture <file|json>', 'the mixture that answers (e.g. a search\'s best.json)'),
  ).action(action((opts: SftOptions) => runSftCommand(opts)));
  common(
    gen
      .command('dpo')
      .description('Sample k answers per prompt from a policy model, rank them with a reward model, write {prompt, chosen, rejected} pairs. Resumable.')
      .requiredOption('--policy <model>', 'the model being trained (a space model with the policy role)')
      .option('--samples <k>', 'answers sampled per prompt (k(k-1)/2 comparisons each)', numberArg({ integer: true, min: 2, max: 16 }), 5)
      .option('--judge-mixture <file|json>', 'the reward model: a mixture of judges (proposers judge the pair, the aggregator decides); default: the space\'s judge')
      .option('--criteria', 'the reward model first lists the criteria that matter for each prompt, then judges by them')
      .option('--min-margin <x>', 'leave out pairs whose score margin (0-1) is below x; pairs with no preference at all are always left out', numberArg({ min: 0, max: 1 }), 0)
      .option('--temperature <t>', 'policy sampling temperature (default: the space\'s; MoAA used 0.8)', numberArg({ min: 0, max: 2 })),
  ).action(action((opts: DpoOptions) => runDpoCommand(opts)));
}

/** Space, prompts, the database location and the simulated-world note: what both commands load first. */
async function loadCommon(opts: CommonOptions) {
  const { loadSpace } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, resolveDbPath } = await import('../../paths.js');
  const { checkDbLocation } = await import('../../executor/db-location.js');
  const { loadPrompts } = await import('../../generate/index.js');
  const space = loadSpace(opts.space ?? SIM_SPACE_FILE);
  const prompts = loadPrompts(opts.prompts);
  const dbPath = checkDbLocation(resolveDbPath(opts.db));
  return { space, prompts, dbPath, simulated: !opts.space };
}

async function runSftCommand(opts: SftOptions): Promise<void> {
  const { loadMixture } = await import('../../config/index.js');
  const { checkMixtureKeys, loadTemplates, mixtureModels } = await import('../../moa/index.js');
  const { prepareSft, runSft } = await import('../../generate/index.js');
  // Everything is validated before the database is opened: bad input writes and spends nothing.
  const { space, prompts, dbPath, simulated } = await loadCommon(opts);
  const mixture = loadMixture(opts.mixture, space);
  loadTemplates(mixture.prompts);
  checkMixtureKeys(mixture, space);
  const job = prepareSft({ space, mixture, mixtureSource: opts.mixture, prompts, out: opts.out, limit: opts.limit });
  await execute(opts, { job, dbPath, simulated, kind: 'sft', space, models: mixtureModels(mixture) }, (ctx) => runSft(job, { space, mixture, ...ctx }));
}

async function runDpoCommand(opts: DpoOptions): Promise<void> {
  const { loadMixture, singleModelMixture } = await import('../../config/index.js');
  const { checkMixtureKeys, mixtureModels } = await import('../../moa/index.js');
  const { prepareDpo, runDpo } = await import('../../generate/index.js');
  const { resolveJudge, requireRole, rewardModelSettings } = await import('../../eval/judges/index.js');
  const { space, prompts, dbPath, simulated } = await loadCommon(opts);
  requireRole(space, opts.policy, 'policy', '--policy');
  const judgeMixture = opts.judgeMixture !== undefined ? loadMixture(opts.judgeMixture, space, 'judge', '--judge-mixture') : undefined;
  const judge = rewardModelSettings(space, { judgeMixture, criteria: opts.criteria });
  const resolved = resolveJudge(space, judge);
  checkMixtureKeys(singleModelMixture(opts.policy), space);
  checkMixtureKeys(resolved.mixture ?? singleModelMixture(resolved.model!), space);
  const settings = { space, policy: opts.policy, samples: opts.samples, temperature: opts.temperature, judge, minMargin: opts.minMargin };
  const job = prepareDpo({ ...settings, prompts, out: opts.out, limit: opts.limit });
  const models = [opts.policy, ...(resolved.mixture ? mixtureModels(resolved.mixture) : [resolved.model!])];
  await execute(opts, { job, dbPath, simulated, kind: 'dpo', space, models }, (ctx) => runDpo(job, { ...settings, ...ctx }));
}

type Runner = (ctx: import('../../generate/index.js').RunContext) => Promise<import('../../generate/index.js').JobResult>;

/** A validated job and what `execute` needs to know about it. */
interface Execution {
  job: import('../../generate/index.js').PreparedJob;
  /** The checked `--db` (file path or URL). */
  dbPath: string;
  simulated: boolean;
  kind: 'sft' | 'dpo';
  space: import('../../config/space.js').SearchSpace;
  /** Every model the run may call (for the --batch check). */
  models: string[];
}

/**
 * Open the executor (behind the batch stage with --batch), run with progress and Ctrl-C handling, then report.
 * Shared by sft and dpo.
 */
async function execute(opts: CommonOptions, x: Execution, run: Runner): Promise<void> {
  const { checkBatchProviders, openExecutor, withBatching } = await import('../../executor/index.js');
  const { GenerateProgress } = await import('../generate-progress.js');
  const { batchProgress, batchSummary } = await import('../batch-progress.js');
  if (opts.batch) checkBatchProviders(x.space, x.models);
  const { job } = x;
  const err = process.stderr;
  const view = new GenerateProgress(err, `generate ${x.kind}`);
  const inner = await openExecutor({ space: x.space, dbPath: x.dbPath, budgetUsd: opts.budget });
  // Said once the database is open: a PostgreSQL server that refuses us is still one line.
  if (x.simulated) err.write(`moa-search: no --space given: using the simulated world (${x.space.file})\n`);
  if (job.journal.count) err.write(`moa-search: resuming: ${job.journal.count} prompts already done in ${job.journal.path}\n`);
  const batched = opts.batch ? await withBatching(inner, { onEvent: batchProgress(err, { beforeLine: () => view.done() }) }) : undefined;
  const executor = batched ?? inner;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    const jobs = batched ? '; submitted batch jobs run on, and the same command re-attaches to them' : '';
    err.write(`\ninterrupting: the prompts in flight are abandoned, the finished ones kept${jobs}; run the same command to resume (Ctrl-C again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result;
  try {
    result = await run({
      executor,
      // Batched, every prompt is in flight, so each stage holds all prompts' calls of one layer.
      concurrency: opts.concurrency ?? (batched ? Math.max(1, job.prompts.length) : 8),
      signal: controller.signal,
      onProgress: view.handle,
      batchStats: batched && (() => batched.batchStats()),
    });
  } finally {
    view.done();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await executor.close();
  }
  const stats = batched?.batchStats();
  report(opts, x.kind, result, stats && { stats, line: batchSummary(stats) });
}

/** What the batch stage did this run: the stats (for --json) and their summary line. */
interface BatchReport {
  stats: BatchStats;
  line: string;
}

function report(opts: CommonOptions, kind: 'sft' | 'dpo', r: import('../../generate/index.js').JobResult, batch?: BatchReport): void {
  const err = process.stderr;
  const { run, output } = r;
  if (run.stopped === 'interrupted' || !output) {
    err.write(`moa-search: interrupted after ${run.resumed + run.ran} prompts; the work so far is in ${r.journalPath}: run the same command to resume\n`);
    process.exitCode = 130;
    return;
  }
  if (opts.json) process.stdout.write(JSON.stringify({ out: r.outPath, manifestFile: r.manifestPath, ...(r.complete ? {} : { partial: r.journalPath }), ...(batch ? { batch: batch.stats } : {}), manifest: r.manifest }) + '\n');
  else process.stdout.write(summary(kind, r, batch));
  if (run.stopped === 'budget')
    err.write(`moa-search: budget reached: ${output.remaining} of ${output.remaining + output.written + Object.values(output.dropped).reduce((a, b) => a + b, 0)} prompts not done yet; run the same command (its --budget is spent anew) to continue\n`);
  else if (run.failed) {
    err.write(`moa-search: error: ${run.failed} prompts failed after retries (first: ${run.firstFailure}); the output holds the rest: run the same command to retry them\n`);
    process.exitCode = 1;
  }
}

function summary(kind: 'sft' | 'dpo', r: import('../../generate/index.js').JobResult, batch?: BatchReport): string {
  const o = r.output!;
  const m = r.manifest as { dollars: { dataset: number; paid: number; thisRun: number }; tokens: { prompt: number; completion: number }; calls: { total: number; cached: number } };
  const dropped = Object.entries(o.dropped).map(([k, n]) => `${n} ${k === 'margin' ? 'below the margin' : k}`);
  const what = kind === 'sft' ? 'SFT examples' : 'DPO pairs';
  return [
    `wrote ${o.written} ${what} to ${r.outPath}${r.complete ? '' : ' (incomplete)'}`,
    `manifest  ${r.manifestPath}`,
    `prompts   ${o.written + Object.values(o.dropped).reduce((a, b) => a + b, 0)} done${dropped.length ? ` (left out: ${dropped.join(', ')})` : ''}${o.remaining ? `, ${o.remaining} not done` : ''}`,
    `dollars   $${m.dollars.dataset.toFixed(4)} at list prices for the whole set; paid $${m.dollars.paid.toFixed(4)} (this run $${m.dollars.thisRun.toFixed(4)})`,
    `tokens    ${m.tokens.prompt} prompt + ${m.tokens.completion} completion`,
    `calls     ${m.calls.total} (${m.calls.cached} from the cache)`,
    ...(batch ? [`batch     ${batch.line}`] : []),
    '',
  ].join('\n');
}
