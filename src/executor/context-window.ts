import type { ModelSpec } from '../config/space.js';
import type { ChatMessage } from '../providers/types.js';

/**
 * More UTF-8 bytes per token than BPE tokenizers (vocabularies of 32k–200k) average on prose, code or data: about
 * 3–5 on English, fewer on code and other scripts (only text like long runs of one character packs tighter).
 * Dividing by it gives a floor on a prompt's tokens, so a request refused by the check below could not have
 * fitted; one that passes may still be refused by the server, which costs nothing.
 */
export const MAX_BYTES_PER_TOKEN = 6;

/** A lower bound on a prompt's tokens: its UTF-8 bytes / MAX_BYTES_PER_TOKEN, rounded up. */
export function promptTokenFloor(messages: ReadonlyArray<Pick<ChatMessage, 'content'>>): number {
  let bytes = 0;
  for (const m of messages) bytes += Buffer.byteLength(m.content, 'utf8');
  return Math.ceil(bytes / MAX_BYTES_PER_TOKEN);
}

/** A request that cannot fit its model's context window; raised before any call is made or paid. */
export class ContextWindowExceeded extends Error {
  override readonly name = 'ContextWindowExceeded';
  constructor(
    readonly model: string,
    readonly contextWindow: number,
    /** The prompt's token floor (see promptTokenFloor). */
    readonly promptTokens: number,
    /** Tokens the request reserves for the answer (`maxTokens`). */
    readonly maxTokens: number,
  ) {
    super(
      `the request cannot fit the context window of ${model}: its prompt is at least ${promptTokens} tokens and ${maxTokens} more are ` +
        `reserved for the answer (maxTokens), over the model's contextWindow of ${contextWindow}`,
    );
  }
}

/** The overflow, or undefined when the request may fit (or the model declares no contextWindow). */
export function contextOverflow(model: ModelSpec, messages: ReadonlyArray<Pick<ChatMessage, 'content'>>, maxTokens = 0): ContextWindowExceeded | undefined {
  if (model.contextWindow === undefined) return undefined;
  const prompt = promptTokenFloor(messages);
  return prompt + maxTokens > model.contextWindow ? new ContextWindowExceeded(model.id, model.contextWindow, prompt, maxTokens) : undefined;
}
