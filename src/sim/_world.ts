import { hashString, mix, normalQuantile, uniform } from './_hash.js';
import { KEY_MASK, MAX_MIS, MAX_POINTS } from './_codec.js';

// The hidden facts of a prompt. Everything here is a pure function of the world seed and the prompt's
// normalized text, so any prompt works (users' own too) and every part of the sim agrees on it.

export type PromptKind = 'alpaca' | 'arena';
export const TOPICS = ['code', 'math', 'reasoning', 'writing', 'knowledge', 'advice'] as const;
export type Topic = (typeof TOPICS)[number];

export interface PromptWorld {
  key: number;
  kind: PromptKind;
  topic: Topic;
  /** Logit offset: harder prompts are known less often by every model. */
  difficulty: number;
  /** Point weights (integers: the judge's scores live on an integer lattice, which makes ground truth exact). */
  pointWeights: number[];
  /** Per-point hardness (logit), shared by all models: easy points are known by most models. */
  pointHardness: number[];
  misWeights: number[];
  /** Per-misconception lure (logit): how tempting the wrong claim is. */
  misLure: number[];
}

/** Prompts with at least this many words are Arena-Hard-style (harder, longer answers). */
export const ARENA_MIN_WORDS = 40;

export function normalizePrompt(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

export function promptKey(text: string): number {
  return hashString(normalizePrompt(text)) & KEY_MASK;
}

export function promptKind(text: string): PromptKind {
  const words = text.trim().split(/\s+/).filter(Boolean).length;
  return words >= ARENA_MIN_WORDS ? 'arena' : 'alpaca';
}

// First matching rule wins; order matters (a "python function to compute a probability" is code).
const TOPIC_RULES: Array<[Topic, RegExp]> = [
  ['code', /\b(code|function|python|javascript|typescript|java|rust|sql|c\+\+|bash|regex|api|bug|compile|script|class|algorithm|implement|program)\b/],
  ['reasoning', /\b(puzzle|riddle|logic|logical|deduce|infer|paradox|which of|argument|argue|fallacy|fallacies|dilemma|decision theory|strategy|game theory|trade-?offs?|intuitive|determine every)\b/],
  ['math', /\b(prove|proof|calculate|compute|equation|integral|derivative|probability|theorem|matrix|solve|arithmetic|geometry|percent|sum of)\b/],
  ['writing', /\b(write|poem|story|essay|letter|email|rewrite|slogan|haiku|lyrics|tweet|headline|summarize|paraphrase|dialogue)\b/],
  ['advice', /\b(how (can|do|should) i|tips|advice|recommend|plan|should i|improve my|help me)\b/],
  ['knowledge', /\b(what|why|explain|history|describe|who|difference between|define|how does)\b/],
];

export function promptTopic(text: string): Topic {
  const t = normalizePrompt(text);
  for (const [topic, re] of TOPIC_RULES) if (re.test(t)) return topic;
  return TOPICS[hashString(t) % TOPICS.length]!;
}

const worldCache = new Map<string, PromptWorld>();

/** The facts of a prompt given its text. */
export function promptWorld(worldSeed: number, text: string): PromptWorld {
  const cacheKey = `${worldSeed}\u0000${text}`;
  const hit = worldCache.get(cacheKey);
  if (hit) return hit;
  const key = promptKey(text);
  const base = worldFromKey(worldSeed, key);
  const w: PromptWorld = { ...base, kind: promptKind(text), topic: promptTopic(text) };
  if (worldCache.size > 50_000) worldCache.clear();
  worldCache.set(cacheKey, w);
  return w;
}

const keyCache = new Map<number, Omit<PromptWorld, 'kind' | 'topic'>>();

/**
 * The part of a prompt's facts that depends only on its key: what the judge needs to weigh
 * statements it finds in answers, without seeing the prompt itself.
 */
export function worldFromKey(worldSeed: number, key: number): Omit<PromptWorld, 'kind' | 'topic'> {
  const ck = worldSeed * 4194304 + key;
  const hit = keyCache.get(ck);
  if (hit) return hit;
  const h = (...xs: number[]) => uniform(worldSeed, key, ...xs);
  const nPoints = 6 + Math.floor(h(1) * 9); // 6..14
  const nMis = 2 + Math.floor(h(2) * 3); // 2..4
  const pointWeights: number[] = [];
  const pointHardness: number[] = [];
  for (let j = 0; j < Math.min(nPoints, MAX_POINTS); j++) {
    pointWeights.push(3 + Math.floor(Math.pow(h(10, j), 1.3) * 8)); // 3..10, skewed low
    pointHardness.push(normalQuantile(h(11, j)));
  }
  const misWeights: number[] = [];
  const misLure: number[] = [];
  for (let i = 0; i < Math.min(nMis, MAX_MIS); i++) {
    misWeights.push(4 + Math.floor(h(20, i) * 7)); // 4..10
    misLure.push(0.8 * normalQuantile(h(21, i)));
  }
  const w = { key, difficulty: 0.7 * normalQuantile(h(3)), pointWeights, pointHardness, misWeights, misLure };
  if (keyCache.size > 50_000) keyCache.clear();
  keyCache.set(ck, w);
  return w;
}

export function modelHash(profileName: string): number {
  return hashString(profileName, 0x51a);
}

/** Mix used by all latent draws, kept here so the oracle and the text generator share it exactly. */
export function latentUniform(worldSeed: number, model: number, key: number, tag: number, j: number): number {
  return (mix(worldSeed, model, key, tag, j) + 0.5) / 4294967296;
}
