/**
 * MoAA data generation on the simulated world (`npm run bench:generate`):
 *  1. `generate sft`: dollars and wall time for 1,000 examples with the default best mixture (the exhaustive
 *     optimum of search-spaces/sim.yaml by ground truth), from an empty cache, then again fully cached; and the
 *     same 1,000 with 300 ms of simulated latency per call, to show the pipeline under real-world waits.
 *  2. `generate dpo`: dollars and wall time for 500 pairs with k = 4; the share of pairs whose chosen answer is
 *     truly better (sim truth) with a MoA reward model vs each single judge inside it (and the space's judge),
 *     the paired difference with its bootstrap 95% interval; also per-comparison accuracy.
 *  3. Judge agreement with the sim's true preferences (`eval --preferences` on `sim preferences`): the MoA judge
 *     vs its members, with intervals.
 * Prompts: AlpacaEval 2.0's 805 instructions and Arena-Hard v0.1's questions from ../shared/data (read, never
 * copied); without ../shared, sim-100's prompts with numbered variants.
 * Usage: npx tsx bench/generate.ts [--sft 1000] [--dpo 500] [--pairs 400] [--out docs/benchmarks.md]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSpace, parseMixtureObject, mixtureName, type Mixture, type SearchSpace } from '../src/config/index.js';
import { loadValidationSet, pairedDifference, rewardModelSettings, scoreJudgeAgreement, scoreOutcomes, type JudgeAgreementResult } from '../src/eval/index.js';
import type { PromptOutcome } from '../src/eval/types.js';
import { createPairwiseJudge } from '../src/eval/judges/index.js';
import { openExecutor } from '../src/executor/index.js';
import { loadPrompts, prepareDpo, prepareSft, rankPolicySamples, runDpo, runSft, spaceGeneration, type GenPrompt, type JobResult } from '../src/generate/index.js';
import { PACKAGE_ROOT, SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../src/paths.js';
import { bestSimMixture, promptPool } from './_sft-inputs.js';
import { simPairTruth, simPreferenceSet } from '../src/sim/index.js';
import { writeDocSection } from './_doc-section.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const N_SFT = Number(arg('sft', '1000'));
const N_DPO = Number(arg('dpo', '500'));
const N_PAIRS = Number(arg('pairs', '400'));
const OUT = resolve(PACKAGE_ROOT, arg('out', 'docs/benchmarks.md'));
const K = 4;
const POLICY = 'meta-llama/Llama-3-8b-chat-hf';
const MEMBERS = ['Qwen/Qwen1.5-110B-Chat', 'microsoft/WizardLM-2-8x22B', 'meta-llama/Llama-3-70b-chat-hf'];
const AGGREGATOR = 'Qwen/Qwen1.5-72B-Chat';
const DEFAULT_JUDGE = 'gpt-4o-mini-2024-07-18';

const space = loadSpace(SIM_SPACE_FILE);
const work = mkdtempSync(join(tmpdir(), 'moa-bench-generate-'));
const log = (s: string) => process.stderr.write(s + '\n');
const f = (x: number, d = 1) => x.toFixed(d);
const usd = (x: number) => `$${x.toFixed(2)}`;

function withLatency(ms: number): SearchSpace {
  const file = join(work, `sim-latency-${ms}.yaml`);
  writeFileSync(file, readFileSync(SIM_SPACE_FILE, 'utf8').replace(/sim: \{ kind: sim, worldSeed: 0, maxConcurrency: 64 \}/, `sim: { kind: sim, worldSeed: 0, maxConcurrency: 256, latencyMs: ${ms} }`).replace(/validation: .*/, ''));
  return loadSpace(file);
}

async function sft(mixture: Mixture, prompts: ReturnType<typeof loadPrompts>, s: SearchSpace, name: string, concurrency: number, db = join(work, `${name}.sqlite`)) {
  const out = join(work, `${name}.jsonl`);
  const job = prepareSft({ space: s, mixture, prompts, out, limit: N_SFT });
  const executor = await openExecutor({ space: s, dbPath: db });
  const t0 = performance.now();
  const r = await runSft(job, { space: s, mixture, executor, concurrency });
  const secs = (performance.now() - t0) / 1000;
  await executor.close();
  return { r, secs, db };
}

