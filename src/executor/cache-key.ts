import { createHash } from 'node:crypto';
import type { GenerationRequest } from './types.js';

/** JSON with object keys sorted at every level and `undefined` fields dropped: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sortDeep(x)));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortDeep(x);
    }
    return out;
  }
  return v;
}

/**
 * The part of a request that determines the answer, in a fixed shape: model id (from the space, not the
 * upstream name), messages (role and content only), sampling parameters, and the sample index.
 * Provider, base URL and key are deliberately absent: they must never reach the cache.
 */
export function keyedRequest(req: GenerationRequest): Record<string, unknown> {
  const k: Record<string, unknown> = {
    model: req.model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    temperature: req.temperature,
    maxTokens: req.maxTokens,
    topP: req.topP,
    sample: req.sample ?? 0,
  };
  if (req.logprobs) {
    k.logprobs = true;
    k.topLogprobs = req.topLogprobs;
  }
  return k;
}

/** SHA-256 (hex) of the canonical JSON of the keyed request. */
export function cacheKey(req: GenerationRequest): string {
  return createHash('sha256').update(canonicalJson(keyedRequest(req))).digest('hex');
}
