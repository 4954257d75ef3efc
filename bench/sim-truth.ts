// npm run bench:sim — the simulated world's speed and its exhaustive ground truth.
// 1. Exhaustive truth: every mixture of the six MoA proposers × 0..3 copies (4,095), 2 layers, aggregator
//    Qwen1.5-110B, on sim-100: time, the optimum, and where the paper's mixtures rank.
// 2. In-process provider throughput (proposer answers, aggregations, judge calls).
// Prints a Markdown block for docs/sim-world.md.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadSpace, mixtureName, singleModelMixture, type ModelCounts } from '../src/config/index.js';
import type { ValidationItem } from '../src/eval/types.js';
import { PACKAGE_ROOT } from '../src/paths.js';
import { createSimProvider, createTruthOracle } from '../src/sim/index.js';
import { rankAllMixtures, rankOf, type ScoredMixture } from '../src/sim/truth-landscape.js';
import { calibrationReport, MOA_TARGETS, N_VALUES, RELEASE_TARGETS, SINGLE_TARGETS, SIX_IDS, Q110, LLAMA, WIZ, Q72 } from '../src/sim/calibration.js';

const space = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces/sim.yaml'));
const items: ValidationItem[] = readFileSync(resolve(PACKAGE_ROOT, 'validation-sets/sim-100.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

// ---- exhaustive ground truth ---------------------------------------------------------------------------
const t0 = performance.now();
const all = rankAllMixtures(space, items);
const exhaustiveMs = performance.now() - t0;
const name = (x: ScoredMixture) => mixtureName(x.mixture, space);
const paper = { [LLAMA]: 3, [WIZ]: 1, [Q110]: 1, [Q72]: 1 };
const sixOnce = Object.fromEntries(SIX_IDS.map((id) => [id, 1]));
const allMax = Object.fromEntries(SIX_IDS.map((id) => [id, 3]));
const find = (counts: ModelCounts) => all[rankOf(all, counts, Q110) - 1]!;

// ---- the release: sim.yaml + Llama 3.1 405B (proposer and aggregator) ---------------------------------------
const release = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces/sim-release.yaml'));
const t2 = performance.now();
const releaseAll = rankAllMixtures(release, items);
const releaseMs = performance.now() - t2;
const releaseName = (x: ScoredMixture) => mixtureName(x.mixture, release);
const oldBest = all[0]!;
const oldRank = rankOf(releaseAll, oldBest.counts, oldBest.aggregator);
const bestUnder = (agg: string) => releaseAll.find((x) => x.aggregator === agg)!;

// ---- provider throughput ---------------------------------------------------------------------------------
const p = createSimProvider({});
async function rate(label: string, n: number, make: (i: number) => Parameters<typeof p.complete>[0]): Promise<[string, number]> {
  for (let i = 0; i < 200; i++) await p.complete(make(i)); // warm up
  const t = performance.now();
  for (let i = 0; i < n; i++) await p.complete(make(i));
  return [label, n / ((performance.now() - t) / 1000)];
}
const prompts = items.map((i) => i.prompt);
const refs = await Promise.all(SIX_IDS.map(async (id, k) => (await p.complete({ model: space.models.find((m) => m.id === id)!.upstream!, messages: [{ role: 'user', content: prompts[0]! }], temperature: 0.7, seed: k })).text));
const rates = [
  await rate('proposer answer (sim-100 prompt)', 20000, (i) => ({ model: 'sim-llama-3-70b-instruct', messages: [{ role: 'user', content: prompts[i % 100]! }], temperature: 0.7, seed: i })),
  await rate('short chat answer (new prompt each call)', 20000, (i) => ({ model: 'sim-dbrx-instruct', messages: [{ role: 'user', content: `Say hello number ${i}.` }], temperature: 0.7 })),
  await rate('aggregation of 6 references', 5000, (i) => ({ model: 'sim-qwen1.5-110b-chat', messages: [{ role: 'system', content: refs.map((r, k) => `[Response ${k + 1}]\n${r}`).join('\n\n') }, { role: 'user', content: prompts[0]! }], temperature: 0.7, seed: i })),
  await rate('AlpacaEval judge call (logprobs)', 5000, (i) => ({ model: 'sim-gpt-4o-mini-2024-07-18', messages: [{ role: 'user', content: `Instruction ${i}\n"m": ${refs[0]}\n"M": ${refs[1]}\nAnswer m or M.` }], temperature: 0, logprobs: true, topLogprobs: 5 })),
];

const f = (x: number) => x.toFixed(2);
// ---- calibration: target vs achieved ------------------------------------------------------------------------
const space12 = loadSpace(resolve(PACKAGE_ROOT, 'search-spaces/sim-12.yaml'));
const cal = calibrationReport(createTruthOracle({ space: space12, items }));
const label = (id: string) => space12.models.find((m) => m.id === id)!.label ?? id;
const f1 = (x: number) => x.toFixed(1);
const calLines = [
  '| model / mixture | AlpacaEval target | achieved | Arena-Hard target | achieved |',
  '|---|---:|---:|---:|---:|',
  ...Object.entries(SINGLE_TARGETS).map(([id, t]) => `| ${label(id)}${t.estimated ? ' (targets estimated)' : ''} | ${t.alpaca_eval} | ${f1(cal.singles[id]!.alpaca_eval)} | ${t.arena_hard} | ${f1(cal.singles[id]!.arena_hard)} |`),
  ...Object.entries(RELEASE_TARGETS).map(([id, t]) => {
    const r = createTruthOracle({ space: release, items })(singleModelMixture(id)).bySource;
    return `| ${release.models.find((m) => m.id === id)!.label} (sim-release) | ${t.alpaca_eval} | ${f1(r.alpaca_eval!)} | ${t.arena_hard} | ${f1(r.arena_hard!)} |`;
  }),
  ...Object.entries(MOA_TARGETS).map(([k, t]) => `| ${k} | ${t.alpaca_eval} | ${f1(cal.moa[k as keyof typeof MOA_TARGETS].alpaca_eval)} | ${t.arena_hard} | ${f1(cal.moa[k as keyof typeof MOA_TARGETS].arena_hard)} |`),
  '',
  '| shape (score = mean of the two win rates, aggregator Q110, 2 layers) | paper | achieved |',
  '|---|---|---|',
  `| n different proposers, n = ${N_VALUES.join(', ')} | rises | ${cal.multi.map(f1).join(', ')} |`,
  `| n samples of Q110, n = ${N_VALUES.join(', ')} | below the row above | ${cal.samples.map(f1).join(', ')} |`,
  `| six proposers aggregated by WizardLM-2 vs by Q110 | WizardLM-2 weaker | ${f1(cal.wizAggregates)} vs ${f1(cal.q110Aggregates)} |`,
  `| leave-one-out loss from the six (largest = strongest proposer) | WizardLM-2 | ${SIX_IDS.map((id) => `${label(id)} ${f1(cal.leaveOneOut[id]!)}`).join(', ')} |`,
  `| OLS slope on aggregator / proposer single score | 0.588 / 0.281 | ${cal.slopes.aggregator.toFixed(3)} / ${cal.slopes.proposer.toFixed(3)} |`,
  `| paper-searched mixture vs all six at 3 copies | subset wins | ${f1(cal.paperSearched)} vs ${f1(cal.allMaxCopies)} |`,
];

const lines = [
  ...calLines,
  '',
  `Exhaustive ground truth: ${all.length} mixtures (6 proposers × 0..3 copies, 2 layers, aggregator Q110) × ${items.length} prompts in **${(exhaustiveMs / 1000).toFixed(2)} s** (${(exhaustiveMs / all.length).toFixed(3)} ms per mixture, oracle set-up included).`,
  '',
  '| rank | mixture | score | AlpacaEval | Arena-Hard |',
  '|---:|---|---:|---:|---:|',
  ...all.slice(0, 5).map((x, i) => `| ${i + 1} | ${name(x)} | ${f(x.score)} | ${f(x.bySource.alpaca_eval!)} | ${f(x.bySource.arena_hard!)} |`),
  ...[['paper-searched', paper], ['six once each', sixOnce], ['all at 3 copies', allMax]].map(([label, c]) => {
    const x = find(c as ModelCounts);
    return `| ${rankOf(all, c as ModelCounts, Q110)} | ${label}: ${name(x)} | ${f(x.score)} | ${f(x.bySource.alpaca_eval!)} | ${f(x.bySource.arena_hard!)} |`;
  }),
  `| ${all.length} | worst: ${name(all.at(-1)!)} | ${f(all.at(-1)!.score)} | | |`,
  '',
  `The release (search-spaces/sim-release.yaml): ${releaseAll.length} mixtures (7 proposers × 0..3 copies × ${release.search.aggregators!.length} aggregators) in **${(releaseMs / 1000).toFixed(2)} s**.`,
  '',
  '| rank | mixture | score | AlpacaEval | Arena-Hard |',
  '|---:|---|---:|---:|---:|',
  ...releaseAll.slice(0, 5).map((x, i) => `| ${i + 1} | ${releaseName(x)} | ${f(x.score)} | ${f(x.bySource.alpaca_eval!)} | ${f(x.bySource.arena_hard!)} |`),
  ...release.search.aggregators!.map((agg) => {
    const x = bestUnder(agg);
    return `| ${rankOf(releaseAll, x.counts, agg)} | best under ${releaseName(x).split(' → ')[1]}: ${releaseName(x)} | ${f(x.score)} | ${f(x.bySource.alpaca_eval!)} | ${f(x.bySource.arena_hard!)} |`;
  }),
  `| ${oldRank} | sim.yaml's optimum: ${releaseName(releaseAll[oldRank - 1]!)} | ${f(oldBest.score)} (${f(oldBest.score - releaseAll[0]!.score)}) | | |`,
  '',
  'In-process provider throughput (one core, sequential awaits):',
  '',
  '| call | calls/s |',
  '|---|---:|',
  ...rates.map(([l, r]) => `| ${l} | ${Math.round(r).toLocaleString('en-US')} |`),
];
console.log(lines.join('\n'));
