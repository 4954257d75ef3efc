// Workers benchmark (#14): one study shared by n worker processes (`search --workers n`) against a loopback
// OpenAI-compatible server that answers every call after 200 ms and rate-limits per API key (429 + Retry-After).
// Parts: (1) a 40-evaluation study (--max-evals 40, plus its references) with 1, 2, 4, 8 workers on SQLite and
// PostgreSQL (when MOA_TEST_PG_URL or --pg names one): evaluations per minute, duplicate provider calls, 429s;
// (2) 20 runs with 4 workers and a random budget that runs out mid-study: the provider's own bill never passes it;
// (3) 10 runs with 4 workers where a random worker holding a measurement is killed with SIGKILL mid-measurement:
// the study completes and no call answered before the kill is paid twice.
// Run: nice -n 10 npm run bench:workers [-- --rate 200 --budget-runs 20 --kill-runs 10 --sizes 1,2,4,8 --out docs/bench-workers.md]
// Uses the built CLI (dist/, `npm run build`), fresh databases (SQLite files, PostgreSQL schemas dropped at the end).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadSpace } from '../src/config/index.js';
import { openStorage } from '../src/executor/index.js';
import { StudyStore } from '../src/search/study-store.js';
import { simComplete } from '../src/sim/index.js';
import { startOpenAIServer, type FakeReply } from '../test/helpers/openai-server.js';
import { overHttp } from '../test/helpers/sim-http.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = resolve(ROOT, 'dist/cli/main.js');
function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const RATE = Number(arg('rate', '200')); // requests per second per key
const LATENCY_MS = Number(arg('latency', '200'));
const SIZES = arg('sizes', '1,2,4,8').split(',').map(Number);
const BUDGET_RUNS = Number(arg('budget-runs', '20'));
const KILL_RUNS = Number(arg('kill-runs', '10'));
const EVALS = Number(arg('evals', '40'));
const PROMPTS = Number(arg('prompts', '16'));
const PG_URL = arg('pg', process.env.MOA_TEST_PG_URL ?? '');
const OUT = arg('out', 'docs/bench-workers.md');
const dir = mkdtempSync(join(tmpdir(), 'moa-bench-workers-'));
const schemas: string[] = [];

// ---- the provider: sim answers after LATENCY_MS, a per-key limit of RATE calls per second ----
const answered = new Map<string, number>();
const running = new Map<string, number>();
let limited = 0;
let hold: Promise<void> | undefined;
let release = () => {};
let onCall: (() => void) | undefined;
const windows = new Map<string, { second: number; n: number }>();
function overLimit(key: string): boolean {
  const second = Math.floor(Date.now() / 1000);
  const w = windows.get(key);
  if (!w || w.second !== second) windows.set(key, { second, n: 1 });
  else if (++w.n > RATE) return true;
  return false;
}
const server = await startOpenAIServer({
  handler: async (body, call): Promise<FakeReply> => {
    const apiKey = String(call.headers.authorization ?? 'keyless');
    if (overLimit(apiKey)) {
      limited++;
      return { status: 429, headers: { 'retry-after-ms': String(1000 - (Date.now() % 1000) + Math.floor(Math.random() * 200)) }, body: { error: { message: 'rate limit', type: 'rate_limit' } } };
    }
    const key = JSON.stringify({ ...body, stream: undefined, stream_options: undefined });
    running.set(key, (running.get(key) ?? 0) + 1);
    onCall?.();
    await sleep(LATENCY_MS);
    if (hold) await hold;
    running.set(key, running.get(key)! - 1);
    if (!running.get(key)) running.delete(key);
    const c = simComplete({ model: body.model, messages: body.messages, temperature: body.temperature, maxTokens: body.max_tokens ?? body.max_completion_tokens, seed: body.seed, logprobs: body.logprobs, topLogprobs: body.top_logprobs });
    answered.set(key, (answered.get(key) ?? 0) + 1);
    bill += price(body.model, c.usage.promptTokens, c.usage.completionTokens);
    return {
      text: c.text,
      finishReason: c.finishReason,
      usage: { prompt_tokens: c.usage.promptTokens, completion_tokens: c.usage.completionTokens },
      ...(c.logprobs ? { logprobs: c.logprobs.map((l) => ({ token: l.token, logprob: l.logprob, top_logprobs: l.top ?? [] })) } : {}),
    };
  },
});
let bill = 0;

const spaceFile = join(dir, 'space.yaml');
writeFileSync(spaceFile, overHttp(readFileSync(join(ROOT, 'search-spaces/sim.yaml'), 'utf8'), server.url).replace('maxRetries: 0', 'maxRetries: 10'));
const space = loadSpace(spaceFile);
const prices = new Map(space.models.map((m) => [m.upstream ?? m.id, m.price]));
function price(model: string, p: number, c: number): number {
  const pr = prices.get(model) ?? space.models.find((m) => m.id === model)?.price;
  return pr ? (pr.input * p + pr.output * c) / 1e6 : 0;
}
const lines = readFileSync(join(ROOT, 'validation-sets/sim-100.jsonl'), 'utf8').trim().split('\n');
const validation = join(dir, 'val.jsonl');
writeFileSync(validation, [...lines.slice(0, PROMPTS / 2), ...lines.slice(-PROMPTS / 2)].join('\n') + '\n');

