import type { Mixture } from '../config/mixture.js';
import type { Executor } from '../executor/types.js';
import { runMixture, type GenerationParams, type PromptTemplates } from '../moa/index.js';
import type { ChatMessage } from '../providers/types.js';
import type { GenPrompt } from './prompts-file.js';
import { addCall, emptyUsage, type Usage } from './usage.js';

/** A supervised fine-tuning example in the chat format fine-tuning tools read. */
export interface SftExample {
  messages: ChatMessage[];
}

export interface SftContext {
  mixture: Mixture;
  executor: Executor;
  generation: GenerationParams;
  templates?: PromptTemplates;
  signal?: AbortSignal;
}

export interface SftResult {
  /** Undefined when the answer is unusable for training (cut by the token limit, or empty). */
  example?: SftExample;
  dropped?: 'truncated' | 'empty';
  usage: Usage;
}

/**
 * MoAA stage 1 for one prompt: run the mixture on the conversation through the caching executor and append
 * its answer as the assistant's turn. Answers cut by `maxTokens` or empty are not training data: dropped,
 * and the caller counts them. Engine failures (MixtureRunError) propagate.
 */
export async function sftExample(prompt: GenPrompt, ctx: SftContext): Promise<SftResult> {
  const run = await runMixture(ctx.mixture, prompt.messages, {
    executor: ctx.executor,
    generation: ctx.generation,
    account: 'mixture',
    signal: ctx.signal,
    templates: ctx.templates,
  });
  const usage = emptyUsage();
  const price = ctx.executor.priceOf.bind(ctx.executor);
  for (const c of run.calls) addCall(usage, c, price);
  if (run.finishReason === 'length') return { dropped: 'truncated', usage };
  if (!run.text.trim()) return { dropped: 'empty', usage };
  return { example: { messages: [...prompt.messages.map((m) => ({ role: m.role, content: m.content })), { role: 'assistant', content: run.text }] }, usage };
}
