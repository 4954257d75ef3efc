import { InputError } from '../config/input-error.js';
import { findModel, type ModelSpec, type SearchSpace } from '../config/space.js';
import { createBatchClient, createProvider, type CreateProviderOptions } from '../providers/registry.js';
import type { BatchClient } from '../providers/batch-client.js';
import { estimatePromptTokens, estimateTokens } from '../providers/estimate-tokens.js';
import type { ChatProvider, ProviderRequest } from '../providers/types.js';
import { CacheStore } from './cache-store.js';
import { cacheKey, canonicalJson, keyedRequest } from './cache-key.js';
import { openDatabase, type DB } from './database.js';
import { SpendLedger, type Reservation } from './spend-ledger.js';
import { contextOverflow } from './context-window.js';
import { toProviderRequest } from './provider-request.js';
import type { Executor, GenerateOptions, GenerationRequest, GenerationResult, SpendSnapshot } from './types.js';

export interface OpenExecutorOptions {
  space: SearchSpace;
  /** Database file; ignored when `db` is given. Neither: a private in-memory database. */
  dbPath?: string;
  /** An open database (shared with the study store); the executor does not close it. */
  db?: DB;
  /** USD; uncached calls are refused with BudgetExceeded once they could pass it. */
  budgetUsd?: number;
  /** Provider name → provider, replacing the ones the space would build (tests, embedding). */
  providers?: Map<string, ChatProvider>;
  /** Where API keys are read (default process.env). */
  env?: Record<string, string | undefined>;
  /** Passed to providers built from the space (e.g. retry backoff). */
  providerOptions?: CreateProviderOptions;
}

/** The executor plus the handles other parts may share (the study store writes to the same database). */
export interface CachingExecutor extends Executor {
  readonly db: DB;
  readonly cache: CacheStore;
  readonly space: SearchSpace;
  /** Request with the space's generation defaults filled in, as it is keyed and sent. */
  resolve(req: GenerationRequest): GenerationRequest;
  /** The cache key of a request (after defaults are filled in). */
  keyOf(req: GenerationRequest): string;
  /** Worst-case USD of an uncached call: what the budget reserves before dispatching it. */
  worstCaseUsd(req: GenerationRequest): number;

  // Hooks for transports outside generate() (the batch stage, src/executor/batch/): they share the cache,
  // the spend ledger and the budget with online calls.
  /** The cached result for a key, counted as a hit; undefined on a miss. */
  lookup(key: string): GenerationResult | undefined;
  /** Count a request served by work another caller started (counted like a coalesced call). */
  countShared(): void;
  /** Hold USD against the budget before work is dispatched (undefined without a budget); throws BudgetExceeded. */
  reserve(model: string, usd: number): Reservation | undefined;
  /** Book a result's cost on an account, dropping its hold. */
  settle(r: Reservation | undefined, account: string, usd: number): void;
  /** Drop a hold without booking anything (the request was not made this way). */
  release(r: Reservation | undefined): void;
  /** The provider request a resolved request becomes (upstream model name, seed). */
  providerRequest(r: GenerationRequest): ProviderRequest;
  /** The Batch API client of a provider (built once, with the executor's environment; InputError without `batch`). */
  batchClient(provider: string): BatchClient;
}

/** Chat formatting adds a few tokens per message (role markers, separators) and a few per request. */
const PER_MESSAGE_OVERHEAD = 8;
const PER_REQUEST_OVERHEAD = 8;

/**
 * An upper bound on a prompt's tokens for budget reservations: its UTF-8 bytes plus formatting
 * overhead. Byte-level BPE tokenizers never produce more tokens than bytes, so a reservation built
 * on this cannot be overrun by a prompt the chars/4 estimate underrated (code, CJK, digits).
 */
export function promptTokenCeiling(messages: GenerationRequest['messages']): number {
  let n = PER_REQUEST_OVERHEAD;
  for (const m of messages) n += Buffer.byteLength(m.content, 'utf8') + PER_MESSAGE_OVERHEAD;
  return n;
}

interface Flight {
  /** The one provider call every waiter shares. */
  result: Promise<GenerationResult>;
  controller: AbortController;
  /** Text streamed so far (late joiners get it first). */
  text: string;
  listeners: Set<(delta: string) => void>;
  waiters: number;
}

class ExecutorImpl implements CachingExecutor {
  readonly cache: CacheStore;
  private readonly ledger: SpendLedger;
  private readonly flights = new Map<string, Flight>();
  /** Every call in progress, coalesced or not (close() aborts them). */
  private readonly active = new Set<Flight>();
  private readonly built = new Map<string, ChatProvider>();
  private readonly batchClients = new Map<string, BatchClient>();
  private closed = false;

  constructor(
    readonly space: SearchSpace,
    readonly db: DB,
    private readonly ownsDb: boolean,
    budget: number | undefined,
    private readonly overrides: Map<string, ChatProvider>,
    private readonly env: Record<string, string | undefined> | undefined,
    private readonly providerOptions: CreateProviderOptions,
  ) {
    this.cache = new CacheStore(db);
    this.ledger = new SpendLedger(budget);
  }