function freshDb(backend: string, label: string): string {
  if (backend === 'sqlite') return join(dir, `${label}-${randomBytes(4).toString('hex')}.sqlite`);
  const schema = `bench_workers_${randomBytes(4).toString('hex')}`;
  schemas.push(schema);
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return u.toString();
}

interface Run {
  code: number | null;
  out: any;
  wallMs: number;
  stderr: string;
}
function search(db: string, workers: number, extra: string[], during?: (pid: number) => Promise<void>): Promise<Run> {
  const t0 = Date.now();
  const args = [CLI, 'search', '--space', spaceFile, '--validation', validation, '--workers', String(workers), '--study', 'b', '--db', db, '--json', '--no-report', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  void during?.(child.pid!);
  return closed.then((code) => {
    let out: any;
    try {
      out = JSON.parse(stdout);
    } catch {
      out = undefined;
    }
    return { code, out, wallMs: Date.now() - t0, stderr };
  });
}

async function observations(db: string) {
  const storage = await openStorage(db, { migrate: false });
  try {
    return await (await StudyStore.open(storage)).listObservations('b');
  } finally {
    await storage.close();
  }
}
async function trialsOf(db: string) {
  const storage = await openStorage(db, { migrate: false });
  try {
    return await (await StudyStore.open(storage)).listTrials('b');
  } finally {
    await storage.close();
  }
}
async function measuringPids(db: string): Promise<number[]> {
  const storage = await openStorage(db, { migrate: false });
  try {
    return (await storage.all<{ owner: string }>("SELECT owner FROM leases WHERE name LIKE 'observation:%'")).map((r) => Number(r.owner.split(':')[1]));
  } catch {
    return [];
  } finally {
    await storage.close();
  }
}
function resetProvider(): void {
  answered.clear();
  running.clear();
  limited = 0;
  bill = 0;
}
const duplicates = () => [...answered.values()].reduce((n, k) => n + (k > 1 ? k - 1 : 0), 0);
const log = (s: string) => process.stderr.write(s + '\n');

// ---- (1) scaling ----
const backends = ['sqlite', ...(PG_URL ? ['postgres'] : [])];
const scaling: string[] = [];
const perMin: Record<string, Map<number, number>> = {};
let fullCost = 0;
for (const backend of backends) {
  perMin[backend] = new Map();
  for (const n of SIZES) {
    resetProvider();
    const db = freshDb(backend, `scale${n}`);
    const r = await search(db, n, ['--budget', '100', '--max-evals', String(EVALS), '--seed', '1']);
    const obs = (await observations(db)).filter((o) => o.state === 'COMPLETE');
    const start = Math.min(...obs.map((o) => Date.parse(o.startedAt)));
    const end = Math.max(...obs.map((o) => Date.parse(o.finishedAt!)));
    const rate = obs.length / ((end - start) / 60000);
    perMin[backend]!.set(n, rate);
    if (backend === 'sqlite' && n === SIZES[0]) fullCost = bill;
    const calls = [...answered.values()].reduce((a, b) => a + b, 0);
    const row = `| ${backend} | ${n} | ${r.code} | ${obs.length} | ${((end - start) / 1000).toFixed(1)} | ${(r.wallMs / 1000).toFixed(1)} | ${rate.toFixed(1)} | ${(rate / perMin[backend]!.get(SIZES[0]!)!).toFixed(2)}× | ${calls} | ${(calls / ((end - start) / 1000)).toFixed(0)} | ${limited} | ${duplicates()} | ${r.out?.spent?.toFixed(4)} / ${bill.toFixed(4)} |`;
    scaling.push(row);
    log(row);
  }
}

// ---- (2) budget that runs out mid-study, 4 workers ----
const budgetRows: string[] = [];
let over = 0;
for (let i = 0; i < BUDGET_RUNS; i++) {
  const backend = backends[i % backends.length]!;
  resetProvider();
  const budget = Number((fullCost * (0.15 + 0.6 * Math.random())).toFixed(4));
  const db = freshDb(backend, `budget${i}`);
  const r = await search(db, 4, ['--budget', String(budget), '--max-evals', String(EVALS), '--seed', String(100 + i)]);
  const ok = r.code === 0 && bill <= budget + 1e-9 && r.out.spent <= budget + 1e-9;
  if (!ok) over++;
  const row = `| ${i + 1} | ${backend} | ${budget.toFixed(4)} | ${r.code} | ${r.out?.stopped} | ${r.out?.measurements} | ${r.out?.spent?.toFixed(4)} | ${bill.toFixed(4)} | ${duplicates()} | ${ok ? 'yes' : '**NO**'} |`;
  budgetRows.push(row);
  log(row);
}

// ---- (3) kill -9 of a random measuring worker mid-measurement, 4 workers ----
const killRows: string[] = [];
let killFailures = 0;
for (let i = 0; i < KILL_RUNS; i++) {
  const backend = backends[i % backends.length]!;
  resetProvider();
  const db = freshDb(backend, `kill${i}`);
  const at = 100 + Math.floor(Math.random() * 600);
  let killed: number | undefined;
  let inFlight = new Set<string>();
  // Freeze the provider at a random call, let answers already sent reach the workers' caches, kill a worker that
  // holds a measurement, and go on: the calls in flight at the kill are exactly the frozen ones.
  const froze = new Promise<void>((r) => {
    let seen = 0;
    onCall = () => {
      if (seen++ === at && !hold) {
        hold = new Promise<void>((h) => (release = h));
        r();
      }
    };
  });
  const r = await search(db, 4, ['--budget', '100', '--max-evals', String(EVALS), '--seed', String(200 + i)], async () => {
    await froze;
    await sleep(400);
    const pids = await measuringPids(db);
    killed = pids[Math.floor(Math.random() * pids.length)];
    inFlight = new Set(running.keys());
    if (killed) process.kill(killed, 'SIGKILL');
    onCall = undefined;
    hold = undefined;
    release();
  });
  const trials = await trialsOf(db);
  const repeatedOutside = [...answered].filter(([k, n]) => n > 1 && !inFlight.has(k)).length;
  const repeatedInside = [...answered].filter(([k, n]) => n > 1 && inFlight.has(k)).length;
  const complete = r.code === 0 && r.out?.stopped === 'max-evals' && trials.every((t) => t.state === 'COMPLETE');
  if (!complete || repeatedOutside || !killed) killFailures++;
  const row = `| ${i + 1} | ${backend} | ${at} | ${killed ? 'yes' : 'no measuring worker'} | ${inFlight.size} | ${repeatedInside} | ${repeatedOutside} | ${r.out?.measurements} | ${complete ? 'yes' : '**NO**'} |`;
  killRows.push(row);
  log(row);
}

// ---- report ----
const sqlite1 = perMin.sqlite!.get(SIZES[0]!)!;
const at4 = (b: string) => (perMin[b]?.get(4) ?? NaN) / perMin[b]!.get(SIZES[0]!)!;
const md = `# Workers benchmark (npm run bench:workers)

${new Date().toISOString().slice(0, 16)}Z · ${cpus().length} cores (load ${loadavg()[0]!.toFixed(1)} at the end, shared) · Node ${process.version} ·
loopback provider: ${LATENCY_MS} ms per call, ${RATE} calls/s per key (429 with retry-after-ms beyond) · sim world over HTTP ·
${PROMPTS} prompts · bfgs · \`search --workers n --max-evals ${EVALS}\` (40 search measurements plus references), fresh database each run.

## Scaling
Evaluations per minute: complete measurements over the span from the first start to the last finish (stored timestamps);
wall: the whole command including process start-up. Duplicates: calls the provider answered more than once. Spend: the
study's ledger / the provider's own bill from the tokens it answered.

| backend | workers | exit | measurements | span s | wall s | evals/min | vs 1 | calls | calls/s | 429s | duplicates | spend ledger / bill $ |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${scaling.join('\n')}

At 4 workers vs 1: ${backends.map((b) => `${b} ${at4(b).toFixed(2)}×`).join(', ')} (target ≥ 3.2×: ${backends.every((b) => at4(b) >= 3.2) ? 'met' : 'missed'}).

## Budget that runs out mid-study (4 workers, ${BUDGET_RUNS} runs)
Budget drawn uniformly in 15–75% of the 1-worker study's bill ($${fullCost.toFixed(4)}). "Held": exit 0, the ledger's
spend and the provider's bill both ≤ budget.

| run | backend | budget $ | exit | stopped | measurements | ledger $ | bill $ | duplicates | held |
|---|---|---|---|---|---|---|---|---|---|
${budgetRows.join('\n')}

Budget exceeded in ${over} of ${BUDGET_RUNS} runs.

## kill -9 of a random worker mid-measurement (4 workers, ${KILL_RUNS} runs)
The provider freezes at a random call (100–700), answers already sent reach the workers (400 ms), a random worker holding
a measurement lease is killed with SIGKILL, the provider resumes. "Repeated, in flight": calls frozen at the kill that were
answered to the dead worker and made again by the one that took its measurement over (unavoidable: nobody received them).
"Repeated, not in flight": completed paid calls lost (target 0).

| run | backend | freeze at call | killed | in flight at kill | repeated, in flight | repeated, not in flight | measurements | study complete |
|---|---|---|---|---|---|---|---|---|
${killRows.join('\n')}

Runs failing (study incomplete, or a completed call paid twice): ${killFailures} of ${KILL_RUNS}.
`;
writeFileSync(resolve(ROOT, OUT), md);
log(`wrote ${OUT}; 1-worker sqlite ${sqlite1.toFixed(1)} evals/min`);
await server.close();
if (PG_URL && schemas.length) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  for (const s of schemas) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await c.end();
}
rmSync(dir, { recursive: true, force: true });
