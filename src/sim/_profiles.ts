import type { Topic } from './_world.js';
import { FITTED } from './_fitted.js';

/** How a simulated model behaves. Fitted fields come from `_fitted.ts` (written by bench/calibrate-sim.ts). */
export interface SimProfile {
  /** The upstream model name a request carries (`model.upstream` in a space). */
  name: string;
  /** The model id both search spaces use for it. */
  id: string;
  label: string;
  /** Real prices, USD per 1M tokens, and parameter counts (billions), for the spaces and docs. */
  price: { input: number; output: number };
  params?: { total: number; active: number };
  /** Context window in tokens (the model's public number). */
  contextWindow: number;
  /** Leaderboard verbosity: AlpacaEval 2.0 avg_length (characters) and Arena-Hard avg_tokens. */
  lengths: { alpacaChars: number; arenaTokens: number };
  /** Knowledge logit per prompt kind (fitted to the published single-model win rates). */
  skill: { alpaca: number; arena: number };
  /** Per-topic knowledge offsets (logit). */
  topics: Partial<Record<Topic, number>>;
  /** Probability that a sample (temperature > 0) states a point the model knows. */
  recall: number;
  /** Logit offset for holding a misconception. */
  misProne: number;
  /** As an aggregator: per-reference keep rate of a true point, own-knowledge rate, misconception
   * pass-through rate, attention capacity (references it reads fully), how fast attention decays beyond
   * that capacity (exponent), answer growth per reference. `keep` is per prompt kind: harder Arena-style
   * prompts are harder to merge. */
  agg: { keep: number; keepArena: number; own: number; pass: number; cap: number; dilution: number; growth: number };
  /** As a judge: logistic scale of quality differences, noise sd, credit per sentence (length bias), position bias. */
  judge: { tau: number; noise: number; lengthCredit: number; posBias: number };
}

type Base = Omit<SimProfile, 'skill' | 'misProne' | 'agg' | 'recall'> & Partial<Pick<SimProfile, 'skill' | 'misProne' | 'agg' | 'recall'>>;

const JUDGE_WEAK = { tau: 5, noise: 1.2, lengthCredit: 1, posBias: 0.25 };
const JUDGE_GOOD = { tau: 5, noise: 0.6, lengthCredit: 1, posBias: 0.1 };

