/**
 * Search benchmark (`npm run bench:search`): what the default command returns for a budget in dollars, on the
 * simulated world whose ground truth is known — regret of the answer, error of its printed score, coverage of its
 * printed 95% interval — for every strategy, at $2, $5, $10 and $20, on sim.yaml and sim-12.yaml.
 *
 * Every run is the default command's path: `runSearch` with the budget and nothing else (references included, all
 * 100 prompts available, fidelity chosen by the strategy), each with its own empty in-memory cache, so its dollars are
 * what that search would pay from an empty cache. Runs are spread over worker processes (`--jobs`); results are
 * appended to a JSONL file as they finish, so an interrupted benchmark continues where it stopped.
 *
 *   npx tsx bench/search.ts [--seeds 40] [--seed0 0] [--spaces sim.yaml,sim-12.yaml] [--budgets 2,5,10,20]
 *                           [--strategies bfgs,random,greedy,archon] [--jobs 2] [--results runs/bench-search.jsonl]
 *                           [--fresh] [--out docs/benchmarks.md | --no-doc]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, appendFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSpace, mixtureName, parseMixtureObject, type SearchSpace } from '../src/config/index.js';
import { loadValidationSet } from '../src/eval/index.js';
import type { ValidationItem } from '../src/eval/types.js';
import { openStorage } from '../src/executor/index.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { createSimProvider, createTruthOracle } from '../src/sim/index.js';
import type { ChatProvider, ProviderRequest, ProviderResponse } from '../src/providers/types.js';
import { boxSize, fromMixtureFile, searchDims, toMixture, type Point, type SearchDims } from '../src/search/encoding.js';
import { enumeratePoints } from '../src/search/strategies/index.js';
import { runSearch } from '../src/search/run-search.js';
import { mulberry32 } from '../src/random.js';
import { writeDocSection } from './_doc-section.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const has = (name: string) => args.includes(`--${name}`);
const SEEDS = Number(flag('seeds', '40'));
const SEED0 = Number(flag('seed0', '0'));
const SPACES = flag('spaces', 'sim.yaml,sim-12.yaml').split(',');
const BUDGETS = flag('budgets', '2,5,10,20').split(',').map(Number);
const STRATS = flag('strategies', 'bfgs,random,greedy,archon').split(',');
const JOBS = Number(flag('jobs', '2'));
const RESULTS = resolve(PACKAGE_ROOT, flag('results', 'runs/bench-search.jsonl'));
const OUT = resolve(PACKAGE_ROOT, flag('out', 'docs/benchmarks.md'));
const VALIDATION = resolve(PACKAGE_ROOT, 'validation-sets/sim-100.jsonl');
const SELF = fileURLToPath(import.meta.url);

interface Task {
  space: string;
  budget: number;
  strategy: string;
  seed: number;
}
interface Result extends Task {
  label: string;
  key: string;
  /** The answer's point in the box (starts for the optimum's local search). */
  point?: Point;
  truth: number;
  printed: number;
  ci: [number, number];
  prompts: number;
  measurements: number;
  mixtures: number;
  spent: number;
  stopped: string;
  seconds: number;
}
const taskKey = (t: Task) => `${t.space}|${t.budget}|${t.strategy}|${t.seed}`;

/** Layer-1 answers (the prompt alone) repeat across runs: keep them in memory; everything else goes to the sim. */
function memoSim(): ChatProvider {
  const sim = createSimProvider({ worldSeed: 0 });
  const memo = new Map<string, ProviderResponse>();
  return {
    name: 'sim',
    async complete(req: ProviderRequest, o): Promise<ProviderResponse> {
      if (req.messages.length !== 1) return sim.complete(req, o);
      const key = `${req.model}\u0000${req.seed}\u0000${req.temperature}\u0000${req.maxTokens}\u0000${req.messages[0]!.content}`;
      const hit = memo.get(key);
      if (hit) return hit;
      const r = await sim.complete(req, o);
      if (memo.size < 300_000) memo.set(key, r);
      return r;
    },
  };
}

// ---- worker: run tasks, append results --------------------------------------------------------------------

