import type { Command } from 'commander';
import { action } from '../_run.js';

interface AskOptions {
  space?: string;
  mixture: string;
  db?: string;
  system?: string;
  json?: boolean;
  budget?: string;
}

export function registerAsk(program: Command): void {
  program
    .command('ask')
    .description('Run a mixture on one prompt: stream the answer to stdout, a cost summary to stderr.')
    .argument('<prompt>', 'the user prompt, or - to read it from stdin')
    .option('--space <file>', 'search-space file (default: the simulated world)')
    .requiredOption('--mixture <file|json>', 'mixture file, or inline JSON such as \'{"layers":2,"proposers":{"A":2},"aggregator":"A"}\'')
    .option('--db <file|url>', 'cache database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--system <text>', 'a system message for the conversation')
    .option('--json', 'print {answer, trace, cost} as JSON instead of streaming')
    .option('--budget <usd>', 'refuse uncached calls that could push spend past this many USD')
    .action(action((prompt: string, opts: AskOptions) => runAsk(prompt, opts)));
}

async function readStdin(): Promise<string> {
  let s = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) s += chunk;
  return s;
}

async function runAsk(promptArg: string, opts: AskOptions): Promise<void> {
  const { space, spaceFile, mixture, templates, messages, dbPath, budgetUsd } = await checkAskInput(promptArg, opts);
  const { mixtureName } = await import('../../config/index.js');
  const { runMixture, runTotals } = await import('../../moa/index.js');
  const { openExecutor } = await import('../../executor/index.js');
  const executor = await openExecutor({ space, dbPath, budgetUsd });
  if (!opts.space) process.stderr.write(`moa-search: no --space given: using the simulated world (${spaceFile})\n`);
  let wroteAny = false;
  let lastChar = '';
  try {
    const run = await runMixture(mixture, messages, {
      executor,
      generation: space.generation,
      templates,
      onToken: opts.json
        ? undefined
        : (d) => {
            if (!d) return;
            wroteAny = true;
            lastChar = d[d.length - 1]!;
            process.stdout.write(d);
          },
    });
    const t = runTotals(run.calls);
    if (opts.json) {
      const cost = {
        usd: t.costUsd,
        promptTokens: t.promptTokens,
        completionTokens: t.completionTokens,
        calls: { total: t.calls, made: t.made, cached: t.cached, failed: t.failed },
        wallMs: run.wallMs,
      };
      process.stdout.write(JSON.stringify({ answer: run.text, mixture: mixtureName(mixture, space), finishReason: run.finishReason, trace: run.calls, cost }, null, 2) + '\n');
    } else if (wroteAny && lastChar !== '\n') process.stdout.write('\n');
    const failed = t.failed ? `, ${t.failed} failed` : '';
    process.stderr.write(
      `moa-search: ${t.made} calls made / ${t.cached} cached${failed}, ${t.promptTokens + t.completionTokens} tokens ` +
        `(${t.promptTokens} in, ${t.completionTokens} out), $${t.costUsd.toFixed(6)}\n`,
    );
  } catch (e) {
    // A half-streamed answer must not leave the error line glued to it.
    if (wroteAny && lastChar !== '\n') process.stdout.write('\n');
    throw e;
  } finally {
    await executor.close();
  }
}

/** Everything is validated before the database is opened: bad input writes nothing. */
async function checkAskInput(promptArg: string, opts: AskOptions) {
  // Loaded here so `moa-search --help` never pulls in SQLite or the OpenAI SDK.
  const { InputError, loadSpace, loadMixture, findModel } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, resolveDbPath } = await import('../../paths.js');
  const { checkDbLocation } = await import('../../executor/db-location.js');
  const { loadTemplates, checkMixtureKeys, mixtureModels } = await import('../../moa/index.js');
  let budgetUsd: number | undefined;
  if (opts.budget !== undefined) {
    budgetUsd = Number(opts.budget);
    if (opts.budget.trim() === '' || !Number.isFinite(budgetUsd) || budgetUsd < 0)
      throw new InputError(`must be a non-negative number of USD, got "${opts.budget}"`, { field: '--budget' });
  }
  const prompt = promptArg === '-' ? await readStdin() : promptArg;
  if (!prompt.trim()) throw new InputError(promptArg === '-' ? 'stdin held no prompt' : 'the prompt is empty', { field: 'prompt' });

  const spaceFile = opts.space ?? SIM_SPACE_FILE;
  const space = loadSpace(spaceFile);
  const mixture = loadMixture(opts.mixture, space);
  const templates = loadTemplates(mixture.prompts);
  checkMixtureKeys(mixture, space);
  const dbPath = checkDbLocation(resolveDbPath(opts.db));
  const messages = [
    ...(opts.system !== undefined ? [{ role: 'system' as const, content: opts.system }] : []),
    { role: 'user' as const, content: prompt },
  ];
  const { contextOverflow } = await import('../../executor/index.js');
  // Every model of a mixture reads the prompt (aggregators read it with the answers): one that cannot is refused now.
  for (const id of mixtureModels(mixture)) {
    const over = contextOverflow(findModel(space, id)!, messages, space.generation.maxTokens);
    if (over)
      throw new InputError(
        `the prompt (${over.promptTokens}+ tokens) cannot fit the context window of ${id} (${over.contextWindow} tokens, ${over.maxTokens} of them kept for the answer by generation.maxTokens)`,
        { field: promptArg === '-' ? 'prompt (stdin)' : 'prompt' },
      );
  }
  return { space, spaceFile, mixture, templates, messages, dbPath, budgetUsd };
}
