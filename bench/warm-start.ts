/**
 * Warm start on a model release (issue #15): on search-spaces/sim-release.yaml, the dollars a cold search needs to
 * reach median regret ≤ 1.0, against a search warm-started from a finished $10 study on sim.yaml.
 *
 *   nice -n 10 npx tsx bench/warm-start.ts [--seeds 20] [--first-seed 0] [--cold 3,6,10] [--warm 1,2,3] [--old 10] [--json results.json] [--write]
 *
 * Each search is a separate run at its budget (a budget shapes the plan, so no prefix of a longer run stands in for
 * it). Cold runs start from an empty database. Each warm run starts from a copy of the database that holds only the
 * seed's finished sim.yaml study (its cache included, as a user's would). Regret: exact optimum of the release box
 * (every mixture through the noise-free oracle) minus the true score of the mixture the search answers.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadSpace, mixtureName, type SearchSpace } from '../src/config/index.js';
import { parseMixtureObject } from '../src/config/mixture.js';
import { loadValidationSet } from '../src/eval/index.js';
import { openStorage } from '../src/executor/index.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { createTruthOracle } from '../src/sim/index.js';
import { memoSim } from './_memo-sim.js';
import { searchDims, toMixture } from '../src/search/encoding.js';
import { runSearch, type SearchOutcome } from '../src/search/run-search.js';
import { enumeratePoints } from '../src/search/strategies/index.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt; // an empty value ('') is a value: --cold '' runs no cold arm
};
const SEEDS = Number(flag('seeds', '20'));
const FIRST_SEED = Number(flag('first-seed', '0'));
const COLD_LADDER = flag('cold', '3,6,10').split(',').filter(Boolean).map(Number);
const WARM_LADDER = flag('warm', '1,2,3').split(',').filter(Boolean).map(Number);
const OLD = Number(flag('old', '10'));
const TARGET = 1.0;
const VALIDATION = resolve(PACKAGE_ROOT, 'validation-sets/sim-100.jsonl');
const DIR = resolve(PACKAGE_ROOT, 'runs/bench-warm');
const JSON_OUT = resolve(DIR, flag('json', 'results.json'));

const items = loadValidationSet(VALIDATION);
const providers = new Map([['sim', memoSim()]]);
const oldSpace = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces/sim.yaml'));
const newSpace = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces/sim-release.yaml'));
const oracle = createTruthOracle({ space: newSpace, items });

function optimum(space: SearchSpace): { score: number; label: string } {
  const dims = searchDims(space);
  let best = { score: -Infinity, label: '' };
  for (const p of enumeratePoints(dims)) {
    const m = toMixture(dims, p);
    const s = oracle(m).score;
    if (s > best.score) best = { score: s, label: mixtureName(m, space) };
  }
  return best;
}

async function search(db: string, space: SearchSpace, name: string, seed: number, budget: number, warmStart?: string[]): Promise<SearchOutcome> {
  const storage = await openStorage(db);
  try {
    const dims = searchDims(space);
    return await runSearch({
      space,
      items,
      storage,
      studyName: name,
      config: { spaceFile: space.file, validationFile: VALIDATION, strategy: 'bfgs', seed, budget, layers: dims.layers, aggregators: dims.aggregators, simulated: true },
      concurrency: 8,
      providers,
      ...(warmStart ? { warmStart } : {}),
    });
  } finally {
    await storage.close();
  }
}

interface Run {
  /** `cold`, `warm`, or a warm variant's label (an ablation rendered from another results file). */
  arm: string;
  seed: number;
  budget: number;
  spent: number;
  regret: number;
  best: string;
  newModel: boolean;
}

const NEW_MODEL = 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo';

async function seedRuns(seed: number, opt: number): Promise<Run[]> {
  const out: Run[] = [];
  const record = (arm: string, budget: number, o: SearchOutcome) => {
    const m = parseMixtureObject(o.best!.mixture, newSpace);
    const json = JSON.stringify(o.best!.mixture);
    out.push({ arm, seed, budget, spent: o.spent, regret: opt - oracle(m).score, best: o.best!.trial.label, newModel: json.includes(NEW_MODEL) });
  };
  const tag = flag('json', 'results.json').replace(/\.json$/, '');
  const oldDb = resolve(DIR, `${tag}-seed-${seed}-old.sqlite`);
  rmSync(oldDb, { force: true });
  if (WARM_LADDER.length) await search(oldDb, oldSpace, 'old', seed, OLD);
  for (const b of WARM_LADDER) {
    const db = resolve(DIR, `${tag}-seed-${seed}-warm.sqlite`);
    rmSync(db, { force: true });
    copyFileSync(oldDb, db);
    record('warm', b, await search(db, newSpace, `warm-${b}`, seed, b, ['old']));
    rmSync(db, { force: true });
  }
  rmSync(oldDb, { force: true });
  for (const b of COLD_LADDER) record('cold', b, await search(':memory:', newSpace, `cold-${b}`, seed, b));
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  return s[Math.floor(i)]! + (s[Math.ceil(i)]! - s[Math.floor(i)]!) * (i - Math.floor(i));
};