async function worker(tasks: Task[], out: string): Promise<void> {
  const items = loadValidationSet(VALIDATION);
  const sim = memoSim();
  const providers = new Map([['sim', sim]]);
  const spaces = new Map<string, { space: SearchSpace; oracle: ReturnType<typeof createTruthOracle>; dims: SearchDims }>();
  for (const t of tasks) {
    if (!spaces.has(t.space)) {
      const space = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces', t.space));
      spaces.set(t.space, { space, oracle: createTruthOracle({ space, items }), dims: searchDims(space) });
    }
    const { space, oracle, dims } = spaces.get(t.space)!;
    const t0 = Date.now();
    const storage = await openStorage(':memory:');
    const o = await runSearch({
      space,
      items,
      storage,
      studyName: 'bench',
      providers,
      concurrency: 8,
      config: { spaceFile: t.space, validationFile: VALIDATION, strategy: t.strategy, seed: t.seed, budget: t.budget, layers: dims.layers, aggregators: dims.aggregators, simulated: true },
    });
    await storage.close();
    const b = o.best!;
    const m = parseMixtureObject(b.mixture, space);
    const r: Result = {
      ...t,
      label: b.trial.label,
      key: b.trial.mixtureKey,
      ...(fromMixtureFile(dims, b.mixture) ? { point: fromMixtureFile(dims, b.mixture)! } : {}),
      truth: oracle(m).score,
      printed: b.estimate.mean,
      ci: b.estimate.ci,
      prompts: b.estimate.prompts,
      measurements: b.estimate.measurements,
      mixtures: o.trials.length,
      spent: o.spent,
      stopped: o.stopped,
      seconds: (Date.now() - t0) / 1000,
    };
    appendFileSync(out, JSON.stringify(r) + '\n');
  }
}

// ---- driver: tasks, workers, optimum, table ---------------------------------------------------------------

function readResults(): Result[] {
  if (!existsSync(RESULTS)) return [];
  return readFileSync(RESULTS, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Result);
}

async function runWorkers(todo: Task[]): Promise<void> {
  // Seed by seed (an interrupted benchmark leaves whole seeds), dearest first within a seed, dealt round-robin.
  const sorted = [...todo].sort((a, b) => a.seed - b.seed || b.budget - a.budget || a.space.localeCompare(b.space));
  const dir = dirname(RESULTS);
  await Promise.all(
    Array.from({ length: JOBS }, (_, w) => {
      const mine = sorted.filter((_, i) => i % JOBS === w);
      if (!mine.length) return Promise.resolve();
      const file = resolve(dir, `.bench-search-tasks-${w}.json`);
      writeFileSync(file, JSON.stringify(mine));
      return new Promise<void>((ok, fail) => {
        const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--worker', file, '--results', RESULTS], { stdio: 'inherit', cwd: PACKAGE_ROOT });
        child.on('exit', (code) => {
          unlinkSync(file);
          if (code === 0) ok();
          else fail(new Error(`worker ${w} exited with ${code}`));
        });
      });
    }),
  );
}

/** The box optimum by the noise-free oracle: exhaustive when small, else multi-start steepest ascent per aggregator (a lower bound). */
function boxOptimum(space: SearchSpace, items: ValidationItem[], starts: Point[]): { score: number; label: string; method: string } {
  const dims = searchDims(space);
  const oracle = createTruthOracle({ space, items });
  const truth = (p: Point) => oracle(toMixture(dims, p)).score;
  if (boxSize(dims) <= 20_000) {
    let best = { score: -Infinity, point: enumeratePoints(dims)[0]! };
    for (const p of enumeratePoints(dims)) {
      const s = truth(p);
      if (s > best.score) best = { score: s, point: p };
    }
    return { score: best.score, label: mixtureName(toMixture(dims, best.point), space), method: `exhaustive over all ${boxSize(dims)} mixtures` };
  }
  const rand = mulberry32(12345);
  const all = [...starts];
  for (let agg = 0; agg < dims.aggregators.length; agg++) for (let i = 0; i < 12; i++) all.push({ counts: dims.proposers.map((m) => Math.floor(rand() * (m.max + 1))), agg });
  const memo = new Map<string, number>();
  const f = (p: Point) => {
    const k = `${p.agg}:${p.counts.join(',')}`;
    if (!memo.has(k)) memo.set(k, p.counts.some((c) => c > 0) ? truth(p) : -Infinity);
    return memo.get(k)!;
  };
  let best = { score: -Infinity, point: all[0]! };
  for (const s0 of all) {
    let cur = { point: s0, score: f(s0) };
    for (;;) {
      let next = cur;
      for (let i = 0; i < dims.proposers.length; i++) {
        for (const step of [-1, 1]) {
          const c = cur.point.counts.slice();
          c[i]! += step;
          if (c[i]! < 0 || c[i]! > dims.proposers[i]!.max) continue;
          const p = { counts: c, agg: cur.point.agg };
          const s = f(p);
          if (s > next.score) next = { point: p, score: s };
        }
      }
      if (next === cur) break;
      cur = next;
    }
    if (cur.score > best.score) best = cur;
  }
  return { score: best.score, label: mixtureName(toMixture(dims, best.point), space), method: `steepest ascent on the oracle from ${all.length} starts (every answer of the benchmark and 12 random points per aggregator; ${memo.size} mixtures scored): a lower bound on the true optimum` };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};
const fmt = (v: number, d = 2) => v.toFixed(d);

interface Cell {
  regret: number[];
  err: number[];
  covered: number;
  n: number;
  spent: number[];
  measurements: number[];
  prompts: number[];
}