interface DpoRun {
  label: string;
  r: JobResult;
  secs: number;
  /** Per prompt id: 1 when the chosen answer is truly better, else 0 (a tie or worse). */
  chosenTrulyBetter: Map<string, number>;
  ties: number;
  /** Per prompt id: share of its comparisons (truth not tied) the reward model got right (a 0.5 preference counts half). */
  pairAccuracy: Map<string, number>;
}

async function dpo(label: string, judge: ReturnType<typeof rewardModelSettings>, prompts: ReturnType<typeof loadPrompts>, db: string): Promise<DpoRun> {
  const out = join(work, `dpo-${label.replace(/\W+/g, '-')}.jsonl`);
  const settings = { space, policy: POLICY, samples: K, judge, minMargin: 0 };
  const job = prepareDpo({ ...settings, prompts, out, limit: N_DPO });
  const executor = await openExecutor({ space, dbPath: db });
  const t0 = performance.now();
  const r = await runDpo(job, { ...settings, executor, concurrency: 8 });
  const secs = (performance.now() - t0) / 1000;
  // Truth of the pairs written, and per-comparison accuracy from the same (now cached) rankings.
  const byText = new Map(job.prompts.map((p) => [p.messages[0]!.content, p]));
  const chosenTrulyBetter = new Map<string, number>();
  let ties = 0;
  for (const line of readFileSync(out, 'utf8').trim().split('\n').filter(Boolean)) {
    const row = JSON.parse(line) as { prompt: string; chosen: string; rejected: string };
    const p = byText.get(row.prompt)!;
    const t = simPairTruth(row.prompt, row.rejected, row.chosen);
    if (t.better === 'tie') ties++;
    chosenTrulyBetter.set(p.id, t.better === 'b' ? 1 : 0);
  }
  const pj = createPairwiseJudge({ space, executor, settings: judge });
  const pairAccuracy = new Map<string, number>();
  const before = executor.spend().calls.made;
  for (const p of job.prompts as GenPrompt[]) {
    const rk = await rankPolicySamples(p, { policy: POLICY, samples: K, generation: spaceGeneration(space), executor, judge: pj });
    let right = 0;
    let n = 0;
    for (let i = 0; i < K; i++)
      for (let j = i + 1; j < K; j++) {
        const t = simPairTruth(p.messages[0]!.content, rk.samples[i]!, rk.samples[j]!);
        if (t.better === 'tie') continue;
        const pref = rk.wins[j]![i]!; // preference for j over i
        n++;
        right += pref === 0.5 ? 0.5 : (pref > 0.5) === (t.better === 'b') ? 1 : 0;
      }
    if (n) pairAccuracy.set(p.id, right / n);
  }
  if (executor.spend().calls.made !== before) throw new Error('the accuracy pass made calls: rankings were not reproduced from the cache');
  await executor.close();
  return { label, r, secs, chosenTrulyBetter, ties, pairAccuracy };
}

const outcomes = (m: Map<string, number>): PromptOutcome[] =>
  [...m].map(([id, v]) => ({ id, source: 'dpo', preference: v, candidateChars: 0, referenceChars: 0, costUsd: 0, tflops: 0, latencyProxyTflops: 0, promptTokens: 0, completionTokens: 0 }));
const share = (m: Map<string, number>) => {
  const s = scoreOutcomes(outcomes(m));
  return { agreement: s.score, ci: s.ci };
};
const ci = (c: [number, number]) => `[${f(c[0])}, ${f(c[1])}]`;

