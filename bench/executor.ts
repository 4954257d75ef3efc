// Executor benchmark: cache-hit latency and throughput, and the overhead a miss adds to a provider call, on SQLite
// and (when MOA_TEST_PG_URL or --pg <url> names a server) on PostgreSQL.
// Run: npx tsx bench/executor.ts [--hits 10000] [--misses 500] [--pg postgres://…] [--out docs/bench-executor.md]
// It starts its own zero-latency loopback server; no network, no key. One retry: an idle keep-alive socket the
// server closed during the (long) hit phase may reset the next call. On PostgreSQL it works in a schema of its own,
// dropped at the end.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseSpace, type SearchSpace } from '../src/config/index.js';
import { openExecutor, type CachingExecutor } from '../src/executor/index.js';
import { createOpenAIProvider, type ChatProvider } from '../src/providers/index.js';
import { startOpenAIServer } from '../test/helpers/openai-server.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const HITS = Number(arg('hits', '10000'));
const MISSES = Number(arg('misses', '500'));
const PG_URL = arg('pg', process.env.MOA_TEST_PG_URL ?? '');
const OUT = process.argv.includes('--out') ? arg('out', 'docs/bench-executor.md') : undefined;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;
const msf = (ms: number) => `${ms.toFixed(3)} ms`;
const prompt = (i: number) => [{ role: 'user' as const, content: `Benchmark prompt ${i}: explain the mixture-of-agents idea in two sentences.` }];
const DISTINCT = 100;

interface Numbers {
  hitMean: number;
  hitP50: number;
  hitP99: number;
  hitSeqPerS: number;
  hitConcPerS: number;
  direct: number[];
  viaEx: number[];
  viaBudget: number[];
}

async function misses(provider: ChatProvider, ex: CachingExecutor, budgeted: CachingExecutor, base: number) {
  // Interleaved, so that load changes on the (shared) machine hit all three alike.
  const direct: number[] = [];
  const viaEx: number[] = [];
  const viaBudget: number[] = [];
  for (let i = 0; i < MISSES; i++) {
    let s = performance.now();
    await provider.complete({ model: 'M', messages: prompt(base + i), temperature: 0.7, maxTokens: 256, seed: 0 });
    direct.push(performance.now() - s);
    s = performance.now();
    const r = await ex.generate({ model: 'M', messages: prompt(base + 1_000_000 + i) });
    viaEx.push(performance.now() - s);
    s = performance.now();
    const b = await budgeted.generate({ model: 'M', messages: prompt(base + 2_000_000 + i) });
    viaBudget.push(performance.now() - s);
    if (r.cached || b.cached) throw new Error('expected a miss');
  }
  return { direct, viaEx, viaBudget };
}

async function measure(space: SearchSpace, dbPath: string): Promise<Numbers> {
  const ex = await openExecutor({ space, dbPath });
  const budgeted = await openExecutor({ space, dbPath, budgetUsd: 1_000 });
  // Fill the cache.
  for (let i = 0; i < DISTINCT; i++) await ex.generate({ model: 'M', messages: prompt(i) });

  // Sequential hits: per-call latency.
  const lat: number[] = [];
  let t0 = performance.now();
  for (let i = 0; i < HITS; i++) {
    const s = performance.now();
    const r = await ex.generate({ model: 'M', messages: prompt(i % DISTINCT) });
    lat.push(performance.now() - s);
    if (!r.cached) throw new Error('expected a hit');
  }
  const seqMs = performance.now() - t0;

  // Concurrent hits (batches of 64 in flight).
  t0 = performance.now();
  for (let i = 0; i < HITS; i += 64) {
    await Promise.all(Array.from({ length: Math.min(64, HITS - i) }, (_, j) => ex.generate({ model: 'M', messages: prompt((i + j) % DISTINCT) })));
  }
  const concMs = performance.now() - t0;

  const provider = createOpenAIProvider('local', space.providers.local!);
  for (let i = 0; i < 50; i++) await provider.complete({ model: 'M', messages: prompt(-1 - i) }); // warm-up
  const m = await misses(provider, ex, budgeted, 10_000_000);
  await ex.close();
  await budgeted.close();
  return { hitMean: seqMs / HITS, hitP50: pct(lat, 50), hitP99: pct(lat, 99), hitSeqPerS: HITS / (seqMs / 1000), hitConcPerS: HITS / (concMs / 1000), ...m };
}

