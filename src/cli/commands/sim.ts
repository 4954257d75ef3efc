import type { Command } from 'commander';
import { action, numberArg } from '../_run.js';

interface ServeOptions {
  port: number;
  host: string;
  latencyMs: number;
  failRate: number;
  seed: number;
  batchDelayMs: number;
}

interface TruthOptions {
  space?: string;
  mixture?: string;
  validation?: string;
  judge?: string;
  json?: boolean;
}

interface PreferencesOptions {
  space?: string;
  validation?: string;
  out: string;
  pairs?: number;
  models?: string;
  seed: number;
}

export function registerSim(program: Command): void {
  const sim = program.command('sim').description('The simulated LLM world: serve it over HTTP, or compute a mixture\'s ground-truth score.');
  sim
    .command('serve')
    .description('Serve the simulated models as an OpenAI-compatible endpoint; prints its base URL and runs until SIGINT/SIGTERM.')
    .option('--port <n>', 'port (0 = any free port)', numberArg({ integer: true, min: 0, max: 65535 }), 0)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--latency-ms <n>', 'delay every response by this many ms', numberArg({ min: 0 }), 0)
    .option('--fail-rate <p>', 'fraction of requests answered 429 or 500 (deterministic)', numberArg({ min: 0, max: 1 }), 0)
    .option('--seed <n>', 'world seed', numberArg({ integer: true }), 0)
    .option('--batch-delay-ms <n>', 'how long each Batch API job (/v1/batches) stays in progress', numberArg({ min: 0 }), 0)
    .action(action((opts: ServeOptions) => serve(opts)));
  sim
    .command('truth')
    .description('Expected score of a mixture on a validation set in the simulated world (exact; no calls, no cost).')
    .option('--space <file>', 'search-space file with sim models (default: search-spaces/sim.yaml)')
    .requiredOption('--mixture <file|json>', 'mixture file, or inline JSON')
    .option('--validation <file>', 'validation set, JSONL (default: the space\'s `validation`, else sim-100)')
    .option('--judge <model>', 'judge model id (default: the space\'s judge)')
    .option('--json', 'print {score, bySource, prompts} as JSON')
    .action(action((opts: TruthOptions) => truth(opts)));
  sim
    .command('preferences')
    .description('Write a reference-preference set whose preferences are the simulated world\'s truth (for scoring judges: `eval --preferences`).')
    .requiredOption('--out <jsonl>', 'output file: JSONL {id, source, prompt, output_1, output_2, preference}')
    .option('--space <file>', 'search-space file with sim models (default: search-spaces/sim.yaml)')
    .option('--validation <file>', 'prompts to pair answers for (default: the space\'s `validation`, else sim-100)')
    .option('--pairs <n>', 'number of pairs (default: two per prompt)', numberArg({ integer: true, min: 1 }))
    .option('--models <ids>', 'comma-separated space ids whose answers are paired (default: every proposer and policy model)')
    .option('--seed <n>', 'which pairs are drawn', numberArg({ integer: true }), 0)
    .action(action((opts: PreferencesOptions) => preferences(opts)));
}

async function preferences(opts: PreferencesOptions): Promise<void> {
  const { dirname, resolve } = await import('node:path');
  const { InputError, loadSpace, findModel } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, SIM_VALIDATION_FILE } = await import('../../paths.js');
  const { loadValidationSet, formatPreferences } = await import('../../eval/index.js');
  const { checkOutputPath, writeFileAtomic } = await import('../../generate/index.js');
  const { simPreferenceSet } = await import('../../sim/index.js');

  const space = loadSpace(opts.space ?? SIM_SPACE_FILE);
  const models = opts.models?.split(',').map((m) => m.trim()).filter(Boolean);
  for (const id of models ?? []) {
    const m = findModel(space, id);
    if (!m) throw new InputError(`unknown model "${id}" (not in ${space.file})`, { field: '--models' });
    if (space.providers[m.provider]?.kind !== 'sim') throw new InputError(`model "${id}" is not simulated (provider "${m.provider}" is not kind: sim)`, { field: '--models' });
  }
  const validation = opts.validation ?? (space.validation ? resolve(dirname(space.file), space.validation) : SIM_VALIDATION_FILE);
  const items = loadValidationSet(validation);
  const out = checkOutputPath(opts.out, '--out');
  const set = simPreferenceSet({ space, prompts: items, pairs: opts.pairs, models, seed: opts.seed });
  if (!set.length) throw new InputError('no pair of answers with different true quality could be drawn', { field: '--models' });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dirname(out), { recursive: true });
  writeFileAtomic(out, (put) => put(formatPreferences(set)));
  const second = set.filter((x) => x.preference === 1).length;
  process.stderr.write(`wrote ${set.length} pairs to ${out} (output_2 truly better in ${second}, output_1 in ${set.length - second})\n`);
}

async function serve(opts: ServeOptions): Promise<void> {
  const { startSimServer } = await import('../../sim/index.js');
  const server = await startSimServer({ port: opts.port, host: opts.host, latencyMs: opts.latencyMs, failRate: opts.failRate, worldSeed: opts.seed, batchDelayMs: opts.batchDelayMs });
  process.stdout.write(`${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function truth(opts: TruthOptions): Promise<void> {
  const { dirname, resolve } = await import('node:path');
  const { InputError, loadSpace, loadMixture, findModel, checkRole } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, SIM_VALIDATION_FILE } = await import('../../paths.js');
  const { loadValidationSet } = await import('../../eval/validation-set.js');
  const { simTruth, SimTruthError } = await import('../../sim/index.js');

  const space = loadSpace(opts.space ?? SIM_SPACE_FILE);
  const mixture = loadMixture(opts.mixture!, space);
  if (opts.judge && !findModel(space, opts.judge)) throw new InputError(`unknown model "${opts.judge}" (not in ${space.file})`, { field: '--judge' });
  if (opts.judge) checkRole(space, opts.judge, 'judge', { field: '--judge' });
  const validation = opts.validation ?? (space.validation ? resolve(dirname(space.file), space.validation) : SIM_VALIDATION_FILE);
  const items = loadValidationSet(validation);
  let r;
  try {
    r = simTruth({ space, mixture, items, judge: opts.judge });
  } catch (e) {
    // A space or mixture the simulated world cannot score is bad input, not a runtime failure.
    if (e instanceof SimTruthError) throw new InputError(e.message, { file: space.file });
    throw e;
  }
  if (opts.json) {
    process.stdout.write(JSON.stringify({ score: r.score, bySource: r.bySource, prompts: items.length }) + '\n');
    return;
  }
  const parts = Object.entries(r.bySource).map(([s, v]) => `${s} ${v.toFixed(2)}`);
  process.stdout.write(`expected score ${r.score.toFixed(2)} (${parts.join(', ')}) on ${items.length} prompts\n`);
}