async function main() {
  const pool = promptPool(work, Math.max(N_SFT, N_DPO));
  const prompts = loadPrompts(pool.file);
  log(`prompts: ${prompts.prompts.length} (${pool.origin})`);
  const best = bestSimMixture(space);
  log(`best mixture: ${mixtureName(best, space)}`);

  // 1. SFT.
  const cold = await sft(best, prompts, space, 'sft', 8);
  const warm = await sft(best, prompts, space, 'sft-again', 8, cold.db);
  log(`sft: ${cold.secs.toFixed(1)} s cold, ${warm.secs.toFixed(1)} s cached`);
  const lat = withLatency(300);
  const slow = await sft(best, prompts, lat, 'sft-latency', 64);
  log(`sft with 300 ms latency: ${slow.secs.toFixed(1)} s`);

  // 2. DPO: the MoA reward model, then each member alone and the space's judge, each from an empty cache.
  const moa = parseMixtureObject({ layers: 2, proposers: Object.fromEntries(MEMBERS.map((m) => [m, 1])), aggregator: AGGREGATOR }, space);
  const runs: DpoRun[] = [];
  runs.push(await dpo(`MoA: ${mixtureName(moa, space)}`, rewardModelSettings(space, { judgeMixture: moa }), prompts, join(work, 'dpo-moa.sqlite')));
  for (const m of [...MEMBERS, AGGREGATOR, DEFAULT_JUDGE]) {
    runs.push(await dpo(m, rewardModelSettings(space, { judgeModel: m }), prompts, join(work, `dpo-${m.replace(/\W+/g, '-')}.sqlite`)));
    log(`dpo ${m}: ${runs.at(-1)!.secs.toFixed(1)} s`);
  }

  // 3. Agreement with the sim's true preferences.
  const items = simPreferenceSet({ space, prompts: loadValidationSet(SIM_VALIDATION_FILE), pairs: N_PAIRS });
  const agreeExec = await openExecutor({ space, dbPath: join(work, 'agree.sqlite') });
  const agree: Array<[string, JudgeAgreementResult]> = [['MoA judge', await scoreJudgeAgreement({ space, executor: agreeExec, judge: rewardModelSettings(space, { judgeMixture: moa }), items })]];
  for (const m of [...MEMBERS, AGGREGATOR, DEFAULT_JUDGE]) agree.push([m, await scoreJudgeAgreement({ space, executor: agreeExec, judge: rewardModelSettings(space, { judgeModel: m }), items })]);
  await agreeExec.close();

  writeDoc({ pool, best, cold, warm, slow, runs, agree, moa });
  rmSync(work, { recursive: true, force: true });
}

