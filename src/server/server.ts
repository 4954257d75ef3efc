import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Mixture } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import type { Executor, SpendSnapshot } from '../executor/types.js';
import { loadTemplates, type PromptTemplates } from '../moa/prompts.js';
import { MixtureRunError, runMixture, runTotals } from '../moa/engine.js';
import { ContextWindowExceeded } from '../executor/context-window.js';
import type { TraceCall } from '../moa/types.js';
import { bearerChecker } from './_auth.js';
import { Gate, Overloaded } from './_gate.js';
import { HttpError, readBody, sendError, sendJson } from './_http.js';
import { parseChatRequest, type ChatRequest } from './_request.js';
import { ServerStats } from './_stats.js';

export interface ServedMixture {
  /** The model name clients send. */
  name: string;
  mixture: Mixture;
}

export interface MixtureServerOptions {
  space: SearchSpace;
  mixtures: ServedMixture[];
  /** The caching executor every call goes through. The caller owns it (close it after the server). */
  executor: Executor;
  host?: string;
  /** 0 picks a free port. Default 8080. */
  port?: number;
  /** When set, every request needs `Authorization: Bearer <apiKey>`. The value itself is never logged. */
  apiKey?: string;
  /** Mixture runs at once (default 8); more wait in a queue of `maxQueue` (default 4 × maxConcurrency), then 429. */
  maxConcurrency?: number;
  maxQueue?: number;
  /** Skip the cache: every request makes fresh calls (spend is still recorded). */
  noCache?: boolean;
  /** Request body limit in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** On close, how long in-flight requests may finish before they are cancelled (default 10 s). */
  graceMs?: number;
  /** One line per request: method, path, status, model name, timing and call counts. Never keys, prompts or answers. */
  log?: (line: string) => void;
}

interface Outcome {
  id: string;
  /** Machine-readable failure code for the log line (never a message: those may quote upstream text). */
  error?: string;
  model: string;
  status: number;
  calls: TraceCall[];
  stream: boolean;
}

export type MixtureServerStats = ReturnType<ServerStats['snapshot']> & {
  inFlight: number;
  queued: number;
  maxConcurrency: number;
  cache: boolean;
  spend: SpendSnapshot;
};

export interface MixtureServer {
  /** Base URL for OpenAI clients, ending in `/v1`. */
  url: string;
  port: number;
  /** What `GET /v1/moa/stats` answers. */
  stats(): MixtureServerStats;
  /** Stop accepting, let in-flight requests finish within the grace period, cancel the rest. */
  close(): Promise<void>;
}

/**
 * The mixture's own critical path from its trace: per layer the slowest agent (agents of a layer run in
 * parallel), plus the layer's summarizer call, which runs after them; summed over layers.
 */
export function criticalPathMs(calls: readonly TraceCall[]): number {
  const slowest = new Map<number, number>();
  let sequential = 0;
  for (const c of calls) {
    // A cache hit's stored latency is history, not time spent in this request.
    const ms = c.cached ? 0 : c.latencyMs;
    if (c.role === 'summarizer') sequential += ms;
    else slowest.set(c.layer, Math.max(slowest.get(c.layer) ?? 0, ms));
  }
  return [...slowest.values()].reduce((a, b) => a + b, sequential);
}

/**
 * Upstream failures become 502; the message names models and providers, never keys. A request that cannot fit a
 * model's context window is the client's to shorten: 400 `context_length_exceeded`, as OpenAI answers it.
 */
function upstreamError(e: unknown): HttpError {
  const cause = e instanceof MixtureRunError ? e.cause : e;
  if (cause instanceof ContextWindowExceeded) return new HttpError(400, cause.message, 'invalid_request_error', 'messages', 'context_length_exceeded');
  const reason = e instanceof MixtureRunError ? e.reason : 'internal';
  const msg = e instanceof Error ? e.message : String(e);
  return new HttpError(502, `upstream failure: ${msg}`, 'upstream_error', null, reason);
}

/**
 * Serve mixtures as an OpenAI-compatible chat-completions endpoint:
 * `POST /v1/chat/completions` (JSON or SSE), `GET /v1/models`, `GET /v1/moa/stats`.
 */
