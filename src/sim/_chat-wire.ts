import type { ChatMessage, ProviderRequest, TokenLogprob } from '../providers/types.js';
import { HttpError } from './_http.js';
import type { SimCompletion } from './provider.js';

// The sim's side of the chat-completions wire format: request bodies in, completions out.

/** Check an OpenAI chat-completions body and turn it into a provider request. */
export function parseChatBody(body: any): { req: ProviderRequest; stream: boolean; includeUsage: boolean } {
  if (!body || typeof body !== 'object') throw new HttpError(400, 'request body must be a JSON object');
  if (typeof body.model !== 'string' || !body.model) throw new HttpError(400, 'model is required');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw new HttpError(400, 'messages must be a non-empty array');
  const messages: ChatMessage[] = body.messages.map((m: any, i: number) => {
    if (!m || !['system', 'user', 'assistant', 'developer'].includes(m.role)) throw new HttpError(400, `messages[${i}].role is invalid`);
    let content = m.content;
    if (Array.isArray(content)) content = content.map((p: any) => (p && typeof p.text === 'string' ? p.text : '')).join('');
    if (typeof content !== 'string') throw new HttpError(400, `messages[${i}].content must be a string`);
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
  const num = (v: unknown, name: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `${name} must be a number`);
    return v;
  };
  const req: ProviderRequest = { model: body.model, messages };
  const temperature = num(body.temperature, 'temperature');
  if (temperature !== undefined) req.temperature = temperature;
  const maxTokens = num(body.max_completion_tokens ?? body.max_tokens, 'max_tokens');
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  const topP = num(body.top_p, 'top_p');
  if (topP !== undefined) req.topP = topP;
  const seed = num(body.seed, 'seed');
  if (seed !== undefined) req.seed = seed;
  if (body.logprobs === true) req.logprobs = true;
  const top = num(body.top_logprobs, 'top_logprobs');
  if (top !== undefined) req.topLogprobs = top;
  return { req, stream: body.stream === true, includeUsage: body.stream_options?.include_usage === true };
}

export function wireLogprobs(lp: TokenLogprob[] | undefined) {
  if (!lp) return null;
  const bytes = (t: string) => [...Buffer.from(t, 'utf8')];
  return {
    content: lp.map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: bytes(t.token),
      top_logprobs: (t.top ?? []).map((a) => ({ token: a.token, logprob: a.logprob, bytes: bytes(a.token) })),
    })),
    refusal: null,
  };
}

export function wireUsage(c: SimCompletion) {
  return { prompt_tokens: c.usage.promptTokens, completion_tokens: c.usage.completionTokens, total_tokens: c.usage.promptTokens + c.usage.completionTokens };
}

/** A non-streamed `chat.completion` object for a sim answer. */
export function completionJson(id: string, req: ProviderRequest, c: SimCompletion) {
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [{ index: 0, message: { role: 'assistant', content: c.text, refusal: null }, logprobs: req.logprobs ? wireLogprobs(c.logprobs) : null, finish_reason: c.finishReason }],
    usage: wireUsage(c),
  };
}
