import type { Command } from 'commander';
import { action, collect } from '../_run.js';
import { InputError } from '../../config/input-error.js';
import type { SearchSpace } from '../../config/space.js';

interface ServeOptions {
  space?: string;
  mixture: string[];
  name?: string[];
  host: string;
  port: string;
  apiKeyEnv?: string;
  maxConcurrency: string;
  maxQueue?: string;
  cache: boolean;
  db?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Serve mixtures as an OpenAI-compatible chat-completions endpoint (prints its base URL).')
    .option('--space <file>', 'search-space file (default: the simulated world)')
    .requiredOption('--mixture <file|json>', 'a mixture to serve; repeat to serve several', collect, [])
    .option('--name <model>', "model name clients send for the matching --mixture (default: the mixture file's base name, e.g. moa-lite; for inline JSON its name, else moa-N); repeatable", collect)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8080')
    .option('--api-key-env <VAR>', 'require Authorization: Bearer <the value of this environment variable>')
    .option('--max-concurrency <n>', 'mixture runs at once; more wait in a queue', '8')
    .option('--max-queue <n>', 'requests that may wait for a slot before new ones get 429 (default: 4 × max-concurrency)')
    .option('--no-cache', 'make fresh calls for every request (spend is still recorded)')
    .option('--db <file|url>', 'cache database: a SQLite file or postgres:// URL (default: $MOA_SEARCH_DB, else runs/moa.sqlite)')
    .action(action((opts: ServeOptions) => runServe(opts)));
}

async function runServe(opts: ServeOptions): Promise<void> {
  const { loadSpace } = await import('../../config/index.js');
  const { SIM_SPACE_FILE, resolveDbPath } = await import('../../paths.js');
  const { checkDbLocation } = await import('../../executor/db-location.js');

  // Everything is checked before the database is opened or the port bound.
  const flags = checkServeFlags(opts);
  const spaceFile = opts.space ?? SIM_SPACE_FILE;
  const space = loadSpace(spaceFile);
  const mixtures = await servedMixtures(opts, space);
  const dbPath = checkDbLocation(resolveDbPath(opts.db));
  await checkListen(opts.host, flags.port);

  const { openExecutor } = await import('../../executor/index.js');
  const { startMixtureServer } = await import('../../server/index.js');
  const executor = await openExecutor({ space, dbPath });
  let server;
  try {
    server = await startMixtureServer({
      space,
      mixtures,
      executor,
      host: opts.host,
      ...flags,
      noCache: !opts.cache,
      log: (line) => process.stderr.write(`moa-search serve: ${line}\n`),
    });
  } catch (e) {
    await executor.close();
    throw listenError(e, opts.host, flags.port) ?? e;
  }
  if (!opts.space) process.stderr.write(`moa-search: no --space given: using the simulated world (${spaceFile})\n`);
  // The URL alone on stdout, so scripts can read it; the rest on stderr.
  process.stdout.write(`${server.url}\n`);
  process.stderr.write(
    `moa-search serve: serving ${mixtures.map((m) => JSON.stringify(m.name)).join(', ')} at ${server.url}` +
      `${flags.apiKey ? ' (API key required)' : ''}${opts.cache ? '' : ' (cache off)'}; Ctrl-C to stop\n`,
  );
  await untilStopped(() => server.close().then(() => executor.close()));
  process.stderr.write('moa-search serve: stopped\n');
}

/** The numeric flags and the clients' API key (from the environment variable --api-key-env names). */
function checkServeFlags(opts: ServeOptions) {
  const int = (flag: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new InputError(`must be a whole number from ${min} to ${max}, got "${v}"`, { field: flag });
    return n;
  };
  const port = int('--port', opts.port, 0, 65535);
  const maxConcurrency = int('--max-concurrency', opts.maxConcurrency, 1, 10_000);
  const maxQueue = opts.maxQueue !== undefined ? int('--max-queue', opts.maxQueue, 0, 1_000_000) : undefined;
  let apiKey: string | undefined;
  if (opts.apiKeyEnv !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.apiKeyEnv)) throw new InputError('must name an environment variable', { field: '--api-key-env' });
    apiKey = process.env[opts.apiKeyEnv]?.trim();
    if (!apiKey) throw new InputError(`environment variable ${opts.apiKeyEnv} is not set (it holds the key clients must send)`, { field: '--api-key-env' });
  }
  if (!opts.mixture.length) throw new InputError('give at least one mixture to serve: --mixture <file|json> (repeatable)', { field: '--mixture' });
  if ((opts.name ?? []).length > opts.mixture.length) throw new InputError(`${opts.name!.length} names for ${opts.mixture.length} mixtures`, { field: '--name' });
  return { port, maxConcurrency, maxQueue, apiKey };
}

/** Each --mixture loaded and checked, under the name clients will type (unique). */
async function servedMixtures(opts: ServeOptions, space: SearchSpace) {
  const { basename, extname } = await import('node:path');
  const { loadMixture } = await import('../../config/index.js');
  const { checkMixtureKeys, loadTemplates } = await import('../../moa/index.js');
  const names = opts.name ?? [];
  const mixtures = opts.mixture.map((arg, i) => {
    const mixture = loadMixture(arg, space);
    loadTemplates(mixture.prompts);
    checkMixtureKeys(mixture, space);
    const inline = arg.trim().startsWith('{');
    // The file's base name (`moa-lite`, `best`) is what clients can type; a mixture's `name` is often a sentence.
    const name = names[i] ?? (inline ? (mixture.name ?? `moa-${i + 1}`) : basename(arg, extname(arg)));
    return { name, mixture };
  });
  const seen = new Set<string>();
  for (const m of mixtures) {
    if (seen.has(m.name)) throw new InputError(`two mixtures would be served as "${m.name}": give each a --name`, { field: '--name' });
    seen.add(m.name);
  }
  return mixtures;
}

/** Until SIGINT/SIGTERM: then finish in-flight requests and close; a second signal exits at once. */
function untilStopped(close: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: stop waiting for in-flight requests.
        process.stderr.write(`moa-search serve: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`moa-search serve: ${signal}: finishing in-flight requests\n`);
      void close().then(resolve, (e) => {
        process.stderr.write(`moa-search serve: error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

/** An address that cannot be bound is the user's flag to change (exit 2), not a crash. */
function listenError(e: unknown, host: string, port: number): Error | undefined {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'EADDRINUSE' && code !== 'EACCES' && code !== 'EADDRNOTAVAIL' && code !== 'ENOTFOUND') return undefined;
  const flag = code === 'EADDRINUSE' || code === 'EACCES' ? '--port' : '--host';
  return new InputError(`cannot listen on ${host}:${port} (${code}): choose another ${flag}${flag === '--port' ? ' (0 picks a free one)' : ''}`, { field: flag });
}

/** Bind and release the address once before the database is opened, so a busy port writes nothing. */
async function checkListen(host: string, port: number): Promise<void> {
  const { createServer } = await import('node:net');
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (e) => reject(listenError(e, host, port) ?? e));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
