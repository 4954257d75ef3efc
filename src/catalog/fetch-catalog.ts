import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../config/input-error.js';
import type { SearchSpace } from '../config/space.js';

// `models import --from-url`: the provider's own model list (OpenRouter GET /api/v1/models, Together GET
// /v1/models), fetched with the key the space names. The key goes into one request header and nowhere else.

export interface CatalogRequest {
  url: string;
  /** The URL as messages show it (no user info). */
  source: string;
  headers: Record<string, string>;
  /** The key, so any message that might echo it can be scrubbed. */
  secret?: string;
  timeoutMs: number;
  retries: number;
}

export class CatalogFetchError extends Error {
  override readonly name = 'CatalogFetchError';
  constructor(
    readonly url: string,
    readonly status: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Validate everything about the request before it is made: provider kind, URL, key. */
export function catalogRequest(space: SearchSpace, provider: string, url?: string): CatalogRequest {
  const spec = space.providers[provider]!;
  if (url === undefined && (spec.kind !== 'openai' || !spec.baseURL)) {
    throw new InputError(`provider "${provider}" has no baseURL to fetch a model list from (kind: ${spec.kind}); give --from-url <url> or a catalog file`, { field: '--from-url' });
  }
  const target = url ?? `${spec.baseURL!.replace(/\/+$/, '')}/models`;
  let parsed: URL;
  try {
    parsed = new URL(target);
  } catch {
    throw new InputError(`not a URL: "${target}"`, { field: '--from-url' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InputError(`only http and https URLs can be fetched (got ${parsed.protocol})`, { field: '--from-url' });
  const headers: Record<string, string> = { accept: 'application/json' };
  let secret: string | undefined;
  if (spec.apiKeyEnv) {
    secret = process.env[spec.apiKeyEnv];
    if (!secret && !spec.keyless) {
      throw new InputError(`environment variable ${spec.apiKeyEnv} is not set (provider "${provider}"'s apiKeyEnv; the model list is fetched with it)`, { file: space.file, field: `providers.${provider}.apiKeyEnv` });
    }
    if (secret) headers.authorization = `Bearer ${secret}`;
  }
  const shown = new URL(parsed);
  shown.username = '';
  shown.password = '';
  return { url: parsed.href, source: shown.href, headers, secret, timeoutMs: spec.timeoutMs, retries: Math.min(spec.maxRetries, 3) };
}

const RETRYABLE = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** GET the list; network errors, 429 and 5xx are retried (Retry-After honoured up to 10 s), then reported. */
export async function fetchCatalog(req: CatalogRequest, signal?: AbortSignal): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= req.retries;
    let res: Response;
    try {
      res = await fetch(req.url, { headers: req.headers, signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(req.timeoutMs)]) : AbortSignal.timeout(req.timeoutMs) });
    } catch (e) {
      if (signal?.aborted) throw e;
      if (last) throw new CatalogFetchError(req.source, undefined, scrub(`GET ${req.source} failed after ${attempt + 1} attempts: ${causeOf(e)}`, req.secret));
      await sleep(backoff(attempt), undefined, { signal });
      continue;
    }
    if (res.ok) return await res.text();
    const body = await res.text().catch(() => '');
    if (!RETRYABLE.has(res.status) || last) {
      throw new CatalogFetchError(req.source, res.status, scrub(`GET ${req.source}: HTTP ${res.status} ${res.statusText}${detail(body)}${attempt ? ` (after ${attempt + 1} attempts)` : ''}`, req.secret));
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    await sleep(Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter * 1000, 10_000) : backoff(attempt), undefined, { signal });
  }
}

const backoff = (attempt: number) => Math.min(500 * 2 ** attempt, 8000);

function causeOf(e: unknown): string {
  const err = e as Error & { cause?: Error };
  if (err?.name === 'TimeoutError') return 'timed out';
  return err?.cause?.message ?? err?.message ?? String(e);
}

/** The provider's own error message, when its body has one (OpenAI-style {"error": {"message"}}). */
function detail(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (typeof m === 'string' && m.trim()) return `: ${m.trim().slice(0, 200)}`;
  } catch {
    // not JSON: the status says enough
  }
  return '';
}

function scrub(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}
