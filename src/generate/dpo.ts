import type { PairwiseJudge } from '../eval/judges/pairwise.js';
import type { Executor } from '../executor/types.js';
import type { GenerationParams } from '../moa/index.js';
import type { ChatMessage } from '../providers/types.js';
import { promptText, type GenPrompt } from './prompts-file.js';
import { addCall, emptyUsage, type Usage } from './usage.js';

export interface DpoContext {
  /** Space id of the model being trained (role `policy`). */
  policy: string;
  /** Samples per prompt, k ≥ 2. */
  samples: number;
  generation: GenerationParams;
  executor: Executor;
  /** The reward model: a judge model or a mixture as judge, comparing pairs in both orders. */
  judge: PairwiseJudge;
  signal?: AbortSignal;
}

export interface RankedSamples {
  samples: string[];
  /** wins[i][j] = the reward model's preference for sample i over sample j (wins[j][i] = 1 − wins[i][j]). */
  wins: number[][];
  /** Per sample: mean preference over the other k − 1 samples, in [0, 1]. */
  scores: number[];
  /** Highest and lowest score (ties: the lower sample index is chosen, the higher one rejected). */
  chosen: number;
  rejected: number;
  /** scores[chosen] − scores[rejected]; 0 when the reward model preferred nothing. */
  margin: number;
  /** Reward-model answers that could not be parsed (counted as ties). */
  unparsed: number;
  usage: { policy: Usage; judge: Usage };
}

/**
 * MoAA stage 2 for one prompt: k samples from the policy model, every pair compared by the reward model
 * (k(k−1)/2 comparisons, each in both presentation orders), samples ranked by their mean preference.
 */
export async function rankPolicySamples(prompt: GenPrompt, ctx: DpoContext): Promise<RankedSamples> {
  const k = ctx.samples;
  const policy = emptyUsage();
  const judge = emptyUsage();
  const price = ctx.executor.priceOf.bind(ctx.executor);
  const results = await Promise.all(
    Array.from({ length: k }, (_, i) =>
      ctx.executor.generate(
        { model: ctx.policy, messages: prompt.messages, temperature: ctx.generation.temperature, maxTokens: ctx.generation.maxTokens, topP: ctx.generation.topP, sample: i },
        { account: 'policy', signal: ctx.signal, purpose: 'policy sample' },
      ),
    ),
  );
  for (const r of results) addCall(policy, r, price);
  const samples = results.map((r) => r.text);
  const wins = samples.map(() => samples.map(() => 0.5));
  const item = (i: number, j: number) => ({ id: `${prompt.id}#${i}-${j}`, source: 'dpo', prompt: promptText(prompt.messages) });
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j]);
  let unparsed = 0;
  await Promise.all(
    pairs.map(async ([i, j]) => {
      const c = await ctx.judge.compare(item(i, j), samples[i]!, samples[j]!, { signal: ctx.signal });
      for (const call of c.calls) addCall(judge, call, price);
      unparsed += c.unparsed;
      wins[j]![i] = c.preference;
      wins[i]![j] = 1 - c.preference;
    }),
  );
  const scores = wins.map((row, i) => row.reduce((s, v, j) => (j === i ? s : s + v), 0) / (k - 1));
  let chosen = 0;
  let rejected = k - 1;
  for (let i = 0; i < k; i++) {
    if (scores[i]! > scores[chosen]!) chosen = i;
    if (scores[k - 1 - i]! < scores[rejected]!) rejected = k - 1 - i;
  }
  return { samples, wins, scores, chosen, rejected, margin: scores[chosen]! - scores[rejected]!, unparsed, usage: { policy, judge } };
}

/** A preference pair in the format DPO trainers read: plain strings, or conversations for chat prompts. */
export type DpoExample =
  | { prompt: string; chosen: string; rejected: string; score_chosen: number; score_rejected: number }
  | { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[]; score_chosen: number; score_rejected: number };

export function dpoExample(prompt: GenPrompt, r: Pick<RankedSamples, 'samples' | 'scores' | 'chosen' | 'rejected'>, chat: boolean): DpoExample {
  const score_chosen = round(r.scores[r.chosen]!);
  const score_rejected = round(r.scores[r.rejected]!);
  const chosen = r.samples[r.chosen]!;
  const rejected = r.samples[r.rejected]!;
  if (!chat) return { prompt: prompt.messages[prompt.messages.length - 1]!.content, chosen, rejected, score_chosen, score_rejected };
  return {
    prompt: prompt.messages.map((m) => ({ role: m.role, content: m.content })),
    chosen: [{ role: 'assistant', content: chosen }],
    rejected: [{ role: 'assistant', content: rejected }],
    score_chosen,
    score_rejected,
  };
}

// Scores are means of preferences over k − 1 comparisons: six decimals keep them exact enough and the lines short.
const round = (x: number) => Math.round(x * 1e6) / 1e6;
