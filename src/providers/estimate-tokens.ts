import type { ChatMessage } from './types.js';

/**
 * Token estimate for text when an endpoint reports no usage: about 4 characters per token
 * (the usual rule of thumb for English with BPE tokenizers), rounded up, at least 1 for non-empty text.
 * It is used for budget reservations and for results marked `estimated`, never for billing truth.
 */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Per-message overhead of chat formatting (role markers, separators), in tokens. */
const MESSAGE_OVERHEAD = 4;

/** Estimated prompt tokens of a chat request: content plus a small per-message overhead. */
export function estimatePromptTokens(messages: ReadonlyArray<ChatMessage>): number {
  let n = 0;
  for (const m of messages) n += estimateTokens(m.content) + MESSAGE_OVERHEAD;
  return n;
}
