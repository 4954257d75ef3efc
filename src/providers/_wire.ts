import type { ProviderRequest, ProviderResponse, ProviderUsage, TokenLogprob } from './types.js';

// The OpenAI chat-completions wire format, shared by online calls and batch job lines.

export function mapLogprobs(content: ReadonlyArray<any> | null | undefined): TokenLogprob[] | undefined {
  if (!content || !content.length) return undefined;
  return content.map((c) => {
    const out: TokenLogprob = { token: String(c.token), logprob: Number(c.logprob) };
    if (Array.isArray(c.top_logprobs)) out.top = c.top_logprobs.map((t: any) => ({ token: String(t.token), logprob: Number(t.logprob) }));
    return out;
  });
}

export function mapUsage(u: any): ProviderUsage | undefined {
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return undefined;
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}

/**
 * The JSON body of a chat-completions request. `completionField` names the output limit: most servers take
 * `max_tokens`; OpenAI's reasoning models want `max_completion_tokens`.
 */
export function chatCompletionBody(
  req: ProviderRequest,
  opts: { stream?: boolean; completionField?: 'max_tokens' | 'max_completion_tokens' } = {},
): Record<string, unknown> {
  const b: Record<string, unknown> = { model: req.model, messages: req.messages };
  if (req.temperature !== undefined) b.temperature = req.temperature;
  if (req.maxTokens !== undefined) b[opts.completionField ?? 'max_tokens'] = req.maxTokens;
  if (req.topP !== undefined) b.top_p = req.topP;
  if (req.seed !== undefined) b.seed = req.seed;
  if (req.logprobs) {
    b.logprobs = true;
    if (req.topLogprobs !== undefined) b.top_logprobs = req.topLogprobs;
  }
  if (opts.stream) {
    b.stream = true;
    b.stream_options = { include_usage: true };
  }
  return b;
}

/** A non-streamed chat completion as a provider response, or why it is not one. */
export function responseFromCompletion(r: any, latencyMs: number): ProviderResponse | { invalid: string } {
  const choice = r?.choices?.[0];
  if (!choice) return { invalid: 'the answer has no choices' };
  const content = choice.message?.content;
  return {
    text: typeof content === 'string' ? content : '',
    finishReason: choice.finish_reason ?? 'unknown',
    usage: mapUsage(r.usage),
    logprobs: mapLogprobs(choice.logprobs?.content),
    latencyMs,
  };
}
