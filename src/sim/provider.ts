import { ProviderError } from '../providers/errors.js';
import { estimatePromptTokens, estimateTokens } from '../providers/estimate-tokens.js';
import type { CallOptions, ChatProvider, ProviderRequest, ProviderResponse, TokenLogprob } from '../providers/types.js';
import { mix, uniform } from './_hash.js';
import { lookupProfile, PROFILES, profileNames, type SimProfile } from './_profiles.js';
import { simRespond } from './_respond.js';
import { sleep } from '../providers/limits.js';

export interface SimProviderOptions {
  /** The world: which facts prompts hold and which models know them. Default 0. */
  worldSeed?: number;
  /** Simulated latency per call (ms). Default 0. */
  latencyMs?: number;
  /** Fraction of calls that fail with a retryable error (429 or 500), deterministically. Default 0. */
  failRate?: number;
  /** Provider name used in errors. Default `sim`. */
  name?: string;
  /** Profiles to use instead of the built-in ones (calibration and tests). */
  profiles?: ReadonlyMap<string, SimProfile>;
}

export interface SimCompletion {
  text: string;
  finishReason: 'stop' | 'length';
  usage: { promptTokens: number; completionTokens: number };
  logprobs?: TokenLogprob[];
}

/** The completion the sim gives a request: shared by the in-process provider and the HTTP server. */
export function simComplete(req: ProviderRequest, opts: { worldSeed?: number; profiles?: ReadonlyMap<string, SimProfile>; provider?: string } = {}): SimCompletion {
  const profile = lookupProfile(opts.profiles ?? PROFILES, req.model);
  if (!profile) {
    throw new ProviderError({
      provider: opts.provider ?? 'sim',
      model: req.model,
      status: 404,
      reason: 'http',
      attempts: 1,
      retryable: false,
      detail: `the simulated world has no model "${req.model}" (known: ${[...(opts.profiles?.keys() ?? profileNames())].join(', ')})`,
    });
  }
  const ans = simRespond(opts.worldSeed ?? 0, profile, req);
  let text = ans.text;
  let finishReason: 'stop' | 'length' = 'stop';
  if (req.maxTokens !== undefined && estimateTokens(text) > req.maxTokens) {
    text = text.slice(0, req.maxTokens * 4);
    finishReason = 'length';
  }
  let logprobs = ans.logprobs;
  if (req.logprobs && !logprobs) logprobs = textLogprobs(text, req.topLogprobs ?? 0);
  return { text, finishReason, usage: { promptTokens: estimatePromptTokens(req.messages), completionTokens: estimateTokens(text) }, logprobs };
}

/** Plausible per-piece logprobs for ordinary text (pieces = words with their leading space). */
function textLogprobs(text: string, top: number): TokenLogprob[] {
  const out: TokenLogprob[] = [];
  let k = 0;
  for (const m of text.matchAll(/\s*\S+/g)) {
    const lp = -1.5 * uniform(mix(text.length, k++));
    const entry: TokenLogprob = { token: m[0], logprob: lp };
    if (top > 0) entry.top = [{ token: m[0], logprob: lp }];
    out.push(entry);
  }
  return out;
}

/** Split text into stream deltas (a word with its trailing space each); joined they are the text. */
export function streamPieces(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Deterministic failure injection: the n-th call fails iff a draw from (seed, n) falls under the rate. */
export function injectedFailure(failRate: number, worldSeed: number, n: number): 429 | 500 | undefined {
  if (!(failRate > 0)) return undefined;
  const u = uniform(worldSeed, 0xfa11, n);
  if (u >= failRate) return undefined;
  return u < failRate / 2 ? 429 : 500;
}


/** The simulated world as an in-process ChatProvider: no network, deterministic, fast. */
export function createSimProvider(opts: SimProviderOptions = {}): ChatProvider {
  const worldSeed = opts.worldSeed ?? 0;
  const latencyMs = opts.latencyMs ?? 0;
  const failRate = opts.failRate ?? 0;
  const name = opts.name ?? 'sim';
  let calls = 0;
  return {
    name,
    async complete(req: ProviderRequest, o: CallOptions = {}): Promise<ProviderResponse> {
      const started = performance.now();
      if (o.signal?.aborted) throw o.signal.reason ?? new DOMException('aborted', 'AbortError');
      const status = injectedFailure(failRate, worldSeed, calls++);
      if (latencyMs > 0) await sleep(latencyMs, o.signal);
      if (status) {
        throw new ProviderError({
          provider: name,
          model: req.model,
          status,
          reason: 'http',
          attempts: 1,
          retryable: true,
          detail: status === 429 ? 'simulated rate limit' : 'simulated server error',
        });
      }
      const c = simComplete(req, { worldSeed, profiles: opts.profiles, provider: name });
      if (o.onToken) for (const piece of streamPieces(c.text)) o.onToken(piece);
      const res: ProviderResponse = { text: c.text, finishReason: c.finishReason, usage: c.usage, latencyMs: performance.now() - started };
      if (c.logprobs) res.logprobs = c.logprobs;
      return res;
    },
  };
}
