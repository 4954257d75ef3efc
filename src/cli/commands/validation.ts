import type { Command } from 'commander';
import type { ValidationItem } from '../../eval/types.js';
import { action, numberArg } from '../_run.js';

interface BuildOptions {
  alpacaEval?: string;
  arenaHardQuestions?: string;
  arenaHardBaseline?: string;
  perSource?: number;
  seed?: number;
  out?: string;
  manifest?: string;
  prompts?: string;
  baselineModel?: string;
  space?: string;
  db?: string;
  concurrency: number;
  budget?: number;
}

export function registerValidation(program: Command): void {
  const cmd = program.command('validation').description('Build and check validation sets (JSONL: {id, source, prompt, reference, category?}).');
  cmd
    .command('build')
    .description(
      'Build a validation set: sample AlpacaEval 2.0 / Arena-Hard prompts with their reference answers (writes the set and a manifest beside it), ' +
        'rebuild one from a manifest, or write references for your own prompts with a baseline model.',
    )
    .option('--alpaca-eval <file>', "AlpacaEval reference outputs (e.g. results/gpt4_1106_preview/model_outputs.json)")
    .option('--arena-hard-questions <file>', 'Arena-Hard question.jsonl (2024 or 2025 format)')
    .option('--arena-hard-baseline <file>', 'Arena-Hard baseline answers (e.g. model_answer/gpt-4-0314.jsonl, either format)')
    .option('--per-source <n>', 'prompts sampled per source (default 50)', numberArg({ integer: true, min: 1 }))
    .option('--seed <n>', 'sampling seed (default 0)', numberArg({ integer: true, min: 0 }))
    .option('--manifest <file>', 'rebuild exactly the set this manifest describes (verifies the input files)')
    .option('--prompts <file>', 'your own prompts, JSONL {id?, prompt, source?, category?}: references come from --baseline-model')
    .option('--baseline-model <id>', 'with --prompts: the model (from --space) whose answers become the references')
    .option('--space <file>', 'with --prompts: search-space file (default: the simulated world)')
    .option('--db <file|url>', 'with --prompts: cache database, a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--concurrency <n>', 'with --prompts: references generated at once', numberArg({ integer: true, min: 1, max: 256 }), 4)
    .option('--budget <usd>', 'with --prompts: refuse uncached calls past this many USD', numberArg({ min: 0 }))
    .option('--out <file>', 'where to write the set (the manifest goes beside it as <name>.manifest.json)')
    .action(action((opts: BuildOptions) => runBuild(opts)));
  cmd
    .command('check')
    .description('Validate a validation set and print its size per source.')
    .argument('<file>', 'validation set (JSONL)')
    .action(
      action(async (file: string) => {
        const { loadValidationSet } = await import('../../eval/index.js');
        const items = loadValidationSet(file);
        const by = new Map<string, number>();
        for (const it of items) by.set(it.source, (by.get(it.source) ?? 0) + 1);
        process.stdout.write(`${file}: ${items.length} prompts (${[...by].map(([s, n]) => `${s} ${n}`).join(', ')})\n`);
      }),
    );
}

async function runBuild(opts: BuildOptions): Promise<void> {
  const { InputError } = await import('../../config/index.js');
  const fromFiles = !!(opts.alpacaEval || opts.arenaHardQuestions || opts.arenaHardBaseline);
  if (opts.prompts && (fromFiles || opts.manifest)) throw new InputError('--prompts builds from your own prompts: do not combine it with --alpaca-eval / --arena-hard-* / --manifest', { field: '--prompts' });
  if (!opts.prompts && (opts.baselineModel || opts.space)) throw new InputError('--baseline-model and --space go with --prompts', { field: opts.baselineModel ? '--baseline-model' : '--space' });
  if (!opts.prompts && !fromFiles) throw new InputError('nothing to build from: give --alpaca-eval and/or --arena-hard-questions with --arena-hard-baseline, or --prompts', { field: '--alpaca-eval' });
  if (opts.prompts) return buildFromOwnPrompts(opts, opts.prompts);
  if (opts.manifest) return rebuildFromManifest(opts, opts.manifest);
  if (!opts.out) throw new InputError('give --out <file.jsonl>', { field: '--out' });
  const ev = await import('../../eval/index.js');
  await checkOut(opts.out);
  const sources = { alpacaEval: opts.alpacaEval, arenaHardQuestions: opts.arenaHardQuestions, arenaHardBaseline: opts.arenaHardBaseline };
  await writeSet(opts.out, ev.buildValidationSet({ ...sources, perSource: opts.perSource ?? 50, seed: opts.seed ?? 0 }));
}