const load0 = loadavg()[0]!;
const server = await startOpenAIServer();
const space = parseSpace(
  `providers:
  local: { baseURL: "${server.url}", keyless: true, maxConcurrency: 16, maxRetries: 1 }
models:
  - { id: M, provider: local, price: { input: 1, output: 2 }, maxCopies: 16 }
generation: { temperature: 0.7, maxTokens: 256 }
`,
  'bench-space.yaml',
);

const dir = mkdtempSync(join(tmpdir(), 'moa-bench-'));
const results: Array<[string, Numbers]> = [['SQLite (file, WAL)', await measure(space, join(dir, 'bench.sqlite'))]];
rmSync(dir, { recursive: true, force: true });
let pgVersion = '';
if (PG_URL) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  pgVersion = String((await admin.query('SHOW server_version')).rows[0].server_version).split(' ')[0]!;
  try {
    results.push([`PostgreSQL ${pgVersion} (loopback)`, await measure(space, url.toString())]);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}
await server.close();

const row = (label: string, f: (n: Numbers) => string) => `| ${label} | ${results.map(([, n]) => f(n)).join(' | ')} |`;
const lines = [
  `# Executor benchmark`,
  ``,
  `Run with \`npx tsx bench/executor.ts --out docs/bench-executor.md\` (PostgreSQL from \`MOA_TEST_PG_URL\`, e.g. the cluster of`,
  `\`scripts/pg-test-cluster.sh start\`) on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
  `Zero-latency loopback chat-completions server in the same process; ${HITS} hits over ${DISTINCT} cached prompts; ${MISSES} misses of each kind, interleaved.`,
  `A miss through the executor looks the key up, claims its in-flight marker (a lease row), calls, books the spend, stores the result and frees the marker;`,
  `with a budget it also reserves the worst case on the shared ledger (one transaction) and settles it (another).`,
  `The machine was shared with other work (1-min load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end), so take the numbers as orders of magnitude.`,
  ``,
  `| measure | ${results.map(([l]) => l).join(' | ')} |`,
  `|---|${results.map(() => '---').join('|')}|`,
  row('cache hit, sequential: mean / p50 / p99 latency', (n) => `${us(n.hitMean)} / ${us(n.hitP50)} / ${us(n.hitP99)}`),
  row(`cache hits, sequential throughput`, (n) => `${Math.round(n.hitSeqPerS).toLocaleString('en')} /s`),
  row(`cache hits, 64 in flight, throughput`, (n) => `${Math.round(n.hitConcPerS).toLocaleString('en')} /s`),
  row('miss via bare provider (SDK + HTTP), mean / p50', (n) => `${msf(mean(n.direct))} / ${msf(pct(n.direct, 50))}`),
  row('miss via executor, no budget, mean / p50', (n) => `${msf(mean(n.viaEx))} / ${msf(pct(n.viaEx, 50))}`),
  row('miss via executor with a budget (shared ledger), mean / p50', (n) => `${msf(mean(n.viaBudget))} / ${msf(pct(n.viaBudget, 50))}`),
  row('executor overhead per miss, no budget (mean / p50 difference)', (n) => `${msf(mean(n.viaEx) - mean(n.direct))} / ${msf(pct(n.viaEx, 50) - pct(n.direct, 50))}`),
  row('executor overhead per miss, with a budget (mean / p50 difference)', (n) => `${msf(mean(n.viaBudget) - mean(n.direct))} / ${msf(pct(n.viaBudget, 50) - pct(n.direct, 50))}`),
  ``,
];
const text = lines.join('\n');
process.stdout.write(text);
if (OUT) writeFileSync(OUT, text);