  private model(id: string): ModelSpec {
    const m = findModel(this.space, id);
    if (!m) throw new InputError(`unknown model "${id}" (not in ${this.space.file})`, { field: 'model' });
    return m;
  }

  private provider(name: string): ChatProvider {
    const o = this.overrides.get(name);
    if (o) return o;
    let p = this.built.get(name);
    if (!p) {
      const spec = this.space.providers[name];
      if (!spec) throw new InputError(`unknown provider "${name}" (not in ${this.space.file})`, { field: 'provider' });
      try {
        p = createProvider(name, spec, { ...this.providerOptions, env: this.env ?? this.providerOptions.env });
      } catch (e) {
        // Point at the space file the provider came from (a missing key env var, say).
        if (e instanceof InputError && !e.location.file) throw new InputError(e.reason, { ...e.location, file: this.space.file });
        throw e;
      }
      this.built.set(name, p);
    }
    return p;
  }

  priceOf(model: string, promptTokens: number, completionTokens: number): number {
    const { price } = this.model(model);
    return (promptTokens * price.input + completionTokens * price.output) / 1e6;
  }

  resolve(req: GenerationRequest): GenerationRequest {
    const g = this.space.generation;
    const r: GenerationRequest = {
      model: req.model,
      messages: req.messages,
      temperature: req.temperature ?? g.temperature,
      maxTokens: req.maxTokens ?? g.maxTokens,
      sample: req.sample ?? 0,
    };
    const topP = req.topP ?? g.topP;
    if (topP !== undefined) r.topP = topP;
    if (req.logprobs) {
      r.logprobs = true;
      if (req.topLogprobs !== undefined) r.topLogprobs = req.topLogprobs;
    }
    return r;
  }

  keyOf(req: GenerationRequest): string {
    return cacheKey(this.resolve(req));
  }

  worstCaseUsd(req: GenerationRequest): number {
    const r = this.resolve(req);
    return this.priceOf(r.model, promptTokenCeiling(r.messages), r.maxTokens!);
  }

  spend(): SpendSnapshot {
    return this.ledger.snapshot();
  }

  lookup(key: string): GenerationResult | undefined {
    const hit = this.cache.get(key);
    if (!hit) return undefined;
    this.cache.recordHit(key);
    this.ledger.countCached();
    const out: GenerationResult = {
      key,
      model: hit.model,
      text: hit.text,
      finishReason: hit.finishReason,
      promptTokens: hit.promptTokens,
      completionTokens: hit.completionTokens,
      estimated: hit.estimated,
      costUsd: hit.costUsd,
      latencyMs: hit.latencyMs,
      cached: true,
    };
    if (hit.logprobs) out.logprobs = hit.logprobs;
    return out;
  }

  countShared(): void {
    this.ledger.countCached();
  }

  reserve(model: string, usd: number): Reservation | undefined {
    return this.ledger.budget === undefined ? undefined : this.ledger.reserve(model, usd);
  }

  settle(r: Reservation | undefined, account: string, usd: number): void {
    this.ledger.settle(r, account, usd);
  }

  release(r: Reservation | undefined): void {
    this.ledger.release(r, { failed: false });
  }

  providerRequest(r: GenerationRequest): ProviderRequest {
    const model = this.model(r.model);
    return toProviderRequest(r, model, this.space.providers[model.provider]);
  }

  batchClient(provider: string): BatchClient {
    let c = this.batchClients.get(provider);
    if (!c) {
      const spec = this.space.providers[provider];
      if (!spec) throw new InputError(`unknown provider "${provider}" (not in ${this.space.file})`, { field: 'provider' });
      c = createBatchClient(provider, spec, { env: this.env ?? this.providerOptions.env });
      this.batchClients.set(provider, c);
    }
    return c;
  }

  // Everything up to the provider call runs synchronously (better-sqlite3 lookups are synchronous),
  // so the cache check, the coalescing check and the budget reservation cannot interleave with another caller.
  async generate(req: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (this.closed) throw new Error('executor is closed');
    const model = this.model(req.model);
    if (!Array.isArray(req.messages) || req.messages.length === 0) throw new InputError(`a request to ${req.model} has no messages`, { field: 'messages' });
    const r = this.resolve(req);
    const key = cacheKey(r);
    opts.signal?.throwIfAborted();

    if (!opts.noCache) {
      const flight = this.flights.get(key);
      if (flight) return this.join(flight, opts, false);
      const hit = this.lookup(key);
      if (hit) {
        if (opts.onToken && hit.text) opts.onToken(hit.text);
        return hit;
      }
    }

    // A request that cannot fit the model is refused here, before it is reserved, sent or paid for.
    const overflow = contextOverflow(model, r.messages, r.maxTokens);
    if (overflow) throw overflow;
    const provider = this.provider(model.provider);
    const reservation = this.ledger.budget === undefined ? undefined : this.ledger.reserve(r.model, this.worstCaseUsd(r));
    const flight: Flight = { result: undefined as never, controller: new AbortController(), text: '', listeners: new Set(), waiters: 0 };
    // Registered before the call starts: a provider failing synchronously must not leave a stale flight behind.
    if (!opts.noCache) this.flights.set(key, flight);
    this.active.add(flight);
    flight.result = this.call(flight, provider, model, r, key, reservation, opts);
    // A failure nobody waits for any more (all waiters aborted) must not surface as an unhandled rejection.
    flight.result.catch(() => {}).finally(() => this.active.delete(flight));
    return this.join(flight, opts, true);
  }

