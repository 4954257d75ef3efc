import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import type { ProviderSpec } from '../config/space.js';
import { InputError } from '../config/input-error.js';
import { ProviderError, type ProviderFailure } from './errors.js';
import { Limiter, sleep } from './limits.js';
import { backoffMs, isRetryableStatus, retryAfterMs } from './_retry.js';
import { idleTimeoutFetch, isIdleTimeout } from './_idle-timeout.js';
import type { CallOptions, ChatProvider, ProviderRequest, ProviderResponse, ProviderUsage, TokenLogprob } from './types.js';

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
 * Keyless endpoints (local vLLM, Ollama, `sim serve`) get no Authorization header at all;
 * the SDK insists on some apiKey string, so it gets this placeholder, which is then stripped.
 */
const KEYLESS_PLACEHOLDER = 'keyless';

/** A failure of one attempt, before we decide whether to try again. */
interface AttemptFailure {
  reason: ProviderFailure;
  status?: number;
  retryable: boolean;
  detail: string;
  waitMs?: number;
  cause: unknown;
}

function mapLogprobs(content: ReadonlyArray<any> | null | undefined): TokenLogprob[] | undefined {
  if (!content || !content.length) return undefined;
  return content.map((c) => {
    const out: TokenLogprob = { token: String(c.token), logprob: Number(c.logprob) };
    if (Array.isArray(c.top_logprobs)) out.top = c.top_logprobs.map((t: any) => ({ token: String(t.token), logprob: Number(t.logprob) }));
    return out;
  });
}

function mapUsage(u: any): ProviderUsage | undefined {
  if (!u || typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return undefined;
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}

/** Thrown inside an attempt when a 2xx answer is not a usable chat completion. */
class BadResponse extends Error {}

/**
 * A ChatProvider for any OpenAI-compatible endpoint, over the `openai` SDK with its own retries off:
 * we retry 408/409/429/5xx, timeouts and connection errors ourselves (exponential backoff with jitter,
 * honouring Retry-After / retry-after-ms) so that limits and budgets see every attempt.
 */
export function createOpenAIProvider(name: string, spec: ProviderSpec, opts: OpenAIProviderOptions = {}): ChatProvider {
  if (!spec.baseURL) throw new InputError(`provider "${name}" has no baseURL`, { field: `providers.${name}.baseURL` });
  const env = opts.env ?? process.env;
  let apiKey: string;
  if (spec.keyless) {
    apiKey = KEYLESS_PLACEHOLDER;
  } else {
    const varName = spec.apiKeyEnv;
    if (!varName) throw new InputError(`provider "${name}" names no apiKeyEnv (set keyless: true for endpoints without auth)`, { field: `providers.${name}.apiKeyEnv` });
    const v = env[varName];
    if (!v || !v.trim()) throw new InputError(`provider "${name}" needs an API key: environment variable ${varName} is not set`, { field: `providers.${name}.apiKeyEnv` });
    apiKey = v.trim();
  }

  const idleMs = spec.idleTimeoutMs ?? spec.timeoutMs;
  const client = new OpenAI({
    apiKey,
    baseURL: spec.baseURL,
    maxRetries: 0,
    timeout: spec.timeoutMs,
    // Never forward OpenAI account ids from the environment to an arbitrary endpoint.
    organization: null,
    project: null,
    defaultHeaders: spec.keyless ? { Authorization: null } : undefined,
    // `timeout` ends at the response headers; a body or stream that stalls after them is caught here.
    fetch: idleTimeoutFetch(idleMs),
  });
  const limiter = opts.limiter ?? new Limiter(spec.maxConcurrency, spec.requestsPerMinute);
  const maxRetries = spec.maxRetries;
  const baseMs = opts.retryBaseMs ?? 500;
  const capMs = opts.retryCapMs ?? 30_000;
  // The key must never reach a message, even if a server echoes it back in an error body.
  const scrub = (s: string) => (spec.keyless || apiKey.length < 4 ? s : s.split(apiKey).join('***'));

  function classify(e: unknown): AttemptFailure {
    if (isIdleTimeout(e)) return { reason: 'timeout', retryable: true, detail: `the answer stalled: no data for ${idleMs} ms (idleTimeoutMs)`, cause: e };
    if (e instanceof APIConnectionTimeoutError) return { reason: 'timeout', retryable: true, detail: `no answer within ${spec.timeoutMs} ms`, cause: e };
    if (e instanceof APIConnectionError) {
      const cause = (e as any).cause;
      const why = cause?.code ?? cause?.cause?.code ?? cause?.message ?? e.message;
      return { reason: 'connection', retryable: true, detail: `cannot reach ${spec.baseURL}: ${why}`, cause: e };
    }
    if (e instanceof APIError && typeof e.status === 'number') {
      const msg = (e.error as any)?.message ?? (typeof e.error === 'string' ? e.error : undefined) ?? e.message;
      return {
        reason: 'http',
        status: e.status,
        retryable: isRetryableStatus(e.status),
        detail: scrub(String(msg)).slice(0, 500),
        waitMs: retryAfterMs(e.headers as any),
        cause: e,
      };
    }
    if (e instanceof BadResponse) return { reason: 'bad-response', retryable: false, detail: e.message, cause: e };
    if (e instanceof SyntaxError) return { reason: 'bad-response', retryable: false, detail: `the answer is not valid JSON: ${scrub(e.message)}`, cause: e };
    // Errors thrown mid-stream by the socket (e.g. "terminated") are connection failures.
    const err = e as Error;
    return { reason: 'connection', retryable: true, detail: scrub(err?.message ?? String(e)), cause: e };
  }

  // Most OpenAI-compatible servers take `max_tokens`; OpenAI's reasoning models refuse it and want
  // `max_completion_tokens`. Models that said so once get the other field from then on.
  const completionLimitField = new Set<string>();
  const wantsCompletionField = (f: AttemptFailure, req: ProviderRequest) =>
    f.status === 400 && req.maxTokens !== undefined && !completionLimitField.has(req.model) && /max_completion_tokens/.test(f.detail);

  function body(req: ProviderRequest, stream: boolean): ChatCompletionCreateParams {
    const b: Record<string, unknown> = { model: req.model, messages: req.messages };
    if (req.temperature !== undefined) b.temperature = req.temperature;
    if (req.maxTokens !== undefined) b[completionLimitField.has(req.model) ? 'max_completion_tokens' : 'max_tokens'] = req.maxTokens;
    if (req.topP !== undefined) b.top_p = req.topP;
    if (req.seed !== undefined) b.seed = req.seed;
    if (req.logprobs) {
      b.logprobs = true;
      if (req.topLogprobs !== undefined) b.top_logprobs = req.topLogprobs;
    }
    if (stream) {
      b.stream = true;
      b.stream_options = { include_usage: true };
    }
    return b as unknown as ChatCompletionCreateParams;
  }

  async function once(req: ProviderRequest, o: CallOptions, delivered: { any: boolean }): Promise<ProviderResponse> {
    const t0 = performance.now();
    if (!o.onToken) {
      const r: any = await client.chat.completions.create(body(req, false) as any, { signal: o.signal });
      const choice = r?.choices?.[0];
      if (!choice) throw new BadResponse('the answer has no choices');
      const content = choice.message?.content;
      return {
        text: typeof content === 'string' ? content : '',
        finishReason: choice.finish_reason ?? 'unknown',
        usage: mapUsage(r.usage),
        logprobs: mapLogprobs(choice.logprobs?.content),
        latencyMs: performance.now() - t0,
      };
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