function cells(results: Result[], optimum: number): Map<string, Cell> {
  const out = new Map<string, Cell>();
  for (const r of results) {
    const k = `${r.strategy}|${r.budget}`;
    const c = out.get(k) ?? out.set(k, { regret: [], err: [], covered: 0, n: 0, spent: [], measurements: [], prompts: [] }).get(k)!;
    c.regret.push(optimum - r.truth);
    c.err.push(Math.abs(r.printed - r.truth));
    if (r.ci[0] <= r.truth && r.truth <= r.ci[1]) c.covered++;
    c.n++;
    c.spent.push(r.spent);
    c.measurements.push(r.measurements);
    c.prompts.push(r.prompts);
  }
  return out;
}

const TARGETS: Record<string, Record<number, number>> = { 'sim.yaml': { 2: 3.0, 5: 1.5, 10: 0.75, 20: 0.5 }, 'sim-12.yaml': { 20: 2.5 } };

function spaceSection(file: string, results: Result[], opt: { score: number; label: string; method: string }, space: SearchSpace): { text: string; verdicts: string[] } {
  const dims = searchDims(space);
  const budgets = [...new Set(results.map((r) => r.budget))].sort((a, b) => a - b);
  const strategies = STRATS.filter((s) => results.some((r) => r.strategy === s));
  const cs = cells(results, opt.score);
  const lines: string[] = [];
  const seeds = [...new Set(results.map((r) => r.seed))];
  lines.push(`### ${file}: ${dims.proposers.length} candidate proposers × ${dims.aggregators.length} aggregators (${dims.aggregators.map((a) => space.models.find((m) => m.id === a)?.label ?? a).join(', ')}), ${boxSize(dims)} mixtures`, '');
  lines.push(`Optimum (true score ${fmt(opt.score)}): \`${opt.label}\`, found by ${opt.method}. ${seeds.length} seeds per cell.`, '');
  lines.push('Regret of the answer (true score of the optimum − true score of the answer), median [IQR]:', '');
  lines.push('| strategy | ' + budgets.map((b) => `$${b}`).join(' | ') + ' |', '|---|' + budgets.map(() => '---:').join('|') + '|');
  for (const s of strategies) lines.push(`| \`${s}\` | ` + budgets.map((b) => { const c = cs.get(`${s}|${b}`); return c ? `${fmt(quantile(c.regret, 0.5))} [${fmt(quantile(c.regret, 0.25))}, ${fmt(quantile(c.regret, 0.75))}]` : '—'; }).join(' | ') + ' |');
  lines.push('', 'Honesty of the printed score: median |printed − true| · share of printed 95% intervals that cover the true score:', '');
  lines.push('| strategy | ' + budgets.map((b) => `$${b}`).join(' | ') + ' |', '|---|' + budgets.map(() => '---:').join('|') + '|');
  for (const s of strategies) lines.push(`| \`${s}\` | ` + budgets.map((b) => { const c = cs.get(`${s}|${b}`); return c ? `${fmt(quantile(c.err, 0.5))} · ${Math.round((100 * c.covered) / c.n)}%` : '—'; }).join(' | ') + ' |');
  lines.push('', 'What the answer stands on and what the search paid, medians: prompts of the answer / its measurements / dollars spent:', '');
  lines.push('| strategy | ' + budgets.map((b) => `$${b}`).join(' | ') + ' |', '|---|' + budgets.map(() => '---:').join('|') + '|');
  for (const s of strategies) lines.push(`| \`${s}\` | ` + budgets.map((b) => { const c = cs.get(`${s}|${b}`); return c ? `${quantile(c.prompts, 0.5)} / ${quantile(c.measurements, 0.5)} / $${fmt(quantile(c.spent, 0.5))}` : '—'; }).join(' | ') + ' |');
  const secs = results.reduce((a, r) => a + r.seconds, 0);
  lines.push('', `Wall time of these runs, summed over runs: ${fmt(secs / 60, 1)} min.`, '');

  const verdicts: string[] = [];
  const med = (s: string, b: number, k: 'regret' | 'err') => { const c = cs.get(`${s}|${b}`); return c ? quantile(c[k], 0.5) : NaN; };
  for (const [b, target] of Object.entries(TARGETS[file] ?? {})) {
    const m = med('bfgs', Number(b), 'regret');
    if (Number.isFinite(m)) verdicts.push(`- ${file} at $${b}: bfgs median regret ${fmt(m)} (target ≤ ${target}): **${m <= target ? 'met' : 'missed'}**.`);
  }
  const losses: string[] = [];
  for (const b of budgets) for (const s of strategies.filter((x) => x !== 'bfgs')) if (!(med('bfgs', b, 'regret') < med(s, b, 'regret'))) losses.push(`$${b} vs ${s}: ${fmt(med('bfgs', b, 'regret'))} vs ${fmt(med(s, b, 'regret'))}`);
  verdicts.push(`- ${file}: bfgs lower than every baseline at every budget: **${losses.length ? 'missed' : 'met'}**${losses.length ? ` (${losses.join('; ')})` : ''}.`);
  const honesty: string[] = [];
  for (const b of budgets) {
    const c = cs.get(`bfgs|${b}`);
    if (!c) continue;
    const e = quantile(c.err, 0.5);
    const cov = c.covered / c.n;
    if (e > 1.5 || cov < 0.9) honesty.push(`$${b}: ${fmt(e)} · ${Math.round(100 * cov)}%`);
  }
  verdicts.push(`- ${file}: bfgs median |printed − true| ≤ 1.5 and coverage ≥ 90% at every budget: **${honesty.length ? 'missed' : 'met'}**${honesty.length ? ` (${honesty.join('; ')})` : ''}.`);
  return { text: lines.join('\n'), verdicts };
}