  private async call(
    flight: Flight,
    provider: ChatProvider,
    model: ModelSpec,
    r: GenerationRequest,
    key: string,
    reservation: Reservation | undefined,
    opts: GenerateOptions,
  ): Promise<GenerationResult> {
    const account = opts.account ?? 'mixture';
    const preq = toProviderRequest(r, model, this.space.providers[model.provider]);
    const fanOut = (delta: string) => {
      flight.text += delta;
      for (const l of flight.listeners) l(delta);
    };
    let settled = false;
    try {
      // Stream only when the caller that started the call asked for it; joiners get the text either way.
      const resp = await provider.complete(preq, { signal: flight.controller.signal, onToken: opts.onToken ? fanOut : undefined });
      const estimated = !resp.usage;
      const promptTokens = resp.usage?.promptTokens ?? estimatePromptTokens(r.messages);
      const completionTokens = resp.usage?.completionTokens ?? estimateTokens(resp.text);
      const costUsd = this.priceOf(r.model, promptTokens, completionTokens);
      const out: GenerationResult = {
        key,
        model: r.model,
        text: resp.text,
        finishReason: resp.finishReason,
        promptTokens,
        completionTokens,
        estimated,
        costUsd,
        latencyMs: resp.latencyMs,
        cached: false,
      };
      if (resp.logprobs?.length) out.logprobs = resp.logprobs;
      // Book the spend before storing: a storage failure must not hide money already spent.
      this.ledger.settle(reservation, account, costUsd);
      settled = true;
      if (!opts.noCache) {
        this.cache.put({
          key,
          model: r.model,
          request: canonicalJson(keyedRequest(r)),
          text: out.text,
          finishReason: out.finishReason,
          promptTokens,
          completionTokens,
          estimated,
          costUsd,
          latencyMs: out.latencyMs,
          logprobs: out.logprobs,
        });
      }
      return out;
    } catch (e) {
      if (!settled) this.ledger.release(reservation);
      throw e;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  /** Wait for a shared call; each waiter may abort alone, and the call itself stops when all have. */
  private join(flight: Flight, opts: GenerateOptions, leader: boolean): Promise<GenerationResult> {
    flight.waiters++;
    let sent = 0;
    const onToken = opts.onToken;
    const listener = onToken
      ? (d: string) => {
          sent += d.length;
          onToken(d);
        }
      : undefined;
    if (listener) {
      if (flight.text) listener(flight.text);
      flight.listeners.add(listener);
    }
    const signal = opts.signal;
    return new Promise<GenerationResult>((resolve, reject) => {
      const done = () => {
        if (listener) flight.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        if (--flight.waiters === 0) flight.controller.abort(signal!.reason);
        reject(signal!.reason instanceof Error ? signal!.reason : new DOMException('The operation was aborted.', 'AbortError'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      flight.result.then(
        (res) => {
          done();
          // Joiners of a non-streamed call (or who joined late) get whatever text they have not seen.
          if (onToken && res.text.length > sent) onToken(res.text.slice(sent));
          if (leader) resolve(res);
          else {
            this.ledger.countCached();
            resolve({ ...res, cached: true });
          }
        },
        (e) => {
          done();
          reject(e);
        },
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const active = [...this.active];
    for (const f of active) f.controller.abort(new Error('executor closed'));
    await Promise.allSettled(active.map((f) => f.result));
    this.cache.close();
    await Promise.allSettled([...this.built.values(), ...this.batchClients.values()].map((p) => p.close?.()));
    if (this.ownsDb && this.db.open) this.db.close();
  }
}

/**
 * Open the caching executor over a search space: every generation goes through its cache, coalescing,
 * provider limits and retries, spend ledger and budget.
 */
export async function openExecutor(opts: OpenExecutorOptions): Promise<CachingExecutor> {
  if (opts.budgetUsd !== undefined && !(Number.isFinite(opts.budgetUsd) && opts.budgetUsd >= 0)) {
    throw new InputError(`budget must be a non-negative number of USD, got ${opts.budgetUsd}`, { field: 'budget' });
  }
  const db = opts.db ?? openDatabase(opts.dbPath ?? ':memory:');
  return new ExecutorImpl(opts.space, db, !opts.db, opts.budgetUsd, opts.providers ?? new Map(), opts.env, opts.providerOptions ?? {});
}