/** The set and its manifest can be written: checked before any input is read or any reference paid for. */
async function checkOut(file: string, skipManifestAt?: string): Promise<void> {
  const { resolve } = await import('node:path');
  const { checkOutputFile } = await import('../../config/index.js');
  const { manifestPathFor } = await import('../../eval/index.js');
  checkOutputFile(file, '--out');
  const manifestFile = manifestPathFor(resolve(file));
  if (manifestFile !== skipManifestAt) checkOutputFile(manifestFile, '--out');
}

async function writeSet(out: string, built: { items: ValidationItem[]; manifest: unknown }, skipManifestAt?: string): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const { dirname, resolve } = await import('node:path');
  const { ensureDir } = await import('../../config/index.js');
  const { formatValidationSet, manifestPathFor } = await import('../../eval/index.js');
  const file = resolve(out);
  const manifestFile = manifestPathFor(file);
  ensureDir(dirname(file), '--out');
  writeFileSync(file, formatValidationSet(built.items));
  // Never overwrite the manifest a rebuild was made from (it may describe the other Arena-Hard format's files).
  if (manifestFile !== skipManifestAt) writeFileSync(manifestFile, JSON.stringify(built.manifest, null, 2) + '\n');
  const by = new Map<string, number>();
  for (const it of built.items) by.set(it.source, (by.get(it.source) ?? 0) + 1);
  process.stderr.write(
    `wrote ${built.items.length} prompts (${[...by].map(([s, n]) => `${s} ${n}`).join(', ')}) to ${out}` +
      (manifestFile !== skipManifestAt ? `; manifest ${manifestFile}` : '') +
      '\n',
  );
}

/** --prompts: references written by --baseline-model through the caching executor. */
async function buildFromOwnPrompts(opts: BuildOptions, prompts: string): Promise<void> {
  const { InputError, loadSpace, singleModelMixture, checkRole } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, resolveDbPath } = await import('../../paths.js');
  const { checkDbLocation } = await import('../../executor/db-location.js');
  const { checkMixtureKeys } = await import('../../moa/index.js');
  const ev = await import('../../eval/index.js');
  if (!opts.baselineModel) throw new InputError('--prompts needs --baseline-model <id> to write the references', { field: '--baseline-model' });
  if (!opts.out) throw new InputError('give --out <file.jsonl>', { field: '--out' });
  await checkOut(opts.out);
  const space = loadSpace(opts.space ?? SIM_SPACE_FILE);
  ev.checkBaselineModel(space, opts.baselineModel);
  checkRole(space, opts.baselineModel, 'single', { field: '--baseline-model' });
  checkMixtureKeys(singleModelMixture(opts.baselineModel), space);
  ev.loadPromptsFile(prompts); // validated before the database is opened
  const dbPath = checkDbLocation(resolveDbPath(opts.db));
  const { openExecutor } = await import('../../executor/index.js');
  const executor = await openExecutor({ space, dbPath, budgetUsd: opts.budget });
  if (!opts.space) process.stderr.write(`moa-search: no --space given: using the simulated world (${space.file})\n`);
  try {
    const built = await ev.buildFromPrompts({
      promptsFile: prompts,
      baselineModel: opts.baselineModel,
      space,
      executor,
      concurrency: opts.concurrency,
      onProgress: (done, total) => {
        if (done % 10 === 0 || done === total) process.stderr.write(`references: ${done}/${total}\n`);
      },
    });
    await writeSet(opts.out, built);
  } finally {
    await executor.close();
  }
}

/** --manifest: the same set again from the source files (its sampler settings may not be changed). */
async function rebuildFromManifest(opts: BuildOptions, manifestArg: string): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { resolve } = await import('node:path');
  const { InputError } = await import('../../config/index.js');
  const ev = await import('../../eval/index.js');
  const mfile = resolve(manifestArg);
  let text: string;
  try {
    text = readFileSync(mfile, 'utf8');
  } catch {
    throw new InputError('manifest not found', { file: manifestArg });
  }
  const manifest = ev.parseManifest(text, manifestArg);
  if (opts.perSource !== undefined && opts.perSource !== manifest.perSource)
    throw new InputError(`the manifest was built with ${manifest.perSource} per source; drop --per-source`, { field: '--per-source' });
  if (opts.seed !== undefined && opts.seed !== manifest.seed) throw new InputError(`the manifest was built with seed ${manifest.seed}; drop --seed`, { field: '--seed' });
  const out = opts.out ?? mfile.replace(/\.manifest\.json$/i, '') + '.jsonl';
  await checkOut(out, mfile);
  const sources = { alpacaEval: opts.alpacaEval, arenaHardQuestions: opts.arenaHardQuestions, arenaHardBaseline: opts.arenaHardBaseline };
  const built = ev.rebuildFromManifest(manifest, sources, manifestArg);
  if (built.verifiedByContent.length)
    process.stderr.write(`note: ${built.verifiedByContent.join(', ')} differ from the manifest's files (another format or release) but give the same prompts and references\n`);
  await writeSet(out, built, mfile);
}
