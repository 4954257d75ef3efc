/**
 * Search benchmark (`npm run bench:search`): regret of the returned mixture after 10, 20 and 40 evaluations,
 * on the simulated world whose ground truth is known, for bfgs, random, greedy and the fixed MoA-Lite mixture.
 *
 * Every run is a real search (`runSearch`: strategy → evaluateMixture → executor → in-process sim) on the full
 * 100-prompt validation set. Each run gets a fresh in-memory cache, so its dollars are what a search from an empty
 * cache would pay; a process-wide memo in front of the sim provider makes calls repeated across runs cheap.
 *
 *   npx tsx bench/search.ts [--seeds 20] [--spaces sim.yaml,sim-12.yaml] [--strategies bfgs,random,greedy]
 *                           [--evals 40] [--out docs/benchmarks.md] [--json runs/bench-search.json]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, resolve, basename } from 'node:path';
import { loadMixture, loadSpace, mixtureName, parseMixtureObject, type Mixture, type SearchSpace } from '../src/config/index.js';
import { evaluateMixture, loadValidationSet } from '../src/eval/index.js';
import type { ValidationItem } from '../src/eval/types.js';
import { openExecutor, openStorage } from '../src/executor/index.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { createSimProvider, createTruthOracle, type TruthOracle } from '../src/sim/index.js';
import type { ChatProvider, ProviderRequest, ProviderResponse } from '../src/providers/types.js';
import { bestTrial } from '../src/search/answer.js';
import { enumeratePoints, type StrategyName } from '../src/search/strategies/index.js';
import { boxSize, searchDims, toMixture, type Point, type SearchDims } from '../src/search/encoding.js';
import { runSearch } from '../src/search/run-search.js';
import { mulberry32 } from '../src/random.js';
import type { TrialRecord } from '../src/search/types.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const SEEDS = Number(flag('seeds', '20'));
const SPACES = flag('spaces', 'sim.yaml,sim-12.yaml').split(',');
const STRATS = flag('strategies', 'bfgs,random,greedy').split(',') as StrategyName[];
const EVALS = Number(flag('evals', '40'));
const CHECKPOINTS = [10, 20, 40].filter((k) => k <= EVALS);
const OUT = resolve(PACKAGE_ROOT, flag('out', 'docs/benchmarks.md'));
const JSON_OUT = resolve(PACKAGE_ROOT, flag('json', 'runs/bench-search.json'));
const VALIDATION = resolve(PACKAGE_ROOT, flag('validation', 'validation-sets/sim-100.jsonl'));

/** Sim provider behind a memo: identical requests across runs are answered from memory (the sim is deterministic). */
function memoSim(): ChatProvider & { hits: number; misses: number } {
  const sim = createSimProvider({ worldSeed: 0 });
  const memo = new Map<string, ProviderResponse>();
  const p = {
    name: 'sim',
    hits: 0,
    misses: 0,
    async complete(req: ProviderRequest): Promise<ProviderResponse> {
      const key = createHash('sha1').update(JSON.stringify(req)).digest('base64');
      const hit = memo.get(key);
      if (hit) {
        p.hits++;
        return hit;
      }
      p.misses++;
      const r = await sim.complete(req);
      memo.set(key, r);
      return r;
    },
  };
  return p;
}