function table(runs: Run[], opt: { score: number; label: string }, seconds?: number): string {
  const lines: string[] = [];
  const cell = (arm: string, b: number) => runs.filter((r) => r.arm === arm && r.budget === b);
  const ladder = (arm: string) => [...new Set(runs.filter((r) => r.arm === arm).map((r) => r.budget))].sort((a, b) => a - b);
  const reach = (arm: string) => ladder(arm).find((b) => median(cell(arm, b).map((r) => r.regret)) <= TARGET);
  lines.push(`Release box optimum (exact, ${enumeratePoints(searchDims(newSpace)).length} mixtures): ${opt.label} at ${opt.score.toFixed(2)}. ${new Set(runs.map((r) => r.seed)).size} seeds; warm runs start from a finished $${OLD} bfgs study on sim.yaml (same seed)${seconds !== undefined ? `; ${seconds.toFixed(0)} s on this machine` : ''}.`);
  lines.push('');
  lines.push('| search | budget | median regret [IQR] | median $ spent | new model in the answer |');
  lines.push('|---|---:|---|---:|---:|');
  for (const arm of [...new Set(runs.map((r) => r.arm))]) {
    for (const b of ladder(arm)) {
      const c = cell(arm, b);
      const r = c.map((x) => x.regret);
      lines.push(`| ${arm} | $${b} | ${median(r).toFixed(2)} [${quantile(r, 0.25).toFixed(2)}, ${quantile(r, 0.75).toFixed(2)}] | ${median(c.map((x) => x.spent)).toFixed(2)} | ${c.filter((x) => x.newModel).length}/${c.length} |`);
    }
  }
  const WARM = ladder('warm');
  const COLD = ladder('cold');
  const w = reach('warm');
  const k = reach('cold');
  const w3 = cell('warm', 3).map((r) => r.regret);
  lines.push('');
  lines.push(`- Budget to reach median regret ≤ ${TARGET}: warm ${w !== undefined ? `$${w}` : `not within $${WARM.at(-1)}`}, cold ${k !== undefined ? `$${k}` : `not within $${COLD.at(-1)}`}.`);
  if (w !== undefined && k !== undefined) lines.push(`- Target "warm ≤ 40% of cold's dollars": **${w <= 0.4 * k ? 'met' : 'missed'}** (${((100 * w) / k).toFixed(0)}%; ladder resolution limits this ratio).`);
  else lines.push(`- Target "warm ≤ 40% of cold's dollars": **${w !== undefined && k === undefined ? `met (cold did not reach it within $${COLD.at(-1)})` : 'missed'}**.`);
  if (w3.length) lines.push(`- Target "median regret ≤ ${TARGET} at $3 warm": **${median(w3) <= TARGET ? 'met' : 'missed'}** (${median(w3).toFixed(2)}).`);
  return lines.join('\n');
}

async function main() {
  const t0 = Date.now();
  mkdirSync(DIR, { recursive: true });
  const opt = optimum(newSpace);
  const runs: Run[] = [];
  if (flag('from-json', '') !== '') {
    // Render the table from a finished (or partial) run's results.
    // file.json[:label] …: a label takes only that file's warm runs, renamed (an ablation beside the shipped warm start).
    for (const spec of flag('from-json', '').split(',').filter(Boolean)) {
      const [file, label] = spec.split(':');
      const saved = JSON.parse(readFileSync(resolve(DIR, file!), 'utf8')) as { runs: Run[] };
      runs.push(...(label ? saved.runs.filter((r) => r.arm === 'warm').map((r) => ({ ...r, arm: label })) : saved.runs));
    }
  }
  for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS && flag('from-json', '') === ''; seed++) {
    const ts = Date.now();
    runs.push(...(await seedRuns(seed, opt.score)));
    writeFileSync(JSON_OUT, JSON.stringify({ opt, runs }, null, 1));
    process.stderr.write(`seed ${seed}: ${((Date.now() - ts) / 1000).toFixed(0)} s; ${runs.filter((r) => r.seed === seed).map((r) => `${r.arm}$${r.budget}:${r.regret.toFixed(1)}`).join(' ')}\n`);
  }
  const md = table(runs, opt, flag('from-json', '') === '' ? (Date.now() - t0) / 1000 : undefined);
  process.stdout.write(md + '\n');
  if (args.includes('--write')) {
    const file = resolve(PACKAGE_ROOT, 'docs/benchmarks.md');
    const begin = '<!-- bench:warm-start (generated by `npm run bench:warm -- --write`; do not edit by hand) -->';
    const end = '<!-- /bench:warm-start -->';
    const section = `${begin}\n## Warm start after a model release (\`npm run bench:warm\`)\n\n${md}\n${end}`;
    const doc = readFileSync(file, 'utf8');
    const i = doc.indexOf(begin);
    const j = doc.indexOf(end);
    writeFileSync(file, i >= 0 && j > i ? doc.slice(0, i) + section + doc.slice(j + end.length) : `${doc.trimEnd()}\n\n${section}\n`);
  }
}

await main();