/** When the simulated world last changed (its newest source file): results hold for that version of the sim. */
function simVersion(): string {
  const dir = resolve(PACKAGE_ROOT, 'src/sim');
  const newest = Math.max(...readdirSync(dir).map((f) => statSync(resolve(dir, f)).mtimeMs));
  return new Date(newest).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

function writeDoc(results: Result[]): void {
  const runMinutes = results.reduce((a, r) => a + r.seconds, 0) / 60;
  const items = loadValidationSet(VALIDATION);
  const sections: string[] = [];
  const verdicts: string[] = [];
  for (const file of SPACES) {
    const rs = results.filter((r) => r.space === file);
    if (!rs.length) continue;
    const space = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces', file));
    const opt = boxOptimum(space, items, rs.flatMap((r) => (r.point ? [r.point] : [])));
    const s = spaceSection(file, rs, opt, space);
    sections.push(s.text);
    verdicts.push(...s.verdicts);
  }
  const seeds = [...new Set(results.map((r) => r.seed))].sort((a, b) => a - b);
  const doc = [
    '## Search: the default command by dollars (`npm run bench:search`)',
    '',
    `Generated by \`bench/search.ts\` on ${new Date().toISOString().slice(0, 10)}: seeds ${seeds[0]}–${seeds.at(-1)} (${seeds.length}) per strategy, budget and space; ` +
      `validation set \`${basename(VALIDATION)}\` (${items.length} prompts); simulated world as of ${simVersion()} (newest file in src/sim/). ` +
      `The runs took ${fmt(runMinutes, 0)} min of wall time summed over runs (worker processes in parallel under \`nice -n 10\` on the shared 2-core machine).`,
    '',
    'How it is run: every run is the default command\'s path — `runSearch` with the budget and nothing else (the references, all prompts available, ' +
      'fidelity and replicates as the strategy chooses) — each with its own empty in-memory cache, so its dollars are what that search would pay from an empty cache ' +
      '(mixture and judge calls at list prices). A memo in front of the simulated provider answers repeated layer-1 calls across runs from memory (no effect on dollars). ' +
      'The answer and its printed score and interval are what the command prints; their truth is the exact expected score on the 100 prompts from `createTruthOracle`. ' +
      'Regret = true score of the optimum − true score of the answer.',
    '',
    ...sections,
    '### Targets (issue #16)',
    '',
    ...verdicts,
    '',
  ].join('\n');
  writeDocSection(OUT, 'Search: ', doc);
}

async function main(): Promise<void> {
  if (has('worker')) {
    const tasks = JSON.parse(readFileSync(flag('worker', ''), 'utf8')) as Task[];
    await worker(tasks, RESULTS);
    return;
  }
  mkdirSync(dirname(RESULTS), { recursive: true });
  if (has('fresh') && existsSync(RESULTS)) unlinkSync(RESULTS);
  const tasks: Task[] = [];
  for (const space of SPACES) for (const budget of BUDGETS) for (const strategy of STRATS) for (let seed = SEED0; seed < SEED0 + SEEDS; seed++) tasks.push({ space, budget, strategy, seed });
  const done = new Set(readResults().map(taskKey));
  const todo = tasks.filter((t) => !done.has(taskKey(t)));
  const t0 = Date.now();
  process.stderr.write(`${tasks.length} runs, ${tasks.length - todo.length} already in ${RESULTS}, ${todo.length} to go on ${JOBS} workers\n`);
  await runWorkers(todo);
  const want = new Set(tasks.map(taskKey));
  const results = readResults().filter((r) => want.has(taskKey(r)));
  const minutes = (Date.now() - t0) / 60000;
  if (!has('no-doc')) writeDoc(results);
  process.stderr.write(`done in ${fmt(minutes, 1)} min${has('no-doc') ? '' : `; wrote ${OUT}`}\n`);
}

await main();
