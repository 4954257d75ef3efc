import { getProfile, type SimProfile } from './_profiles.js';
import { simComplete } from './provider.js';
import { ALPACA_PROMPTS, ARENA_PROMPTS } from './_sim-prompts.js';
import { promptTopic } from './_world.js';
import { sampleCatalogJson } from './sample-catalog.js';

// The default offline files, generated from the profiles so prices, parameters and ids never drift.

export const SIX = ['sim-qwen1.5-110b-chat', 'sim-qwen1.5-72b-chat', 'sim-wizardlm-2-8x22b', 'sim-llama-3-70b-instruct', 'sim-mixtral-8x22b-instruct', 'sim-dbrx-instruct'];
export const SIX_MORE = ['sim-qwen2-72b-instruct', 'sim-gemma-2-27b-it', 'sim-llama-3.1-70b-instruct', 'sim-llama-3-8b-instruct', 'sim-mixtral-8x7b-instruct', 'sim-qwen1.5-32b-chat'];
/** The model "released" after sim.yaml was searched: sim-release.yaml is sim.yaml plus this model. */
export const RELEASE_MODEL = 'sim-llama-3.1-405b-instruct';
/** The aggregators sim.yaml searches: the space's two strongest by exact truth (sim-release.yaml adds the released model). */
export const AGGREGATORS = ['sim-llama-3-70b-instruct', 'sim-gpt-4o-2024-05-13'];
/** sim-12.yaml's two strongest aggregators by exact truth. */
export const AGGREGATORS_12 = ['sim-llama-3.1-70b-instruct', 'sim-gpt-4o-2024-05-13'];
const STRONGEST = "the space's two strongest by exact truth (`sim truth`; docs/benchmarks.md).";
/** Baseline that wrote the AlpacaEval-style references (AlpacaEval 2.0's baseline, GPT-4 Turbo 1106). */
export const ALPACA_BASELINE = 'sim-gpt-4-1106-preview';
/** Baseline that wrote the Arena-Hard-style references (Arena-Hard v0.1's baseline). */
export const ARENA_BASELINE = 'sim-gpt-4-0314';
export const DEFAULT_JUDGE = 'sim-gpt-4o-mini-2024-07-18';
/** Policy models for `generate dpo` (MoAA trained Llama-3.1-8B and Gemma-2-9B; the sim's small model stands in). */
export const POLICIES = ['sim-llama-3-8b-instruct'];

const CLOSED: Array<[string, string[]]> = [
  ['sim-gpt-4o-2024-05-13', ['aggregator', 'baseline']],
  ['sim-gpt-4-turbo-2024-04-09', ['baseline']],
  ['sim-gpt-4-1106-preview', ['baseline', 'judge']],
  ['sim-gpt-4-0314', ['baseline']],
  ['sim-gpt-4o-mini-2024-07-18', ['judge']],
];

function prof(name: string): SimProfile {
  const p = getProfile(name);
  if (!p) throw new Error(`no sim profile ${name}`);
  return p;
}

function modelYaml(name: string, roles: string[], maxCopies?: number): string {
  const p = prof(name);
  const lines = [`  - id: ${p.id}`, `    label: ${p.label}`, `    provider: sim`, `    upstream: ${p.name}`, `    price: { input: ${p.price.input}, output: ${p.price.output} }`];
  if (p.params) lines.push(`    params: { total: ${p.params.total}, active: ${p.params.active} }`);
  lines.push(`    contextWindow: ${p.contextWindow}`);
  lines.push(`    roles: [${roles.join(', ')}]`);
  if (maxCopies) lines.push(`    maxCopies: ${maxCopies}`);
  return lines.join('\n');
}

/** The stronger open models also judge: MoAA's reward model is a mixture of open judges. */
export const OPEN_JUDGES = ['sim-qwen1.5-110b-chat', 'sim-qwen1.5-72b-chat', 'sim-wizardlm-2-8x22b', 'sim-llama-3-70b-instruct', 'sim-qwen2-72b-instruct', 'sim-gemma-2-27b-it', 'sim-llama-3.1-70b-instruct'];
const proposerRoles = (m: string) => ['proposer', 'aggregator', ...(OPEN_JUDGES.includes(m) ? ['judge'] : []), ...(POLICIES.includes(m) ? ['policy'] : [])];

