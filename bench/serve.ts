/**
 * `npm run bench:serve`: throughput and added latency of `moa-search serve`.
 *
 * The upstream is the simulated world over HTTP with a fixed per-call latency (`startSimServer`), or,
 * while the sim has no HTTP server, the loopback chat-completions test server with the same fixed delay
 * (the table says which). It runs in a child process, so its CPU is not charged to the server. A 2-layer mixture (3 proposers → 1 aggregator, 4 calls, 2 on the critical
 * path) is served with the cache off, and driven by closed-loop clients at concurrency 1, 8 and 32.
 * Added latency = what the client measured − the mixture's own critical path (per layer the slowest
 * upstream call as the executor timed it, summed): the cost of the server, the engine and the executor.
 * Results go to stdout and into docs/serve.md between the bench markers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadMixture, loadSpace, type SearchSpace } from '../src/config/index.js';
import { openExecutor } from '../src/executor/index.js';
import { PACKAGE_ROOT, SIM_SPACE_FILE } from '../src/paths.js';
import { percentile, startMixtureServer } from '../src/server/index.js';

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const LEVELS = [1, 8, 32];
/** Requests per level: enough rounds for stable percentiles without a long run on 2 shared cores. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const MIXTURE = {
  layers: 2,
  proposers: { 'Qwen/Qwen1.5-110B-Chat': 1, 'meta-llama/Llama-3-70b-chat-hf': 1, 'microsoft/WizardLM-2-8x22B': 1 },
  aggregator: 'Qwen/Qwen1.5-110B-Chat',
};

interface Upstream {
  url: string;
  kind: string;
  close(): Promise<void>;
}

type SimModule = { startSimServer?: (o: { port?: number; latencyMs?: number; worldSeed?: number }) => Promise<{ url: string; close(): Promise<void> | void }> };

/** Child mode: run the upstream alone in this process and print `{url, kind}` as one JSON line. */
async function upstreamChild(): Promise<void> {
  const sim = (await import('../src/sim/index.js')) as SimModule;
  let url: string;
  let kind: string;
  if (typeof sim.startSimServer === 'function') {
    url = (await sim.startSimServer({ port: 0, latencyMs: LATENCY_MS, worldSeed: 0 })).url;
    kind = `the simulated world over HTTP (startSimServer, world seed 0), ${LATENCY_MS} ms per call`;
  } else {
    const { startOpenAIServer } = await import('../test/helpers/openai-server.js');
    url = (await startOpenAIServer({ latencyMs: LATENCY_MS })).url;
    kind = `the loopback chat-completions test server (the sim had no HTTP server yet), ${LATENCY_MS} ms per call`;
  }
  process.stdout.write(JSON.stringify({ url, kind }) + '\n');
}