export async function startMixtureServer(opts: MixtureServerOptions): Promise<MixtureServer> {
  const served = new Map<string, { mixture: Mixture; templates: PromptTemplates }>();
  for (const s of opts.mixtures) {
    if (served.has(s.name)) throw new Error(`two mixtures are served as "${s.name}"`);
    served.set(s.name, { mixture: s.mixture, templates: loadTemplates(s.mixture.prompts) });
  }
  if (!served.size) throw new Error('no mixture to serve');
  const limit = opts.maxConcurrency ?? 8;
  const gate = new Gate(limit, opts.maxQueue ?? 4 * limit);
  const stats = new ServerStats();
  const authorized = opts.apiKey ? bearerChecker(opts.apiKey) : undefined;
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const log = opts.log ?? (() => {});
  const created = Math.floor(Date.now() / 1000);
  const inFlight = new Set<AbortController>();
  const pending = new Set<Promise<void>>();
  let closing = false;

  const generation = { ...opts.space.generation };

  async function chat(req: IncomingMessage, res: ServerResponse, ac: AbortController): Promise<Outcome> {
    const body = parseChatRequest(await readBody(req, maxBody));
    const entry = served.get(body.model);
    if (!entry) throw new HttpError(404, `model "${body.model}" is not served here (see GET /v1/models)`, 'invalid_request_error', 'model', 'model_not_found');
    let release: () => void;
    try {
      release = await gate.acquire(ac.signal);
    } catch (e) {
      if (e instanceof Overloaded) {
        stats.rejected++;
        throw new HttpError(429, 'too many requests in flight; retry shortly', 'rate_limit_error', null, 'server_overloaded', { 'retry-after': '1' });
      }
      if (!ac.signal.aborted) throw e;
      // Left the queue before its turn: the client went away, or the server is shutting down.
      if (closing) sendError(res, new HttpError(503, 'server shut down before the request could start', 'server_error', null, 'shutting_down', { connection: 'close' }));
      else res.destroy();
      return { id: '', model: body.model, status: closing ? 503 : 499, calls: [], stream: body.stream, error: closing ? 'shutting_down' : 'client_disconnected' };
    }
    try {
      return await runOne(body, entry, res, ac);
    } finally {
      release();
    }
  }

  async function runOne(
    body: ChatRequest,
    entry: { mixture: Mixture; templates: PromptTemplates },
    res: ServerResponse,
    ac: AbortController,
  ): Promise<Outcome> {
    const id = `chatcmpl-moa-${randomUUID()}`;
    const now = () => Math.floor(Date.now() / 1000);
    // SSE headers wait for the first token, so a failure in the proposer layers can still be a clean 502.
    let started = false;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: now(), model: body.model, choices, ...extra })}\n\n`);
    const startStream = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }]);
    };
    try {
      const run = await runMixture(entry.mixture, body.messages, {
        executor: opts.executor,
        generation,
        finalGeneration: { temperature: body.temperature, maxTokens: body.maxTokens },
        signal: ac.signal,
        noCache: opts.noCache,
        templates: entry.templates,
        onToken: body.stream
          ? (d) => {
              if (!d || res.destroyed) return;
              startStream();
              chunk([{ index: 0, delta: { content: d }, finish_reason: null, logprobs: null }]);
            }
          : undefined,
      });
      const t = runTotals(run.calls);
      const usage = { prompt_tokens: t.promptTokens, completion_tokens: t.completionTokens, total_tokens: t.promptTokens + t.completionTokens };
      const moa = {
        calls: t.calls,
        made: t.made,
        cached: t.cached,
        failed: t.failed,
        cost_usd: t.costUsd,
        wall_ms: Math.round(run.wallMs * 10) / 10,
        critical_path_ms: Math.round(criticalPathMs(run.calls) * 10) / 10,
      };
      if (body.stream) {
        startStream();
        chunk([{ index: 0, delta: {}, finish_reason: run.finishReason, logprobs: null }]);
        if (body.includeUsage) chunk([], { usage, moa });
        res.end('data: [DONE]\n\n');
      } else {
        sendJson(
          res,
          200,
          {
            id,
            object: 'chat.completion',
            created: now(),
            model: body.model,
            choices: [{ index: 0, message: { role: 'assistant', content: run.text, refusal: null }, finish_reason: run.finishReason, logprobs: null }],
            usage,
            moa,
          },
          { 'x-moa-cost-usd': String(t.costUsd), 'x-moa-calls': String(t.calls), 'x-moa-cached': String(t.cached) },
        );
      }
      return { id, model: body.model, status: 200, calls: run.calls, stream: body.stream };
    } catch (e) {
      const calls = e instanceof MixtureRunError ? e.calls : [];
      if (ac.signal.aborted) {
        // Shutting down: the client is still there and gets a 503 (or the end of its stream).
        // Otherwise the client left: nothing more to say on this connection.
        if (started) res.end();
        else if (closing) sendError(res, new HttpError(503, 'server shut down before the answer was ready', 'server_error', null, 'shutting_down', { connection: 'close' }));
        else res.destroy();
        return { id, model: body.model, status: closing ? 503 : 499, calls, stream: body.stream, error: closing ? 'shutting_down' : 'client_disconnected' };
      }
      const err = upstreamError(e);
      if (started) {
        // Mid-stream failure: an error event the OpenAI SDK raises as an APIError, then close.
        res.write(`data: ${JSON.stringify({ error: { message: err.message, type: err.type, param: null, code: err.code } })}\n\n`);
        res.end();
      } else sendError(res, err);
      return { id, model: body.model, status: err.status, calls, stream: body.stream, error: err.code ?? 'upstream' };
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = performance.now();
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
    const ac = new AbortController();
    // The response closing before it finished means the client went away: cancel its upstream calls.
    res.on('close', () => {
      if (!res.writableFinished) ac.abort(new Error('client disconnected'));
    });
    inFlight.add(ac);
    let model = '-';
    let status = 200;
    let calls: TraceCall[] = [];
    let errorCode: string | undefined;
    try {
      if (closing) throw new HttpError(503, 'server is shutting down', 'server_error', null, 'shutting_down', { connection: 'close' });
      if (authorized && !authorized(req.headers.authorization)) {
        stats.unauthorized++;
        throw new HttpError(401, 'invalid or missing API key (send Authorization: Bearer <key>)', 'invalid_request_error', null, 'invalid_api_key');
      }
      if (path === '/v1/chat/completions') {
        if (req.method !== 'POST') throw new HttpError(405, `use POST for ${path}`, 'invalid_request_error', null, 'method_not_allowed', { allow: 'POST' });
        const r = await chat(req, res, ac);
        model = r.model;
        status = r.status;
        errorCode = r.error;
        calls = r.calls;
        stats.record({ id: r.id, model: r.model, status: r.status, stream: r.stream, wallMs: performance.now() - t0 }, r.calls);
      } else if (path === '/v1/models' || path.startsWith('/v1/models/')) {
        if (req.method !== 'GET') throw new HttpError(405, `use GET for ${path}`, 'invalid_request_error', null, 'method_not_allowed', { allow: 'GET' });
        const card = (name: string) => ({ id: name, object: 'model', created, owned_by: 'moa-search' });
        if (path === '/v1/models') sendJson(res, 200, { object: 'list', data: [...served.keys()].map(card) });
        else {
          const name = decodeURIComponent(path.slice('/v1/models/'.length));
          if (!served.has(name)) throw new HttpError(404, `model "${name}" is not served here`, 'invalid_request_error', 'model', 'model_not_found');
          sendJson(res, 200, card(name));
        }
      } else if (path === '/v1/moa/stats') {
        if (req.method !== 'GET') throw new HttpError(405, `use GET for ${path}`, 'invalid_request_error', null, 'method_not_allowed', { allow: 'GET' });
        sendJson(res, 200, snapshot());
      } else {
        throw new HttpError(404, `no route for ${req.method} ${path}`, 'invalid_request_error', null, 'not_found');
      }
    } catch (e) {
      status = e instanceof HttpError ? e.status : 500;
      errorCode = e instanceof HttpError ? (e.code ?? e.type) : 'internal';
      if (e instanceof HttpError) sendError(res, e);
      else if (!res.headersSent) sendError(res, new HttpError(500, 'internal server error', 'server_error'));
      else res.destroy();
    } finally {
      inFlight.delete(ac);
      const c = runTotals(calls);
      // Only known routes are echoed: a path is client-controlled text.
      const route = ['/v1/chat/completions', '/v1/models', '/v1/moa/stats'].includes(path) ? path : path.startsWith('/v1/models/') ? '/v1/models/*' : '(unknown route)';
      log(`${req.method} ${route} ${status} model=${JSON.stringify(model)} ${Math.round(performance.now() - t0)}ms calls=${c.made} cached=${c.cached} failed=${c.failed}${errorCode ? ` error=${errorCode}` : ''}`);
    }
  }

  function snapshot(): MixtureServerStats {
    return stats.snapshot({ inFlight: gate.active, queued: gate.queued, maxConcurrency: limit, cache: !opts.noCache, spend: opts.executor.spend() });
  }

  const server = createServer((req, res) => {
    const p = handle(req, res).catch(() => {
      res.destroy();
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  });
  // Long mixtures may take minutes before the first byte: no server-side request timeout.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closed: Promise<void> | undefined;

  return {
    url: `http://${host}:${addr.port}/v1`,
    port: addr.port,
    stats: snapshot,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        const grace = new Promise<void>((r) => setTimeout(r, opts.graceMs ?? 10_000).unref());
        await Promise.race([Promise.allSettled([...pending]), grace]);
        for (const ac of inFlight) ac.abort(new Error('server shutting down'));
        await Promise.allSettled([...pending]);
        server.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