/** The searched aggregators, and the comment that says why these. */
interface SearchedAggregators {
  models: string[];
  why: string;
}

function spaceYaml(name: string, proposers: string[], header: string, aggregators: SearchedAggregators): string {
  const policies = POLICIES.filter((m) => !proposers.includes(m));
  return [
    header,
    `name: ${name}`,
    'providers:',
    '  sim: { kind: sim, worldSeed: 0, maxConcurrency: 64, batch: { discount: 0.5, pollSeconds: 1 } }',
    'models:',
    ...proposers.map((m) => modelYaml(m, proposerRoles(m), 3)),
    ...(policies.length ? ['  # The model being trained by `generate dpo` (MoAA stage 2).', ...policies.map((m) => modelYaml(m, ['policy']))] : []),
    '  # Closed models: a strong final aggregator, the reference baselines and the judges.',
    ...CLOSED.map(([m, roles]) => modelYaml(m, roles)),
    'generation: { temperature: 0.7, maxTokens: 2048 }',
    `# Searched aggregators: ${aggregators.why}`,
    `search: { layers: 2, aggregators: [${aggregators.models.map((m) => prof(m).id).join(', ')}] }`,
    '# The default judge is the cheap sim gpt-4o-mini (judge skill close to GPT-4 Turbo): with the real',
    '# GPT-4 judge price ($10/$30 per 1M) one 100-prompt evaluation would cost about a dollar in judge calls alone.',
    `judge: { model: ${prof(DEFAULT_JUDGE).id} }`,
    'validation: ../validation-sets/sim-100.jsonl',
    '',
  ].join('\n');
}

export interface SimItem {
  id: string;
  source: 'alpaca_eval' | 'arena_hard';
  prompt: string;
  reference: string;
  category: string;
}

/** The 100 validation items, with references written by the simulated baselines at temperature 0. */
export function simItems(worldSeed = 0): SimItem[] {
  const ref = (model: string, prompt: string) =>
    simComplete({ model, messages: [{ role: 'user', content: prompt }], temperature: 0 }, { worldSeed }).text;
  const pad = (n: number) => String(n).padStart(3, '0');
  return [
    ...ALPACA_PROMPTS.map((prompt, i) => ({ id: `sim-ae-${pad(i + 1)}`, source: 'alpaca_eval' as const, prompt, reference: ref(ALPACA_BASELINE, prompt), category: promptTopic(prompt) })),
    ...ARENA_PROMPTS.map((prompt, i) => ({ id: `sim-ah-${pad(i + 1)}`, source: 'arena_hard' as const, prompt, reference: ref(ARENA_BASELINE, prompt), category: promptTopic(prompt) })),
  ];
}

export function writeSimFiles(_root: string): Record<string, string> {
  const header = (what: string) =>
    [
      `# ${what}`,
      '# Generated by `npx tsx bench/make-sim-files.ts` from src/sim/_profiles.ts: do not edit by hand.',
      '# Every model is simulated in-process (provider kind: sim); `upstream` names its sim profile. Ids, prices',
      '# (USD per 1M tokens) and parameter counts (billions, total/active) are those of the real models, so the',
      '# mixtures in search-spaces/examples/ run here unchanged. See docs/sim-world.md.',
    ].join('\n');
  return {
    'search-spaces/sim.yaml': spaceYaml('sim', SIX, header('The offline default space: the MoA paper\'s six open proposers in the simulated world.'), { models: AGGREGATORS, why: STRONGEST }),
    'search-spaces/sim-12.yaml': spaceYaml('sim-12', [...SIX, ...SIX_MORE], header('Twelve candidate proposers (the MoA six + MoAA and other open models) for the search benchmark.'), { models: AGGREGATORS_12, why: STRONGEST }),
    'search-spaces/sim-release.yaml': spaceYaml(
      'sim-release',
      [...SIX, RELEASE_MODEL],
      header('sim.yaml after a release: the six MoA proposers plus Llama 3.1 405B (July 2024), which may also aggregate.'),
      { models: [...AGGREGATORS, RELEASE_MODEL], why: "sim.yaml's, and the released model." },
    ),
    'search-spaces/catalogs/openrouter-sample.json': sampleCatalogJson(RELEASE_MODEL),
    'validation-sets/sim-100.jsonl': simItems().map((it) => JSON.stringify(it)).join('\n') + '\n',
  };
}