/** The box optimum by the noise-free oracle: exhaustive when small, else multi-start steepest ascent (a lower bound). */
function boxOptimum(dims: SearchDims, truth: (p: Point) => number, seeds: Point[]): { score: number; point: Point; method: string } {
  if (boxSize(dims) <= 5000) {
    let best = { score: -Infinity, point: seeds[0]! };
    for (const p of enumeratePoints(dims)) {
      const s = truth(p);
      if (s > best.score) best = { score: s, point: p };
    }
    return { ...best, method: `exhaustive over all ${boxSize(dims)} mixtures` };
  }
  const rand = mulberry32(12345);
  const starts = [...seeds];
  for (let i = 0; i < 20; i++) starts.push({ counts: dims.proposers.map((m) => Math.floor(rand() * (m.max + 1))), agg: 0 });
  let best = { score: -Infinity, point: starts[0]! };
  const memo = new Map<string, number>();
  const f = (p: Point) => {
    const k = p.counts.join(',');
    if (!memo.has(k)) memo.set(k, p.counts.some((c) => c > 0) ? truth(p) : -Infinity);
    return memo.get(k)!;
  };
  for (const s0 of starts) {
    let cur = { point: s0, score: f(s0) };
    for (;;) {
      let next = cur;
      for (let i = 0; i < dims.proposers.length; i++) {
        for (const step of [-1, 1]) {
          const c = cur.point.counts.slice();
          c[i]! += step;
          if (c[i]! < 0 || c[i]! > dims.proposers[i]!.max) continue;
          const p = { counts: c, agg: 0 };
          const s = f(p);
          if (s > next.score) next = { point: p, score: s };
        }
      }
      if (next === cur) break;
      cur = next;
    }
    if (cur.score > best.score) best = cur;
  }
  return { ...best, method: `steepest ascent on the oracle from ${starts.length} starts (${memo.size} mixtures scored; a lower bound on the true optimum)` };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
};

interface Cell {
  regret: number[];
  dollars: number[];
}
interface SpaceResult {
  space: string;
  proposers: number;
  boxSize: number;
  optimum: { score: number; label: string; method: string };
  moaLite?: { score: number; regret: number; dollars: number };
  cells: Record<string, Record<number, Cell>>;
  evalsDone: Record<string, number[]>;
  seconds: number;
}

