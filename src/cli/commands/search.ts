import { Option, type Command } from 'commander';
import { action, numberArg } from '../_run.js';

/** `moa-search --budget <usd>` (the default command) and `moa-search search …`. */
export function registerSearch(program: Command): void {
  program
    .command('search', { isDefault: true })
    .description('search for the best Mixture-of-Agents within a budget (the default command)')
    .option('--budget <usd>', 'USD the whole search may spend (proposer, aggregator and judge calls; cached calls are free)', numberArg({ positive: true }))
    .option('--space <file>', 'search-space file (default: the simulated world, search-spaces/sim.yaml)')
    .option('--validation <file>', 'validation set (JSONL); default: the space\'s `validation`, or sim-100 for the simulated world')
    .addOption(new Option('--objective <name>', 'what to optimize: quality (the best mixture\'s win rate, default), pareto (the whole quality-vs-cost front) or judge (a judging mixture\'s agreement with --preferences)').choices(['quality', 'pareto', 'judge']))
    .option('--preferences <file>', 'reference preferences for --objective judge: JSONL {prompt, output_1, output_2, preference} or AlpacaEval annotations')
    .option('--prompts <n>', 'use a stratified subset of n validation prompts (default: all; the strategy chooses how many each measurement uses)', numberArg({ integer: true, positive: true }))
    .option('--study <name>', 'study name (default: generated and printed)')
    .option('--resume', 'continue the study named by --study (no paid call is repeated); it keeps its own settings, and only --budget and --max-evals may change')
    .option('--warm-start <studies>', 'start from the compatible observations of earlier studies (comma-separated names) in the same database, at no cost; the new study takes their prompt order')
    .option('--max-evals <n>', 'at most this many search measurements (screens, promotions, replicates; references not counted)', numberArg({ integer: true, positive: true }))
    // No commander defaults for what a study stores: on --resume, a flag left out must be told apart from one given.
    .addOption(new Option('--strategy <name>', 'search strategy: bfgs (multi-fidelity, the default) or a baseline').choices(['bfgs', 'random', 'greedy', 'archon', 'exhaustive']))
    .addOption(new Option('--inner-optimizer <name>', 'how bfgs maximizes the acquisition: bfgs (analytic gradients) or nelder-mead (fmin) (default: bfgs)').choices(['bfgs', 'nelder-mead']))
    .option('--max-cost <usd>', 'deployment cap: USD per 1,000 queries of the answer (measured); the search proposes mixtures projected within it (default: the space\'s search.maxCost)', numberArg({ positive: true }))
    .option('--max-latency <tflops>', 'deployment cap: TFLOPs per query on the critical path (latency proxy) (default: the space\'s search.maxLatency)', numberArg({ positive: true }))
    .option('--seed <n>', 'seed of the strategy\'s randomness (default: 0)', numberArg({ integer: true, min: 0 }))
    .option('--concurrency <n>', 'validation prompts evaluated at once', numberArg({ integer: true, positive: true, max: 256 }), 4)
    .option('--workers <n>', 'run the study with n local worker processes sharing its budget, cache and leases (more can join: moa-search worker --study <name>)', numberArg({ integer: true, positive: true, max: 64 }))
    .option('--db <file|url>', 'database for the cache, the spend ledger and studies: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-report', 'do not write the report at the end')
    .option('--out <dir>', 'report directory (default: <folder of the database>/<study>/)')
    .action(
      action(async (opts: Record<string, unknown>) => {
        const { searchCommand } = await import('../search-command.js');
        await searchCommand(opts);
      }),
    );
}