/** The upstream runs in its own process, so its CPU does not count against the server being measured. */
async function startUpstream(): Promise<Upstream> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--upstream'], {
    env: { ...process.env, BENCH_LATENCY_MS: String(LATENCY_MS) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<{ url: string; kind: string }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    child.on('exit', (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  return {
    ...info,
    close: async () => {
      child.kill('SIGTERM');
    },
  };
}

/** The sim space with its models reached over HTTP through the ordinary OpenAI-compatible client. */
function httpSpace(url: string): SearchSpace {
  const sim = loadSpace(SIM_SPACE_FILE);
  const providers = { http: { kind: 'openai' as const, baseURL: url, keyless: true, maxConcurrency: 512, timeoutMs: 60_000, maxRetries: 0, sendSeed: true } };
  return { ...sim, providers, models: sim.models.map((m) => ({ ...m, provider: 'http' })) };
}

const PROMPTS = [
  'Explain how a hash map handles collisions.',
  'Write a short guide to brewing green tea.',
  'Compare TCP and UDP for a multiplayer game.',
  'What are the trade-offs of microservices?',
  'How do vaccines train the immune system?',
  'Give advice for a first marathon.',
];

async function main() {
  const load = os.loadavg()[0]!;
  const upstream = await startUpstream();
  console.log(`upstream: ${upstream.kind}`);
  const space = httpSpace(upstream.url);
  const mixture = loadMixture(JSON.stringify(MIXTURE), space);
  const executor = await openExecutor({ space }); // private in-memory database
  const server = await startMixtureServer({ space, mixtures: [{ name: 'moa-bench', mixture }], executor, port: 0, maxConcurrency: 64, maxQueue: 4096, noCache: true });
  const rows: string[] = [];
  const results: Array<Record<string, number>> = [];
  let seq = 0;
  try {
    // Warm up connections and JIT, unmeasured.
    for (let i = 0; i < 4; i++) await request(server.url, seq++);
    for (const c of LEVELS) {
      const n = c * ROUNDS;
      const client: number[] = [];
      const crit: number[] = [];
      const added: number[] = [];
      let next = 0;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: c }, async () => {
          while (next < n) {
            next++;
            const r = await request(server.url, seq++);
            client.push(r.clientMs);
            crit.push(r.criticalMs);
            added.push(r.clientMs - r.criticalMs);
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      // CPU of this process (server, engine, executor and the fetch clients) per request: load-independent.
      const cpuMs = (cpu.user + cpu.system) / 1000 / n;
      const s = (v: number[]) => [...v].sort((a, b) => a - b);
      const row = {
        concurrency: c,
        requests: n,
        rps: n / elapsed,
        clientP50: percentile(s(client), 0.5)!,
        clientP95: percentile(s(client), 0.95)!,
        critP50: percentile(s(crit), 0.5)!,
        addedP50: percentile(s(added), 0.5)!,
        addedP95: percentile(s(added), 0.95)!,
        cpuMs,
      };
      results.push(row);
      rows.push(
        `| ${c} | ${n} | ${row.rps.toFixed(1)} | ${row.clientP50.toFixed(1)} / ${row.clientP95.toFixed(1)} | ${row.critP50.toFixed(1)} | ${row.addedP50.toFixed(1)} / ${row.addedP95.toFixed(1)} | ${row.cpuMs.toFixed(1)} |`,
      );
      console.log(rows.at(-1));
    }
  } finally {
    await server.close();
    await executor.close();
    await upstream.close();
  }

  const ideal = 2 * LATENCY_MS;
  const table = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}; 1-minute load average ${load.toFixed(1)} at the start (a shared machine: other jobs were running).`,
    `Upstream: ${upstream.kind}. Mixture: 3 proposers → 1 aggregator (4 calls a request, 2 on the critical path: ideal ${ideal} ms), cache off.`,
    `Closed-loop clients (each sends its next request when the previous answer arrives), ${ROUNDS} requests per client, plain \`fetch\`, non-streaming.`,
    '',
    '| concurrency | requests | requests/s | client latency p50 / p95 (ms) | mixture critical path p50 (ms) | added by server + engine + executor p50 / p95 (ms) | CPU per request (ms) |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  const doc = resolve(PACKAGE_ROOT, 'docs/serve.md');
  const text = readFileSync(doc, 'utf8');
  const start = '<!-- bench:serve:start -->';
  const end = '<!-- bench:serve:end -->';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/serve.md lacks the ${start} … ${end} markers`);
  writeFileSync(doc, `${text.slice(0, i + start.length)}\n${table}\n${text.slice(j)}`);
  console.log(`\nwrote the table to ${doc}`);
  console.log(JSON.stringify(results));
}

async function request(base: string, i: number): Promise<{ clientMs: number; criticalMs: number }> {
  const body = JSON.stringify({ model: 'moa-bench', messages: [{ role: 'user', content: `${PROMPTS[i % PROMPTS.length]} (request ${i})` }] });
  const t0 = performance.now();
  const res = await fetch(`${base}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const json = (await res.json()) as { moa?: { critical_path_ms: number }; error?: { message: string } };
  const clientMs = performance.now() - t0;
  if (!res.ok || !json.moa) throw new Error(`request ${i} failed: HTTP ${res.status} ${json.error?.message ?? ''}`);
  return { clientMs, criticalMs: json.moa.critical_path_ms };
}

if (process.argv.includes('--upstream')) await upstreamChild();
else await main();
