// Executor benchmark: cache-hit latency and throughput, and the overhead a miss adds to a provider call.
// Run: npx tsx bench/executor.ts [--hits 10000] [--misses 500] [--out docs/bench-executor.md]
// It starts its own zero-latency loopback server; no network, no key.
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseSpace } from '../src/config/index.js';
import { openExecutor } from '../src/executor/index.js';
import { createOpenAIProvider } from '../src/providers/index.js';
import { startOpenAIServer } from '../test/helpers/openai-server.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const HITS = Number(arg('hits', '10000'));
const MISSES = Number(arg('misses', '500'));
const OUT = process.argv.includes('--out') ? arg('out', 'docs/bench-executor.md') : undefined;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

const load0 = loadavg()[0]!;
const server = await startOpenAIServer();
const space = parseSpace(
  `providers:
  local: { baseURL: "${server.url}", keyless: true, maxConcurrency: 16, maxRetries: 0 }
models:
  - { id: M, provider: local, price: { input: 1, output: 2 }, maxCopies: 16 }
generation: { temperature: 0.7, maxTokens: 256 }
`,
  'bench-space.yaml',
);
const dir = mkdtempSync(join(tmpdir(), 'moa-bench-'));
const ex = await openExecutor({ space, dbPath: join(dir, 'bench.sqlite') });
const prompt = (i: number) => [{ role: 'user' as const, content: `Benchmark prompt ${i}: explain the mixture-of-agents idea in two sentences.` }];
const DISTINCT = 100;

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

// Misses: the same zero-latency server, called through the executor vs the bare provider.
const provider = createOpenAIProvider('local', space.providers.local!);
for (let i = 0; i < 50; i++) await provider.complete({ model: 'M', messages: prompt(-1 - i) }); // warm-up
// Alternate the two so that load changes on the (shared) machine hit both alike.
const direct: number[] = [];
const viaEx: number[] = [];
for (let i = 0; i < MISSES; i++) {
  let s = performance.now();
  await provider.complete({ model: 'M', messages: prompt(1_000_000 + i), temperature: 0.7, maxTokens: 256, seed: 0 });
  direct.push(performance.now() - s);
  s = performance.now();
  const r = await ex.generate({ model: 'M', messages: prompt(2_000_000 + i) });
  viaEx.push(performance.now() - s);
  if (r.cached) throw new Error('expected a miss');
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
await ex.close();
await server.close();
rmSync(dir, { recursive: true, force: true });

const lines = [
  `# Executor benchmark`,
  ``,
  `Run with \`npx tsx bench/executor.ts --out docs/bench-executor.md\` on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z.`,
  `File database (WAL, synchronous=NORMAL), zero-latency loopback chat-completions server in the same process.`,
  `The machine was shared with other work (1-min load average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end), so take the numbers as orders of magnitude.`,
  ``,
  `| measure | value |`,
  `|---|---|`,
  `| cache hit, sequential: mean / p50 / p99 latency | ${us(seqMs / HITS)} / ${us(pct(lat, 50))} / ${us(pct(lat, 99))} |`,
  `| cache hits, sequential throughput (${HITS}) | ${Math.round(HITS / (seqMs / 1000)).toLocaleString('en')} /s |`,
  `| cache hits, 64 in flight, throughput (${HITS}) | ${Math.round(HITS / (concMs / 1000)).toLocaleString('en')} /s |`,
  `| miss via bare provider (SDK + HTTP), mean / p50 | ${mean(direct).toFixed(3)} ms / ${pct(direct, 50).toFixed(3)} ms |`,
  `| miss via executor (+ key, lookup, ledger, insert), mean / p50 | ${mean(viaEx).toFixed(3)} ms / ${pct(viaEx, 50).toFixed(3)} ms |`,
  `| executor overhead per miss (mean / p50 difference, ${MISSES} calls each, interleaved) | ${(mean(viaEx) - mean(direct)).toFixed(3)} ms / ${(pct(viaEx, 50) - pct(direct, 50)).toFixed(3)} ms |`,
  ``,
];
const text = lines.join('\n');
process.stdout.write(text);
if (OUT) writeFileSync(OUT, text);
