import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isProviderError } from '../providers/errors.js';
import type { ChatMessage, ProviderRequest, TokenLogprob } from '../providers/types.js';
import { hashString } from './_hash.js';
import { profileNames, PROFILES, type SimProfile } from './_profiles.js';
import { injectedFailure, simComplete, streamPieces } from './provider.js';

// `moa-search sim serve`: the simulated world behind an OpenAI-compatible HTTP API, so pointing a search
// space at it exercises the same client code (SDK, retries, streaming, usage) as a real provider.

export interface SimServerOptions {
  port?: number;
  host?: string;
  worldSeed?: number;
  latencyMs?: number;
  /** Fraction of requests answered 429 (Retry-After: 0) or 500, decided by a request counter and the seed. */
  failRate?: number;
  profiles?: ReadonlyMap<string, SimProfile>;
}

export interface SimServer {
  /** Base URL ending in /v1. */
  url: string;
  port: number;
  /** Requests received on /v1/chat/completions (failed ones included). */
  requests(): number;
  close(): Promise<void>;
}

const MAX_BODY = 32 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new HttpError(413, 'request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, message: string, code?: string, headers?: Record<string, string>) {
  const type = status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  sendJson(res, status, { error: { message, type, param: null, code: code ?? null } }, headers);
}

/** Parse and check an OpenAI chat-completions body into a provider request. */
function parseRequest(raw: string): { req: ProviderRequest; stream: boolean; includeUsage: boolean } {
  let body: any;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
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

function wireLogprobs(lp: TokenLogprob[] | undefined) {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSimServer(opts: SimServerOptions = {}): Promise<SimServer> {
  const worldSeed = opts.worldSeed ?? 0;
  const latencyMs = opts.latencyMs ?? 0;
  const failRate = opts.failRate ?? 0;
  let count = 0;

  const server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
      if (req.method === 'GET' && path === '/v1/models') {
        const names = opts.profiles ? [...opts.profiles.keys()] : profileNames();
        return sendJson(res, 200, { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'moa-search-sim' })) });
      }
      if (path !== '/v1/chat/completions') throw new HttpError(404, `no route for ${req.method} ${path || '/'}`);
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      const n = count++;
      const { req: preq, stream, includeUsage } = parseRequest(await readBody(req));
      if (latencyMs > 0) await sleep(latencyMs);
      const fail = injectedFailure(failRate, worldSeed, n);
      if (fail === 429) return sendError(res, 429, 'simulated rate limit', 'rate_limit_exceeded', { 'retry-after': '0' });
      if (fail === 500) return sendError(res, 500, 'simulated server error');
      const c = simComplete(preq, { worldSeed, profiles: opts.profiles ?? PROFILES, provider: 'sim-server' });
      const id = `chatcmpl-sim-${hashString(`${n}:${preq.model}`).toString(16)}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = { prompt_tokens: c.usage.promptTokens, completion_tokens: c.usage.completionTokens, total_tokens: c.usage.promptTokens + c.usage.completionTokens };
      if (!stream) {
        return sendJson(res, 200, {
          id,
          object: 'chat.completion',
          created,
          model: preq.model,
          choices: [{ index: 0, message: { role: 'assistant', content: c.text, refusal: null }, logprobs: preq.logprobs ? wireLogprobs(c.logprobs) : null, finish_reason: c.finishReason }],
          usage,
        });
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const chunk = (delta: object, finish: string | null, extra: object = {}) =>
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: preq.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, ...extra }] })}\n\n`);
      chunk({ role: 'assistant', content: '' }, null);
      const pieces = streamPieces(c.text);
      pieces.forEach((p, i) => chunk({ content: p }, null, i === 0 && preq.logprobs ? { logprobs: wireLogprobs(c.logprobs) } : {}));
      chunk({}, c.finishReason);
      if (includeUsage) res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: preq.model, choices: [], usage })}\n\n`);
      res.write('data: [DONE]\n\n');
      res.end();
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      if (e instanceof HttpError) return sendError(res, e.status, e.message, e.code);
      if (isProviderError(e) && e.status === 404) return sendError(res, 404, e.message, 'model_not_found');
      sendError(res, 500, `sim server failure: ${(e as Error).message}`);
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/v1`,
    port: addr.port,
    requests: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
