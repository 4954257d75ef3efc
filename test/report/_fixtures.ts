import { loadSpace, mixtureKey, mixtureName, singleModelMixture, toMixtureFile, uniformMixture, type Mixture } from '../../src/config/index.js';
import { projectQueryCost } from '../../src/cost/index.js';
import type { PromptOutcome } from '../../src/eval/types.js';
import type { StudyRecord, TrialRecord } from '../../src/search/types.js';
import type { ReportData } from '../../src/report/index.js';

export const space = loadSpace('search-spaces/together-2024.yaml');

const Q110 = 'Qwen/Qwen1.5-110B-Chat';
const Q72 = 'Qwen/Qwen1.5-72B-Chat';
const WIZ = 'microsoft/WizardLM-2-8x22B';
const L70 = 'meta-llama/Llama-3-70b-chat-hf';
const MIX = 'mistralai/Mixtral-8x22B-Instruct-v0.1';
const DBRX = 'databricks/dbrx-instruct';
const GPT4O = 'gpt-4o-2024-05-13'; // no parameter count in the space: TFLOPs unknown

/** Deterministic PRNG so the fixture (and the charts) never change between runs. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per-prompt preferences around a target win rate; prompt difficulty is shared so paired tests have power. */
function outcomes(target: number, seed: number, costUsd: number, tflops: number, proxy: number, layers: number, n = 60): PromptOutcome[] {
  const difficulty = rng(7);
  const noise = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const d = (difficulty() - 0.5) * 0.5;
    const p = target / 100 - d;
    const u = noise();
    return {
      id: `p${i}`,
      source: i % 2 ? 'arena_hard' : 'alpaca_eval',
      preference: u < p - 0.05 ? 1 : u < p + 0.05 ? 0.5 : 0,
      candidateChars: 1200,
      referenceChars: 1100,
      costUsd,
      judgeCostUsd: 0.001,
      tflops,
      latencyProxyTflops: proxy,
      promptTokens: 900,
      completionTokens: 400,
      layerWallMs: Array.from({ length: layers }, (_, l) => 800 + 300 * l + 10 * (i % 5)),
    };
  });
}

function mean(xs: number[]) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export const STUDY: StudyRecord = {
  name: 'demo',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T01:00:00.000Z',
  config: { spaceFile: 'search-spaces/together-2024.yaml', validationFile: 'validation-sets/sim-100.jsonl', strategy: 'bo-bfgs', seed: 0, budget: 5, layers: 2, aggregators: [Q110], simulated: true },
  state: 'COMPLETE',
  stopped: 'budget',
  spent: 0,
};

interface Spec {
  m: Mixture;
  target: number;
  kind: 'search' | 'reference';
  name?: string;
}

export function buildTrials(): TrialRecord[] {
  const specs: Spec[] = [
    ...[Q110, Q72, WIZ, L70, MIX, DBRX].map((id, i) => ({ m: singleModelMixture(id), target: [44, 36, 47, 34, 30, 26][i]!, kind: 'reference' as const })),
    { m: singleModelMixture(GPT4O), target: 52, kind: 'reference' },
    { m: uniformMixture({ [Q110]: 1, [Q72]: 1, [WIZ]: 1, [L70]: 1, [MIX]: 1, [DBRX]: 1 }, Q72), target: 56, kind: 'reference', name: 'MoA-Lite' },
    { m: uniformMixture({ [WIZ]: 1, [L70]: 1 }, Q110), target: 53, kind: 'search' },
    { m: uniformMixture({ [WIZ]: 2, [Q110]: 1 }, Q110), target: 58, kind: 'search' },
    { m: uniformMixture({ [L70]: 3, [WIZ]: 1, [Q110]: 1 }, Q110), target: 62, kind: 'search' },
    { m: uniformMixture({ [DBRX]: 2, [MIX]: 1 }, Q110), target: 45, kind: 'search' },
    { m: uniformMixture({ [WIZ]: 3, [Q110]: 2, [L70]: 2 }, Q110, 3), target: 63, kind: 'search' },
    { m: uniformMixture({ [Q72]: 1, [WIZ]: 1 }, Q110), target: 54, kind: 'search' },
    { m: uniformMixture({ [WIZ]: 1, [Q110]: 1 }, GPT4O), target: 61, kind: 'search' },
  ];
  let cumulative = 0;
  const trials: TrialRecord[] = specs.map((s, number) => {
    if (s.name) s.m.name = s.name;
    const proj = projectQueryCost(s.m, space);
    const per = outcomes(s.target, 100 + number, proj.usd, proj.tflops ?? NaN, proj.latencyProxyTflops ?? NaN, s.m.proposerLayers.length + 1);
    const score = 100 * mean(per.map((o) => o.preference));
    const spent = 60 * proj.usd + 0.06;
    cumulative += spent;
    const t: TrialRecord = {
      studyName: 'demo',
      number,
      kind: s.kind,
      strategy: s.kind === 'reference' ? 'reference' : 'bo-bfgs',
      mixture: toMixtureFile(s.m),
      mixtureKey: mixtureKey(s.m),
      label: mixtureName(s.m, space),
      state: 'COMPLETE',
      score,
      ci: [score - 9, Math.min(100, score + 9)],
      costPerQuery: proj.usd,
      ...(proj.tflops !== null ? { tflopsPerQuery: proj.tflops, latencyProxyPerQuery: proj.latencyProxyTflops! } : {}),
      spent,
      spentCumulative: cumulative,
      calls: { made: 60, cached: 0 },
      perPrompt: per,
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:01:00.000Z',
    };
    return t;
  });
  trials.push({
    studyName: 'demo',
    number: trials.length,
    kind: 'search',
    strategy: 'bo-bfgs',
    mixture: toMixtureFile(uniformMixture({ [MIX]: 3 }, Q110)),
    mixtureKey: 'failed',
    label: mixtureName(uniformMixture({ [MIX]: 3 }, Q110), space),
    state: 'FAIL',
    error: 'provider down after 5 retries',
    spent: 0.01,
    startedAt: '2026-01-01T00:00:00.000Z',
  });
  return trials;
}

export function reportData(): ReportData {
  const trials = buildTrials();
  return { study: { ...STUDY, spent: trials.reduce((a, t) => a + (t.spent ?? 0), 0) }, trials, space, generatedAt: '2026-01-01T01:00:00.000Z' };
}
