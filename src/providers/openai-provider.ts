import { APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { ProviderSpec } from '../config/space.js';
import { ProviderError } from './errors.js';
import { Limiter, sleep } from './limits.js';
import { backoffMs } from './_retry.js';
import { BadResponse, classifyFailure, openAIClient, type AttemptFailure } from './_client.js';
import { chatCompletionBody, mapLogprobs, mapUsage, responseFromCompletion } from './_wire.js';
import type { CallOptions, ChatProvider, ProviderRequest, ProviderResponse, ProviderUsage } from './types.js';

export interface OpenAIProviderOptions {
  /** Where API keys are read from (default `process.env`); tests pass their own. */
  env?: Record<string, string | undefined>;
  /** First retry's backoff in ms when the server gives no Retry-After (default 500). */
  retryBaseMs?: number;
  /** Longest backoff in ms (default 30 s). */
  retryCapMs?: number;
  /** Shared limiter; by default one is made from the spec's maxConcurrency / requestsPerMinute. */
  limiter?: Limiter;
}

/**
 * A ChatProvider for any OpenAI-compatible endpoint, over the `openai` SDK with its own retries off:
 * we retry 408/409/429/5xx, timeouts and connection errors ourselves (exponential backoff with jitter,
 * honouring Retry-After / retry-after-ms) so that limits and budgets see every attempt.
 */
export function createOpenAIProvider(name: string, spec: ProviderSpec, opts: OpenAIProviderOptions = {}): ChatProvider {
  const { client, scrub } = openAIClient(name, spec, opts.env ?? process.env, { maxRetries: 0 });
  const limiter = opts.limiter ?? new Limiter(spec.maxConcurrency, spec.requestsPerMinute);
  const maxRetries = spec.maxRetries;
  const baseMs = opts.retryBaseMs ?? 500;
  const capMs = opts.retryCapMs ?? 30_000;
  const classify = (e: unknown) => classifyFailure(e, spec, scrub);

  // Most OpenAI-compatible servers take `max_tokens`; OpenAI's reasoning models refuse it and want
  // `max_completion_tokens`. Models that said so once get the other field from then on.
  const completionLimitField = new Set<string>();
  const wantsCompletionField = (f: AttemptFailure, req: ProviderRequest) =>
    f.status === 400 && req.maxTokens !== undefined && !completionLimitField.has(req.model) && /max_completion_tokens/.test(f.detail);

  function body(req: ProviderRequest, stream: boolean): ChatCompletionCreateParams {
    const completionField = completionLimitField.has(req.model) ? 'max_completion_tokens' : 'max_tokens';
    return chatCompletionBody(req, { stream, completionField }) as unknown as ChatCompletionCreateParams;
  }

  async function once(req: ProviderRequest, o: CallOptions, delivered: { any: boolean }): Promise<ProviderResponse> {
    const t0 = performance.now();
    if (!o.onToken) {
      const r: any = await client.chat.completions.create(body(req, false) as any, { signal: o.signal });
      const res = responseFromCompletion(r, performance.now() - t0);
      if ('invalid' in res) throw new BadResponse(res.invalid);
      return res;
    }
    const stream: any = await client.chat.completions.create(body(req, true) as any, { signal: o.signal });
    let text = '';
    let finish: string | undefined;
    let usage: ProviderUsage | undefined;
    const lps: any[] = [];
    for await (const chunk of stream) {
      if (chunk.usage) usage = mapUsage(chunk.usage) ?? usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta?.content;
      if (typeof delta === 'string' && delta.length) {
        text += delta;
        delivered.any = true;
        o.onToken(delta);
      }
      if (choice.logprobs?.content) lps.push(...choice.logprobs.content);
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    return { text, finishReason: finish ?? 'unknown', usage, logprobs: mapLogprobs(lps), latencyMs: performance.now() - t0 };
  }

  return {
    name,
    async complete(req: ProviderRequest, o: CallOptions = {}): Promise<ProviderResponse> {
      const delivered = { any: false };
      for (let attempt = 1; ; attempt++) {
        try {
          return await limiter.run(() => once(req, o, delivered), o.signal);
        } catch (e) {
          if (e instanceof APIUserAbortError || o.signal?.aborted) {
            throw o.signal?.reason instanceof Error ? o.signal.reason : e;
          }
          const f = classify(e);
          if (wantsCompletionField(f, req)) {
            completionLimitField.add(req.model);
            attempt--; // a protocol detail, not a failure: it does not use up a retry
            continue;
          }
          // A retry after tokens reached the caller would stream the answer twice.
          const brokenStream = delivered.any;
          if (!f.retryable || attempt > maxRetries || brokenStream) {
            throw new ProviderError({
              provider: name,
              model: req.model,
              status: f.status,
              reason: brokenStream && f.retryable ? 'stream-broken' : f.reason,
              attempts: attempt,
              retryable: f.retryable && !brokenStream,
              detail: f.detail,
              cause: f.cause,
            });
          }
          await sleep(f.waitMs ?? backoffMs(attempt, baseMs, capMs), o.signal);
        }
      }
    },
  };
}