function writeDoc(x: {
  pool: { origin: string };
  best: Mixture;
  cold: { r: JobResult; secs: number };
  warm: { r: JobResult; secs: number };
  slow: { r: JobResult; secs: number };
  runs: DpoRun[];
  agree: Array<[string, JudgeAgreementResult]>;
  moa: Mixture;
}) {
  const m = x.cold.r.manifest as { dollars: { dataset: number; thisRun: number }; tokens: { prompt: number; completion: number }; calls: { total: number; madeThisRun: number } };
  const mw = x.warm.r.manifest as { dollars: { thisRun: number }; calls: { madeThisRun: number } };
  const [moaRun, ...singles] = x.runs;
  const members = singles.slice(0, MEMBERS.length + 1); // the three proposers and the aggregator
  const moaShare = share(moaRun!.chosenTrulyBetter);
  const moaAcc = share(moaRun!.pairAccuracy);
  // The best member by each metric separately: the target is against the best single model, whichever it is.
  const bestBy = (metric: (r: DpoRun) => Map<string, number>) => members.reduce((a, b) => (share(metric(b)).agreement > share(metric(a)).agreement ? b : a));
  const bestShare = bestBy((r) => r.chosenTrulyBetter);
  const bestAcc = bestBy((r) => r.pairAccuracy);
  const dShare = pairedDifference(outcomes(moaRun!.chosenTrulyBetter), outcomes(bestShare.chosenTrulyBetter));
  const dAcc = pairedDifference(outcomes(moaRun!.pairAccuracy), outcomes(bestAcc.pairAccuracy));
  const judgeRun = singles.at(-1)!;
  const cost = (r: DpoRun) => (r.r.manifest as { dollars: { dataset: number } }).dollars.dataset;
  const md = moaRun!.r.manifest as { dollars: { dataset: number; byAccount: Record<string, number> }; calls: { total: number } };
  const [, moaAgree] = x.agree[0]!;
  const agreeMembers = x.agree.slice(1, 1 + MEMBERS.length + 1);
  const bestAgree = agreeMembers.reduce((a, b) => (b[1].agreement > a[1].agreement ? b : a));
  const dAgree = pairedDifference(moaAgree.perItem, bestAgree[1].perItem);
  const verdict = (d: { diff: number; ci: [number, number] }) =>
    d.ci[0] > 0 ? '**met**' : d.ci[1] < 0 ? '**missed** (worse)' : `**not shown** (difference ${f(d.diff)}, its interval includes 0)`;
  const doc = [
    '## MoAA data generation (`npm run bench:generate`)',
    '',
    `Generated by \`bench/generate.ts\` on ${new Date().toISOString().slice(0, 10)}, on the simulated world (search-spaces/sim.yaml, in-process provider, simulated dollars at list prices), the shared 2-core machine. Prompts: ${x.pool.origin}. Each run starts from an empty SQLite cache (a file, as the CLI uses) and goes through \`runSft\` / \`runDpo\`, the code behind \`moa-search generate\`.`,
    '',
    `### SFT: ${x.cold.r.output!.written} examples with the default best mixture`,
    '',
    `The mixture: \`${mixtureName(x.best, space)}\`, the ground-truth optimum of the 4,095 two-layer mixtures of sim.yaml (what \`moa-search --budget …\` converges to; docs/sim-world.md). ${x.best.proposerLayers[0] ? Object.values(x.best.proposerLayers[0]).reduce((a, b) => a + b, 0) : 0} proposer calls and one aggregator call per prompt.`,
    '',
    '| run | wall time | calls made | dollars paid | dataset at list prices | tokens (prompt + completion) |',
    '|---|---:|---:|---:|---:|---:|',
    `| empty cache, --concurrency 8, no latency | ${f(x.cold.secs)} s | ${m.calls.madeThisRun} | ${usd(m.dollars.thisRun)} | ${usd(m.dollars.dataset)} | ${m.tokens.prompt.toLocaleString('en-US')} + ${m.tokens.completion.toLocaleString('en-US')} |`,
    `| the same command again (all cached) | ${f(x.warm.secs)} s | ${mw.calls.madeThisRun} | ${usd(mw.dollars.thisRun)} | ${usd(m.dollars.dataset)} | same |`,
    `| empty cache, 300 ms per call, --concurrency 64 | ${f(x.slow.secs)} s | ${(x.slow.r.manifest as typeof m).calls.madeThisRun} | ${usd((x.slow.r.manifest as typeof m).dollars.thisRun)} | same | same |`,
    '',
    `Per 1,000 examples: $${f((1000 * m.dollars.dataset) / x.cold.r.output!.written, 2)}. Sim answers are half the leaderboards' lengths (LENGTH_SCALE 0.5), so real completions cost about twice as many output tokens. With no latency the wall time is the tool's own overhead (engine, SQLite cache and journal, the sim's text generation); with 300 ms per call two sequential layers take at least 0.6 s per prompt, and 64 prompts in flight bring 1,000 prompts to ${f(x.slow.secs)} s (a floor of ${f((N_SFT / 64) * 0.6)} s).`,
    '',
    `### DPO: ${N_DPO} prompts, k = ${K} samples from the policy (${POLICY}), ranked by a reward model`,
    '',
    `Each prompt: ${K} policy samples at the space's temperature, ${(K * (K - 1)) / 2} comparisons, each judged in both orders (the Arena-Hard protocol's two games). The MoA reward model is \`${mixtureName(x.moa, space)}\` (three open judges, one aggregating judge: ${K + ((K * (K - 1)) / 2) * 2 * 4} calls a prompt). "Chosen truly better": the share of written pairs whose chosen answer has the higher true quality (sim truth: weights of the true points stated minus those of misconceptions; a tie counts as not better). "Comparison accuracy": over all ${(K * (K - 1)) / 2} comparisons of each prompt whose truth is not tied, the share the reward model ordered right (a 0.5 preference counts half), averaged over prompts. Intervals: 95% bootstrap over prompts.`,
    '',
    '| reward model | pairs written | chosen truly better (%) | truth ties | comparison accuracy (%) | dataset $ | wall time |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...x.runs.map((r, i) => {
      const s = share(r.chosenTrulyBetter);
      const a = share(r.pairAccuracy);
      const man = r.r.manifest as { dollars: { dataset: number } };
      const name = r === moaRun ? `**${r.label}**` : i > members.length ? `${r.label} (the space's judge; not in the MoA)` : `${r.label} (member)`;
      return `| ${name} | ${r.r.output!.written} | ${f(s.agreement)} ${ci(s.ci)} | ${r.ties} | ${f(a.agreement)} ${ci(a.ci)} | ${usd(man.dollars.dataset)} | ${f(r.secs)} s |`;
    }),
    '',
    `The MoA reward model's run: ${md.calls.total.toLocaleString('en-US')} calls, ${usd(md.dollars.dataset)} (${Object.entries(md.dollars.byAccount).map(([k, v]) => `${k} ${usd(v)}`).join(', ')}), ${f(moaRun!.secs)} s for ${N_DPO} pairs.`,
    '',
    `- MoA reward model vs its best member, paired on the same prompts and samples: chosen truly better ${f(moaShare.agreement)} vs ${f(share(bestShare.chosenTrulyBetter).agreement)} (${bestShare.label}), difference ${f(dShare.diff)} points ${ci(dShare.ci)} (n = ${dShare.n} prompts with a pair from both); comparison accuracy ${f(moaAcc.agreement)} vs ${f(share(bestAcc.pairAccuracy).agreement)} (${bestAcc.label}), difference ${f(dAcc.diff)} ${ci(dAcc.ci)} (n = ${dAcc.n}).`,
    `- Target "the MoA reward model more accurate than the best single model inside it": by comparison accuracy ${verdict(dAcc)}; by the share of written pairs whose chosen answer is truly better ${verdict(dShare)}. (MoAA reports +1.6 points on RewardBench over its best member.)`,
    `- Picking the best and the worst of ${K} forgives most single mistakes, so "chosen truly better" is close to its ceiling for every judge and moves less than comparison accuracy. In the sim, judges differ only in noise and position bias (all share the same length bias), so a MoA of judges helps by averaging independent noise; the space's judge (${judgeRun.label}, half the open models' judging noise) is as accurate as the MoA here (chosen truly better ${f(share(judgeRun.chosenTrulyBetter).agreement)}, comparison accuracy ${f(share(judgeRun.pairAccuracy).agreement)}) at ${f(cost(moaRun!) / cost(judgeRun), 0)}× less. The MoA's price is mostly judge prompts: each of its ${(K * (K - 1)) / 2 * 2 * 4} judge calls a prompt reads two answers, and the aggregator also reads three assessments.`,
    '',
    `### Judges scored against the sim's true preferences (\`moa-search sim preferences\` + \`eval --preferences\`)`,
    '',
    `${N_PAIRS} decisive pairs (two sampled answers to one sim-100 prompt from the space's proposers and policy, truly better answer known), each judged in both orders.`,
    '',
    '| judge | agreement (%) | cost per pair |',
    '|---|---:|---:|',
    ...x.agree.map(([name, r], i) => `| ${i === 0 ? `**MoA judge** (${mixtureName(x.moa, space)})` : i > MEMBERS.length + 1 ? `${name} (the space's judge; not in the MoA)` : `${name} (member)`} | ${f(r.agreement)} ${ci(r.ci)} | $${r.costPerPair.toFixed(5)} |`),
    '',
    `MoA judge vs its best member (${bestAgree[0]}): ${f(dAgree.diff)} points ${ci(dAgree.ci)}, paired over ${dAgree.n} pairs: ${verdict(dAgree)}. This is the objective \`search --objective judge\` optimizes (\`scoreJudgeAgreement\`): see \"MoAA: searching the reward model\" below.`,
    '',
  ].join('\n');
  writeDocSection(OUT, 'MoAA data generation', doc);
  log(`wrote ${OUT}`);
}

await main();
