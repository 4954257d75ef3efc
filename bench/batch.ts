// Batch benchmark, two tables: (1) 10 fixed mixtures evaluated on the 100 sim prompts online and with --batch,
// (2) `generate sft` of 1,000 examples online and with --batch: dollars, provider requests, wall time with a fixed
// delay per batch job. For each, a kill -9 of the batched command while it polls and a rerun (requests submitted
// in two jobs must be 0).
// Run: npm run bench:batch [-- --delay-ms 60000 --poll-seconds 5 --sft 1000 --write]   (--write puts the section in docs/benchmarks.md)
// Everything runs against `sim serve`'s HTTP endpoint started here (chat completions + Batch API); no network, no key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadMixture, loadSpace, parseSpace, singleModelMixture, mixtureName, toMixtureFile, type Mixture } from '../src/config/index.js';
import { evaluateMixture, loadValidationSet, type EvalResult } from '../src/eval/index.js';
import { openExecutor, withBatching, type Executor } from '../src/executor/index.js';
import { PACKAGE_ROOT, SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../src/paths.js';
import { startSimServer } from '../src/sim/index.js';
import { bestSimMixture, promptPool } from './_sft-inputs.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const DELAY_MS = Number(arg('delay-ms', '60000'));
const POLL_S = Number(arg('poll-seconds', '5'));
const N_SFT = Number(arg('sft', '1000'));
const WRITE = process.argv.includes('--write');

const server = await startSimServer({ port: 0, batchDelayMs: DELAY_MS });
const dir = mkdtempSync(join(tmpdir(), 'moa-bench-batch-'));
// The default sim space, its provider pointed at the HTTP server (which names models by their sim profiles).
const spaceText = readFileSync(SIM_SPACE_FILE, 'utf8').replace(
  /^ {2}sim: \{.*\}$/m,
  `  sim: { baseURL: "${server.url}", keyless: true, maxConcurrency: 64, maxRetries: 2, batch: { discount: 0.5, pollSeconds: ${POLL_S} } }`,
);
const spaceFile = join(dir, 'sim-http.yaml');
writeFileSync(spaceFile, spaceText.replace('validation: ../validation-sets/sim-100.jsonl', `validation: ${SIM_VALIDATION_FILE}`));
const space = parseSpace(readFileSync(spaceFile, 'utf8'), spaceFile);
const items = loadValidationSet(SIM_VALIDATION_FILE);

const example = (f: string) => loadMixture(resolve(PACKAGE_ROOT, 'search-spaces/examples', f), space);
const MIXTURES: Mixture[] = [
  ...['moa.json', 'moa-lite.json', 'moa-gpt4o.json', 'moa-summarized.json', 'paper-searched.json', 'self-moa.json', 'llm-ranker.json'].map(example),
  ...['gpt-4o-2024-05-13', 'Qwen/Qwen1.5-110B-Chat', 'meta-llama/Llama-3-70b-chat-hf'].map((m) => singleModelMixture(m)),
];

interface Run {
  wallS: number;
  dollars: number;
  answered: number;
  httpRequests: number;
  chatRequests: number;
  jobs: number;
  stages?: number;
  fallback?: number;
  results: EvalResult[];
}

const batchHttp = () => Object.values(server.batch.counts).reduce((a, b) => a + b, 0);

async function evaluateAll(executor: Executor, concurrency: number): Promise<EvalResult[]> {
  return Promise.all(MIXTURES.map((mixture) => evaluateMixture({ mixture, space, items, executor, concurrency })));
}

async function online(): Promise<Run> {
  const chat0 = server.requests();
  const ex = await openExecutor({ space, dbPath: join(dir, 'online.sqlite') });
  const t0 = performance.now();
  const results = await evaluateAll(ex, 16);
  const wallS = (performance.now() - t0) / 1000;
  const s = ex.spend();
  await ex.close();
  const chat = server.requests() - chat0;
  return { wallS, dollars: s.total, answered: s.calls.made, httpRequests: chat, chatRequests: chat, jobs: 0, results };
}

async function batched(): Promise<Run> {
  const chat0 = server.requests();
  const http0 = batchHttp();
  const jobs0 = server.batch.counts.created;
  const ex = await withBatching(await openExecutor({ space, dbPath: join(dir, 'batch.sqlite') }), {
    onEvent: (e) => {
      if (e.type === 'stage') console.error(`  stage ${e.stage}: ${e.requests} requests in ${e.jobs} jobs (${Object.entries(e.purposes).map(([k, n]) => `${k} ×${n}`).join(', ')})`);
    },
  });
  const t0 = performance.now();
  const results = await evaluateAll(ex, items.length);
  const wallS = (performance.now() - t0) / 1000;
  const s = ex.spend();
  const st = ex.batchStats();
  await ex.close();
  const chat = server.requests() - chat0;
  return { wallS, dollars: s.total, answered: s.calls.made, httpRequests: batchHttp() - http0 + chat, chatRequests: chat, jobs: server.batch.counts.created - jobs0, stages: st.stages, fallback: st.fallback, results };
}

const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const cli = (args: string[]) => spawn(process.execPath, ['--import', TSX, resolve(PACKAGE_ROOT, 'src/cli/main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function finished(child: ReturnType<typeof cli>, onStderr?: (all: string) => void): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    onStderr?.(stderr);
  });
  return new Promise((r) => child.on('close', (code) => r({ code, stdout, stderr })));
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

/**
 * kill -9 a batched command once it has submitted the jobs of batch stage `stage` and polled them a while, rerun
 * it, and count the requests submitted in two jobs.
 */
async function killAndRerun(args: string[], stage: number) {
  const jobs0 = server.batch.jobIds().length;
  const t0 = performance.now();
  let polling!: () => void;
  const submitted = new Promise<void>((r) => (polling = r));
  const child = cli(args);
  const first = finished(child, (err) => {
    const at = err.indexOf(`batch stage ${stage}:`);
    if (at >= 0 && err.includes(' submitted: ', at)) polling();
  });
  await Promise.race([submitted, first.then((f) => Promise.reject(new Error(`the command ended before stage ${stage} (${f.code}): ${f.stderr}`)))]);
  await new Promise((r) => setTimeout(r, Math.min(DELAY_MS / 3, 2 * POLL_S * 1000))); // well into polling
  const submittedBeforeKill = server.batch.jobIds().length - jobs0;
  child.kill('SIGKILL');
  await first;
  const killedAtS = (performance.now() - t0) / 1000;
  const rerun = await finished(cli(args));
  const totalS = (performance.now() - t0) / 1000;
  if (rerun.code !== 0) throw new Error(`rerun failed (${rerun.code}): ${rerun.stderr}`);
  const jobs = server.batch.jobIds().slice(jobs0);
  const seen = new Map<string, number>();
  for (const id of jobs) for (const l of server.batch.jobInput(id)) seen.set(l.customId, (seen.get(l.customId) ?? 0) + 1);
  const twice = [...seen.values()].filter((n) => n > 1).length;
  const out = lastJson(rerun.stdout);
  return { submittedBeforeKill, killedAtS, totalS, jobs: jobs.length, requestsInTwoJobs: twice, attached: out.batch.jobsAttached, fallback: out.batch.fallback, reattachLines: (rerun.stderr.match(/re-attached/g) ?? []).length, out };
}

// Table 2: `generate sft` of N_SFT examples with the default best mixture, through the CLI as a user runs it.
const simSpace = loadSpace(SIM_SPACE_FILE);
const BEST = bestSimMixture(simSpace);
const pool = promptPool(dir, N_SFT);
const sftArgs = (name: string, ...more: string[]) => [
  'generate', 'sft', '--space', spaceFile, '--mixture', JSON.stringify(toMixtureFile(BEST)), '--prompts', pool.file, '--limit', String(N_SFT),
  '--out', join(dir, `${name}.jsonl`), '--db', join(dir, `${name}.sqlite`), '--json', ...more,
];

interface SftRun extends Omit<Run, 'results'> {
  sha256: string;
  lines: number;
  listDollars: number;
}

async function generateSft(batch: boolean): Promise<SftRun> {
  const chat0 = server.requests();
  const http0 = batchHttp();
  const jobs0 = server.batch.counts.created;
  const t0 = performance.now();
  const r = await finished(cli(batch ? sftArgs('sft-batch', '--batch') : sftArgs('sft-online')));
  const wallS = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`generate sft failed (${r.code}): ${r.stderr}`);
  const { manifest: m, batch: st } = lastJson(r.stdout);
  const chat = server.requests() - chat0;
  return {
    wallS,
    dollars: m.dollars.thisRun,
    listDollars: m.dollars.dataset,
    answered: m.calls.madeThisRun,
    httpRequests: batchHttp() - http0 + chat,
    chatRequests: chat,
    jobs: server.batch.counts.created - jobs0,
    stages: st?.stages,
    fallback: st?.fallback,
    sha256: m.output.sha256,
    lines: m.output.lines,
  };
}

const load0 = loadavg()[0]!;
console.error(`batch bench: 10 mixtures × ${items.length} prompts; sim batch delay ${DELAY_MS / 1000} s per job, polled every ${POLL_S} s`);
console.error('online…');
const on = await online();
console.error(`  ${on.wallS.toFixed(1)} s, $${on.dollars.toFixed(4)}`);
console.error('batch…');
const ba = await batched();
console.error(`  ${ba.wallS.toFixed(1)} s, $${ba.dollars.toFixed(4)}`);
const sameScores = on.results.every((r, i) => r.score === ba.results[i]!.score && JSON.stringify(r.ci) === JSON.stringify(ba.results[i]!.ci));
console.error('kill -9 during polling, then rerun…');
const kill = await killAndRerun(['eval', '--batch', '--space', spaceFile, '--mixture', resolve(PACKAGE_ROOT, 'search-spaces/examples/moa-lite.json'), '--db', join(dir, 'kill.sqlite'), '--json'], 1);
console.error(`generate sft, ${N_SFT} prompts, online…`);
const sOn = await generateSft(false);
console.error(`  ${sOn.wallS.toFixed(1)} s, $${sOn.dollars.toFixed(4)}`);
console.error('generate sft --batch…');
const sBa = await generateSft(true);
console.error(`  ${sBa.wallS.toFixed(1)} s, $${sBa.dollars.toFixed(4)}`);
console.error('generate sft --batch: kill -9 while polling the aggregations, then rerun…');
const sKill = await killAndRerun(sftArgs('sft-kill', '--batch'), 2);
const sKillLines = readFileSync(join(dir, 'sft-kill.jsonl'), 'utf8').trim().split('\n');
const sKillDuplicates = sKillLines.length - new Set(sKillLines).size;
await server.close();
rmSync(dir, { recursive: true, force: true });

const pct = (100 * ba.dollars) / on.dollars;
const sPct = (100 * sBa.dollars) / sOn.dollars;
const load1 = loadavg()[0]!;
const f = (x: number, d = 1) => x.toFixed(d);
const section = [
  '<!-- bench:batch (generated by `npm run bench:batch -- --write`; do not edit by hand) -->',
  '## Batch APIs: evaluations and datasets at half the price (`npm run bench:batch`)',
  '',
  `Generated by \`bench/batch.ts\` on ${new Date().toISOString().slice(0, 10)}, against \`sim serve\`'s HTTP endpoint started by the script (chat completions and the Batch API, \`--batch-delay-ms ${DELAY_MS}\`: every job stays in progress ${DELAY_MS / 1000} s), \`pollSeconds: ${POLL_S}\`, each side from an empty cache, on the shared 2-core machine (1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end: wall times of CPU-bound work, the online runs above all, stretch with it).`,
  '',
  '### Evaluating 10 fixed mixtures',
  '',
  `The 10 mixtures below evaluated on \`sim-100.jsonl\` (100 prompts, judge gpt-4o-mini), all 10 at once through one executor: ${MIXTURES.map((m) => `\`${mixtureName(m, space)}\``).join(', ')}.`,
  '',
  '| | online | `--batch` | batch / online |',
  '|---|---:|---:|---:|',
  `| dollars (mixture + judge, list prices) | $${f(on.dollars, 4)} | $${f(ba.dollars, 4)} | **${f(pct)}%** (target ≤ 52%) |`,
  `| requests answered by the provider | ${on.answered} | ${ba.answered} | |`,
  `| HTTP requests to the provider | ${on.httpRequests} | ${ba.httpRequests} (${ba.jobs} jobs; uploads, creates, polls, downloads; ${ba.chatRequests} chat calls) | ${f((100 * ba.httpRequests) / on.httpRequests)}% |`,
  `| wall time | ${f(on.wallS)} s | ${f(ba.wallS)} s (${ba.stages} stages of ≥ ${DELAY_MS / 1000} s) | |`,
  `| scores and intervals identical to online | | ${sameScores ? 'yes, all 10' : '**no**'} | |`,
  `| requests answered online instead (fallbacks) | | ${ba.fallback} | |`,
  '',
  `**kill -9 during polling.** \`moa-search eval --batch\` (MoA-Lite, 100 prompts) was killed with SIGKILL ${f(kill.killedAtS)} s after it started,`,
  `while polling its first ${kill.submittedBeforeKill} jobs; the rerun re-attached to ${kill.attached} of them (said ${kill.reattachLines}× in its progress), submitted`,
  `the later stages, and finished ${f(kill.totalS)} s after the first start. Jobs in all: ${kill.jobs}; requests submitted in two jobs: **${kill.requestsInTwoJobs}**;`,
  `fallbacks online: ${kill.fallback}.`,
  '',
  `### Generating ${N_SFT.toLocaleString('en-US')} SFT examples`,
  '',
  `\`moa-search generate sft\` run as a user runs it (a subprocess; wall time includes its start), with the default best mixture \`${mixtureName(BEST, simSpace)}\` (the sim's ground-truth optimum, as in "MoAA data generation"), on the first ${N_SFT} prompts of ${pool.origin}. Online: the default \`--concurrency 8\`; \`--batch\`: every prompt in flight (its default).`,
  '',
  '| | online | `--batch` | batch / online |',
  '|---|---:|---:|---:|',
  `| dollars paid | $${f(sOn.dollars, 4)} | $${f(sBa.dollars, 4)} | **${f(sPct)}%** (target ≤ 52%) |`,
  `| the dataset at list prices (manifest \`dollars.dataset\`) | $${f(sOn.listDollars, 4)} | $${f(sBa.listDollars, 4)} | |`,
  `| requests answered by the provider | ${sOn.answered} | ${sBa.answered} | |`,
  `| HTTP requests to the provider | ${sOn.httpRequests} | ${sBa.httpRequests} (${sBa.jobs} jobs; uploads, creates, polls, downloads; ${sBa.chatRequests} chat calls) | ${f((100 * sBa.httpRequests) / sOn.httpRequests)}% |`,
  `| wall time | ${f(sOn.wallS)} s | ${f(sBa.wallS)} s (${sBa.stages} stages of ≥ ${DELAY_MS / 1000} s) | |`,
  `| output identical to online (sha256 of the file) | | ${sBa.sha256 === sOn.sha256 ? `yes, ${sBa.lines} lines` : '**no**'} | |`,
  `| requests answered online instead (fallbacks) | | ${sBa.fallback} | |`,
  '',
  `**kill -9 during polling.** \`moa-search generate sft --batch\` (the same ${N_SFT} prompts, its own database) was killed with SIGKILL ${f(sKill.killedAtS)} s after it`,
  `started, while polling the aggregators' job of stage 2 (${sKill.submittedBeforeKill} jobs submitted before the kill); the rerun found stage 1's answers in the cache, re-attached to ${sKill.attached} job${sKill.attached === 1 ? '' : 's'}`,
  `(said ${sKill.reattachLines}× in its progress) and finished ${f(sKill.totalS)} s after the first start: ${sKill.out.manifest.output.lines} lines, ${sKillDuplicates} duplicates, ${sKill.out.manifest.output.sha256 === sOn.sha256 ? 'the same file as online' : '**a different file from online**'}.`,
  `Jobs in all: ${sKill.jobs}; requests submitted in two jobs: **${sKill.requestsInTwoJobs}**; fallbacks online: ${sKill.fallback}.`,
  '',
  `The price ratio is the configured \`discount: 0.5\` exactly when nothing falls back online: the same requests (same cache keys, same`,
  'tokens) are answered, each at half price. Batched, a stage is one flush of the queue (every pending request of one depth, one job',
  'per model), so wall time is about (number of stages) × (job delay + one or two poll intervals), whatever the number of prompts; online',
  'it is bounded by the provider\'s concurrency and latency (here a zero-latency local server, so seconds).',
  '<!-- /bench:batch -->',
].join('\n');

console.log(section);
if (WRITE) {
  const file = resolve(PACKAGE_ROOT, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const re = /<!-- bench:batch[\s\S]*?<!-- \/bench:batch -->/;
  writeFileSync(file, re.test(doc) ? doc.replace(re, () => section) : doc.trimEnd() + '\n\n' + section + '\n');
  console.error('wrote docs/benchmarks.md');
}
