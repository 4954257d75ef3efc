import { Command, CommanderError, Help, Option } from 'commander';
import { registerSearch } from './commands/search.js';
import { registerAsk } from './commands/ask.js';
import { registerCache } from './commands/cache.js';
import { registerSim } from './commands/sim.js';
import { registerEval } from './commands/eval.js';
import { registerValidation } from './commands/validation.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerPareto } from './commands/pareto.js';
import { registerDiff } from './commands/diff.js';
import { registerModels } from './commands/models.js';

// A closed stdout or stderr (`moa-search ask … | head -c 50`) ends the command quietly, as SIGPIPE ends a Unix
// tool: no stack trace. Completed calls are in the cache already; a search stays resumable.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
import { registerGenerate } from './commands/generate.js';
import { registerWorker } from './commands/worker.js';

// Command modules only declare options; each action imports its implementation lazily,
// so `moa-search --help` never loads SQLite, the OpenAI SDK or vega.
const program = new Command('moa-search')
  .description('Find the best Mixture-of-Agents for a budget. Without a command it searches: moa-search --budget 5')
  .version('0.1.0')
  // Usage errors keep the one-line contract of every other error: message and hint on one line.
  .configureOutput({ outputError: (str, write) => write(`moa-search: ${str.trim().replace(/\s*\n\s*/g, ' ')} (run with --help for usage)\n`) })
  .exitOverride();

registerSearch(program);
registerAsk(program);
registerEval(program);
registerSim(program);
registerValidation(program);
registerReport(program);
registerPareto(program);
registerDiff(program);
registerServe(program);
registerGenerate(program);
registerWorker(program);
registerCache(program);
registerModels(program);

// `moa-search --help` shows the default command's options too, under their own heading.
const search = program.commands.find((c) => c.name() === 'search')!;
const searchOptions = search.options.map((o) => {
  const copy = new Option(o.flags, o.description).helpGroup('Search options (the default command; also `moa-search search --help`):');
  copy.argChoices = o.argChoices;
  copy.defaultValue = o.defaultValue;
  copy.negate = o.negate;
  return copy;
});
program.configureHelp({
  visibleOptions(cmd) {
    const own = Help.prototype.visibleOptions.call(this, cmd);
    return cmd === program ? [...searchOptions, ...own] : own;
  },
});

// `search` is the default command, so commander would hand a mistyped command name to it as a stray argument.
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && !program.commands.some((c) => c.name() === first || c.aliases().includes(first)) && first !== 'help') {
  process.stderr.write(`moa-search: error: unknown command '${first}' (run with --help for the list of commands)\n`);
  process.exit(2);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Help and version exit 0; every other parse problem is bad input.
    process.exit(e.exitCode === 0 ? 0 : 2);
  }
  throw e;
}