// Prices: Together AI 2024 / OpenAI list prices. Lengths: ../shared/data leaderboards (estimates marked ~).
const BASE: Base[] = [
  { name: 'sim-qwen1.5-110b-chat', id: 'Qwen/Qwen1.5-110B-Chat', label: 'Q110', contextWindow: 32768, misProne: -1.6, price: { input: 1.8, output: 1.8 }, params: { total: 111, active: 111 },
    lengths: { alpacaChars: 1631, arenaTokens: 520 /* ~ */ }, topics: { code: 0.5, math: 0.5, writing: -0.25 }, judge: JUDGE_WEAK },
  { name: 'sim-qwen1.5-72b-chat', id: 'Qwen/Qwen1.5-72B-Chat', label: 'Q72', contextWindow: 32768, misProne: -1.4, price: { input: 0.9, output: 0.9 }, params: { total: 72, active: 72 },
    lengths: { alpacaChars: 1549, arenaTokens: 474 }, topics: { code: 0.375, math: 0.375, writing: -0.375 }, judge: JUDGE_WEAK },
  { name: 'sim-wizardlm-2-8x22b', id: 'microsoft/WizardLM-2-8x22B', label: 'Wiz', contextWindow: 65536, misProne: -1.5, price: { input: 1.2, output: 1.2 }, params: { total: 141, active: 39 },
    lengths: { alpacaChars: 1900 /* ~ */, arenaTokens: 650 /* ~ */ }, topics: { writing: 0.625, advice: 0.5, math: -0.25 }, judge: JUDGE_WEAK },
  { name: 'sim-llama-3-70b-instruct', id: 'meta-llama/Llama-3-70b-chat-hf', label: 'Llama3-70B', contextWindow: 8192, misProne: -1.5, price: { input: 0.9, output: 0.9 }, params: { total: 70, active: 70 },
    lengths: { alpacaChars: 1919, arenaTokens: 591 }, topics: { writing: 0.5, reasoning: 0.25, code: -0.125 }, judge: JUDGE_WEAK },
  { name: 'sim-mixtral-8x22b-instruct', id: 'mistralai/Mixtral-8x22B-Instruct-v0.1', label: 'Mix22', contextWindow: 65536, misProne: -1.0, price: { input: 1.2, output: 1.2 }, params: { total: 141, active: 39 },
    lengths: { alpacaChars: 1445, arenaTokens: 430 }, topics: { code: 0.375, knowledge: 0.25, writing: -0.25 }, judge: JUDGE_WEAK },
  { name: 'sim-dbrx-instruct', id: 'databricks/dbrx-instruct', label: 'DBRX', contextWindow: 32768, misProne: -0.8, price: { input: 1.2, output: 1.2 }, params: { total: 132, active: 36 },
    lengths: { alpacaChars: 1450, arenaTokens: 415 }, topics: { code: 0.25, advice: -0.25 }, judge: JUDGE_WEAK },
  // MoAA models and more open models (sim-12.yaml).
  { name: 'sim-qwen2-72b-instruct', id: 'Qwen/Qwen2-72B-Instruct', label: 'Q2-72', contextWindow: 32768, misProne: -1.5, price: { input: 0.9, output: 0.9 }, params: { total: 72.7, active: 72.7 },
    lengths: { alpacaChars: 1626, arenaTokens: 515 }, topics: { code: 0.5, math: 0.625 }, judge: JUDGE_WEAK },
  { name: 'sim-gemma-2-27b-it', id: 'google/gemma-2-27b-it', label: 'G27', contextWindow: 8192, misProne: -1.4, price: { input: 0.8, output: 0.8 }, params: { total: 27.2, active: 27.2 },
    lengths: { alpacaChars: 1800 /* ~ */, arenaTokens: 577 }, topics: { writing: 0.5, advice: 0.375, code: -0.25 }, judge: JUDGE_WEAK },
  { name: 'sim-llama-3.1-70b-instruct', id: 'meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo', label: 'L3.1-70B', contextWindow: 131072, misProne: -1.6, price: { input: 0.88, output: 0.88 }, params: { total: 70.6, active: 70.6 },
    lengths: { alpacaChars: 2044, arenaTokens: 628 }, topics: { reasoning: 0.25, writing: 0.25 }, judge: JUDGE_WEAK },
  { name: 'sim-llama-3-8b-instruct', id: 'meta-llama/Llama-3-8b-chat-hf', label: 'Llama3-8B', contextWindow: 8192, misProne: -0.9, price: { input: 0.2, output: 0.2 }, params: { total: 8, active: 8 },
    lengths: { alpacaChars: 1899, arenaTokens: 585 }, topics: { writing: 0.5, math: -0.5 }, judge: JUDGE_WEAK },
  { name: 'sim-mixtral-8x7b-instruct', id: 'mistralai/Mixtral-8x7B-Instruct-v0.1', label: 'Mix7', contextWindow: 32768, misProne: -0.9, price: { input: 0.6, output: 0.6 }, params: { total: 46.7, active: 12.9 },
    lengths: { alpacaChars: 1465, arenaTokens: 457 }, topics: { code: 0.25 }, judge: JUDGE_WEAK },
  { name: 'sim-qwen1.5-32b-chat', id: 'Qwen/Qwen1.5-32B-Chat', label: 'Q32', contextWindow: 32768, misProne: -1.1, price: { input: 0.8, output: 0.8 }, params: { total: 32.5, active: 32.5 },
    lengths: { alpacaChars: 1600 /* ~ */, arenaTokens: 460 /* ~ */ }, topics: { code: 0.25, math: 0.25 }, judge: JUDGE_WEAK },
  // Released after the MoA paper (July 2024): the new model of sim-release.yaml. Fitted like the open models
  // (knowledge to its published win rates, the open models' shared aggregation rates), without re-fitting them.
  { name: 'sim-llama-3.1-405b-instruct', id: 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo', label: 'L3.1-405B', contextWindow: 131072, misProne: -1.7, price: { input: 5, output: 5 }, params: { total: 405, active: 405 },
    lengths: { alpacaChars: 1988, arenaTokens: 633 }, topics: { reasoning: 0.375, code: 0.25, writing: 0.25 }, judge: JUDGE_WEAK },
  // Closed models: reference baselines, a strong aggregator, judges. Their knowledge is set, not fitted:
  // the references of sim-100 were written by them, and everything else is calibrated against those.
  { name: 'sim-gpt-4-1106-preview', id: 'gpt-4-1106-preview', label: 'GPT-4-1106', contextWindow: 128000, price: { input: 10, output: 30 },
    lengths: { alpacaChars: 2049, arenaTokens: 560 /* ~ */ }, topics: {}, judge: { tau: 5, noise: 0.45, lengthCredit: 1, posBias: 0.05 },
    skill: { alpaca: 0.9, arena: 1.0 }, misProne: -2.2 },
  { name: 'sim-gpt-4-turbo-2024-04-09', id: 'gpt-4-turbo-2024-04-09', label: 'GPT-4T', contextWindow: 128000, price: { input: 10, output: 30 },
    lengths: { alpacaChars: 1802, arenaTokens: 662 }, topics: {}, judge: { tau: 5, noise: 0.45, lengthCredit: 1, posBias: 0.05 },
    skill: { alpaca: 1.1, arena: 1.6 }, misProne: -2.3 },
  { name: 'sim-gpt-4-0314', id: 'gpt-4-0314', label: 'GPT-4-0314', contextWindow: 8192, price: { input: 30, output: 60 },
    lengths: { alpacaChars: 1371, arenaTokens: 423 }, topics: {}, judge: { tau: 5, noise: 0.6, lengthCredit: 1, posBias: 0.1 },
    skill: { alpaca: 0.3, arena: 0.3 }, misProne: -1.6 },
  { name: 'sim-gpt-4o-2024-05-13', id: 'gpt-4o-2024-05-13', label: 'GPT-4o', contextWindow: 128000, price: { input: 5, output: 15 },
    lengths: { alpacaChars: 1873, arenaTokens: 696 }, topics: {}, judge: { tau: 5, noise: 0.5, lengthCredit: 1, posBias: 0.05 },
    skill: { alpaca: 1.2, arena: 1.5 }, misProne: -2.2, agg: { keep: 0.13, keepArena: 0.1, own: 0.8, pass: 0.25, cap: 8, dilution: 2, growth: 0.1 } },
  { name: 'sim-gpt-4o-mini-2024-07-18', id: 'gpt-4o-mini-2024-07-18', label: 'GPT-4o-mini', contextWindow: 128000, price: { input: 0.15, output: 0.6 },
    lengths: { alpacaChars: 1861, arenaTokens: 668 }, topics: {}, judge: JUDGE_GOOD,
    skill: { alpaca: 1.0, arena: 1.3 }, misProne: -1.8 },
];