async function benchSpace(file: string, items: ValidationItem[], sim: ChatProvider): Promise<SpaceResult> {
  const started = Date.now();
  const space: SearchSpace = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces', file));
  const dims = searchDims(space);
  const oracle: TruthOracle = createTruthOracle({ space, items });
  const truthOf = (m: Mixture) => oracle(m).score;
  const truthPoint = (p: Point) => truthOf(toMixture(dims, p));
  const providers = new Map([['sim', sim]]);
  const cells: SpaceResult['cells'] = {};
  const evalsDone: Record<string, number[]> = {};
  const found: Point[] = [{ counts: dims.proposers.map(() => 1), agg: 0 }];
  const runsByStrategy: Record<string, TrialRecord[][]> = {};

  for (const strategy of STRATS) {
    cells[strategy] = {};
    evalsDone[strategy] = [];
    runsByStrategy[strategy] = [];
    for (const k of CHECKPOINTS) cells[strategy]![k] = { regret: [], dollars: [] };
    for (let seed = 0; seed < SEEDS; seed++) {
      const t0 = Date.now();
      const storage = await openStorage(':memory:');
      const out = await runSearch({
        space,
        items,
        storage,
        studyName: `${strategy}-${seed}`,
        config: { spaceFile: file, validationFile: VALIDATION, strategy, seed, budget: 1e9, maxEvals: EVALS, layers: dims.layers, aggregators: dims.aggregators, simulated: true },
        references: false,
        concurrency: 8,
        providers,
      });
      await storage.close();
      runsByStrategy[strategy]!.push(out.trials);
      evalsDone[strategy]!.push(out.trials.length);
      process.stderr.write(`${file} ${strategy} seed ${seed}: ${out.trials.length} trials, stopped ${out.stopped}, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  }
  // The optimum: starts for local search include every strategy's answers.
  for (const runs of Object.values(runsByStrategy))
    for (const trials of runs) {
      const a = bestTrial(trials);
      if (a) found.push(...[a].map((t) => pointOf(dims, t)));
    }
  const opt = boxOptimum(dims, truthPoint, found);
  for (const [strategy, runs] of Object.entries(runsByStrategy)) {
    runs.forEach((trials, seed) => {
      for (const k of CHECKPOINTS) {
        const prefix = trials.slice(0, k);
        const a = bestTrial(prefix)!;
        const returned = parseMixtureObject(a.mixture, space);
        cells[strategy]![k]!.regret.push(opt.score - truthOf(returned));
        cells[strategy]![k]!.dollars.push(prefix.at(-1)?.spentCumulative ?? 0);
      }
    });
  }
  const result: SpaceResult = {
    space: file,
    proposers: dims.proposers.length,
    boxSize: boxSize(dims),
    optimum: { score: opt.score, label: mixtureName(toMixture(dims, opt.point), space), method: opt.method },
    cells,
    evalsDone,
    seconds: (Date.now() - started) / 1000,
  };
  // The paper's fixed MoA-Lite mixture: one evaluation, through the same executor path.
  const liteFile = resolve(PACKAGE_ROOT, 'search-spaces/examples/moa-lite.json');
  if (existsSync(liteFile)) {
    const lite = loadMixture(liteFile, space);
    const ex = await openExecutor({ space, providers });
    const r = await evaluateMixture({ mixture: lite, space, items, executor: ex, concurrency: 8 });
    await ex.close();
    const score = truthOf(lite);
    result.moaLite = { score, regret: opt.score - score, dollars: r.spent.total };
  }
  return result;
}

function pointOf(dims: SearchDims, t: TrialRecord): Point {
  const counts = dims.proposers.map((p) => (t.mixture.proposers?.[p.id] ?? 0));
  return { counts, agg: Math.max(0, dims.aggregators.indexOf(t.mixture.aggregator)) };
}

const fmt = (v: number, d = 2) => v.toFixed(d);

function table(r: SpaceResult): string {
  const lines: string[] = [];
  lines.push(`### ${r.space}: ${r.proposers} candidate proposers, ${r.boxSize} mixtures`);
  lines.push('');
  lines.push(`Optimum (true score ${fmt(r.optimum.score)}): \`${r.optimum.label}\`, found by ${r.optimum.method}.`);
  lines.push('');
  lines.push('| strategy | ' + CHECKPOINTS.map((k) => `regret @${k}: median [IQR]`).join(' | ') + ' | ' + CHECKPOINTS.map((k) => `$ @${k} (median)`).join(' | ') + ' |');
  lines.push('|---|' + CHECKPOINTS.map(() => '---:').join('|') + '|' + CHECKPOINTS.map(() => '---:').join('|') + '|');
  for (const [s, byK] of Object.entries(r.cells)) {
    const reg = CHECKPOINTS.map((k) => {
      const x = byK[k]!.regret;
      return `${fmt(quantile(x, 0.5))} [${fmt(quantile(x, 0.25))}, ${fmt(quantile(x, 0.75))}]`;
    });
    const usd = CHECKPOINTS.map((k) => `$${fmt(quantile(byK[k]!.dollars, 0.5), 2)}`);
    lines.push(`| \`${s}\` | ${reg.join(' | ')} | ${usd.join(' | ')} |`);
  }
  if (r.moaLite) {
    const v = `${fmt(r.moaLite.regret)} (fixed)`;
    lines.push(`| MoA-Lite (fixed, Q72 aggregator) | ${CHECKPOINTS.map(() => v).join(' | ')} | ${CHECKPOINTS.map(() => `$${fmt(r.moaLite!.dollars)}`).join(' | ')} |`);
  }
  lines.push('');
  const stopped = Object.entries(r.evalsDone)
    .filter(([, xs]) => xs.some((n) => n < EVALS))
    .map(([s, xs]) => `\`${s}\` stopped early in ${xs.filter((n) => n < EVALS).length}/${xs.length} runs (median ${quantile(xs, 0.5)} evaluations; its later checkpoints use its final answer)`);
  if (stopped.length) lines.push(stopped.join('; ') + '.', '');
  lines.push(`Wall time for this space: ${fmt(r.seconds / 60, 1)} min.`, '');
  return lines.join('\n');
}

function verdicts(results: SpaceResult[]): string[] {
  const out: string[] = [];
  const six = results.find((r) => r.space === 'sim.yaml');
  if (six?.cells.bfgs?.[20]) {
    const m = quantile(six.cells.bfgs[20]!.regret, 0.5);
    out.push(`- Target "bfgs median regret ≤ 1.0 at 20 evaluations on the 6-model space": **${m <= 1 ? 'met' : 'missed'}** (${fmt(m)}).`);
  }
  for (const r of results) {
    if (!r.cells.bfgs) continue;
    const misses: string[] = [];
    for (const k of CHECKPOINTS) {
      const b = quantile(r.cells.bfgs[k]!.regret, 0.5);
      for (const other of ['random', 'greedy']) {
        if (!r.cells[other]) continue;
        const o = quantile(r.cells[other]![k]!.regret, 0.5);
        if (!(b < o)) misses.push(`@${k} vs ${other}: ${fmt(b)} vs ${fmt(o)}`);
      }
    }
    out.push(`- Target "bfgs median regret lower than random and greedy at every count" on ${r.space}: **${misses.length ? 'missed' : 'met'}**${misses.length ? ` (${misses.join('; ')})` : ''}.`);
  }
  return out;
}

/** When the simulated world last changed (its newest source file): results hold for that version of the sim. */
function simVersion(): string {
  const dir = resolve(PACKAGE_ROOT, 'src/sim');
  const newest = Math.max(...readdirSync(dir).map((f) => statSync(resolve(dir, f)).mtimeMs));
  return new Date(newest).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

async function main() {
  const items = loadValidationSet(VALIDATION);
  const JUDGE = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces', SPACES[0]!)).judge?.model ?? 'none';
  const sim = memoSim();
  const results: SpaceResult[] = [];
  const t0 = Date.now();
  for (const s of SPACES) results.push(await benchSpace(s, items, sim));
  const minutes = (Date.now() - t0) / 60000;
  mkdirSync(dirname(JSON_OUT), { recursive: true });
  writeFileSync(JSON_OUT, JSON.stringify({ seeds: SEEDS, evals: EVALS, results }, null, 1));
  const doc = [
    '# Benchmarks',
    '',
    '## Search: regret on the simulated world (`npm run bench:search`)',
    '',
    `Generated by \`bench/search.ts\` on ${new Date().toISOString().slice(0, 10)}: ${SEEDS} seeds per strategy and space, up to ${EVALS} evaluations per run, ` +
      `validation set \`${basename(VALIDATION)}\` (${items.length} prompts), 2 layers, aggregator Qwen1.5-110B-Chat (the spaces' \`search.aggregators\`), ` +
      `the space's judge (${JUDGE}); simulated world as of ${simVersion()} (newest file in src/sim/). Total wall time ${fmt(minutes, 1)} min on the shared 2-core machine.`,
    '',
    'How it is run: every run is a real `runSearch` (strategy → `evaluateMixture` → caching executor → in-process simulated provider), ' +
      'each with its own empty in-memory cache, so the dollars are what that search would pay from an empty cache (mixture and judge calls, list prices). ' +
      'A memo in front of the simulated provider makes calls repeated across runs free of CPU. ' +
      'Regret after k evaluations = true score of the optimum − true score of the mixture the search would return after its first k evaluations ' +
      '(the evaluated mixture with the best GP posterior mean — the same rule for every strategy), both from `createTruthOracle` (expected score over sampling and judge noise). ' +
      'The search itself only sees noisy scores from 100 judged prompts. Spread = interquartile range over seeds.',
    '',
    ...results.map(table),
    '### Targets',
    '',
    ...verdicts(results),
    '',
  ].join('\n');
  const existing = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  // Keep other sections of the file (other benchmarks) intact: replace only this section.
  const start = existing.indexOf('## Search: regret');
  let text: string;
  if (existing && start >= 0) {
    const rest = existing.slice(start + 1);
    const next = rest.search(/\n## /);
    const after = next >= 0 ? rest.slice(next + 1) : '';
    text = existing.slice(0, start) + doc.slice(doc.indexOf('## Search')) + (after ? '\n' + after : '');
  } else text = existing ? existing.trimEnd() + '\n\n' + doc.slice(doc.indexOf('## Search')) : doc;
  writeFileSync(OUT, text);
  process.stderr.write(`wrote ${OUT} and ${JSON_OUT} (${fmt(minutes, 1)} min; sim memo ${sim.hits} hits, ${sim.misses} misses)\n`);
}

await main();