const DEFAULTS = {
  skill: { alpaca: 0.5, arena: 0.5 },
  misProne: -1.5,
  recall: 0.9,
  agg: { keep: 0.2, keepArena: 0.15, own: 0.85, pass: 0.25, cap: 6.5, dilution: 2, growth: 0.1 },
};

function build(b: Base): SimProfile {
  const f = FITTED[b.name] ?? {};
  return {
    ...b,
    skill: { ...DEFAULTS.skill, ...b.skill, ...f.skill },
    misProne: f.misProne ?? b.misProne ?? DEFAULTS.misProne,
    recall: f.recall ?? b.recall ?? DEFAULTS.recall,
    agg: { ...DEFAULTS.agg, ...b.agg, ...f.agg },
    topics: { ...b.topics },
    judge: { ...b.judge },
  };
}

export const PROFILES: ReadonlyMap<string, SimProfile> = new Map(BASE.map((b) => [b.name, build(b)]));

/**
 * The profile a request's model names: its sim name, or the real model's id (as a provider's catalog lists it),
 * so a model imported from a catalog runs without an `upstream`.
 */
export function lookupProfile(profiles: ReadonlyMap<string, SimProfile>, model: string): SimProfile | undefined {
  const hit = profiles.get(model);
  if (hit) return hit;
  for (const p of profiles.values()) if (p.id === model) return p;
  return undefined;
}

export function getProfile(name: string): SimProfile | undefined {
  return lookupProfile(PROFILES, name);
}

export function profileNames(): string[] {
  return [...PROFILES.keys()];
}

/** Override a profile's fields (calibration only; returns a fresh map, never mutates the shared one). */
export function withOverrides(over: Record<string, Partial<Pick<SimProfile, 'skill' | 'misProne' | 'recall'>> & { agg?: Partial<SimProfile['agg']> }>): Map<string, SimProfile> {
  const out = new Map<string, SimProfile>();
  for (const [k, p] of PROFILES) {
    const o = over[k];
    out.set(k, o ? { ...p, skill: { ...p.skill, ...o.skill }, misProne: o.misProne ?? p.misProne, recall: o.recall ?? p.recall, agg: { ...p.agg, ...o.agg } } : p);
  }
  return out;
}
