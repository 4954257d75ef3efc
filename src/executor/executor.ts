import { InputError } from '../config/input-error.js';
import { findModel, type ModelSpec, type SearchSpace } from '../config/space.js';
import { createBatchClient, createProvider, type CreateProviderOptions } from '../providers/registry.js';
import type { BatchClient } from '../providers/batch-client.js';
import { estimatePromptTokens, estimateTokens } from '../providers/estimate-tokens.js';
import type { ChatProvider, ProviderRequest, ProviderResponse } from '../providers/types.js';
import { CacheStore, type StoredGeneration } from './cache-store.js';
import { cacheKey, canonicalJson, keyedRequest } from './cache-key.js';
import { contextOverflow } from './context-window.js';
import { InflightMarkers } from './inflight.js';
import { openStorage } from './open-storage.js';
import { SpendLedger, type Reservation, type Settlement } from './spend-ledger.js';
import { toProviderRequest } from './provider-request.js';
import type { SqlRunner, Storage } from './storage.js';
import type { Executor, GenerateOptions, GenerationRequest, GenerationResult, SpendSnapshot } from './types.js';

export interface OpenExecutorOptions {
  space: SearchSpace;
  /** Database: a file path or a postgres:// URL; ignored when `storage` is given. None: a private in-memory database. */
  dbPath?: string;
  /** An open storage (shared with other stores); the executor does not close it. */
  storage?: Storage;
  /** USD; uncached calls are refused with BudgetExceeded once they could pass it. */
  budgetUsd?: number;
  /** A budget scope shared with other processes (e.g. `study:<name>`); default: one of this executor's own. */
  ledgerScope?: string;
  /**
   * How long a dead process's in-flight markers and budget reservations hold before others take over (default
   * 30 s). Live processes renew theirs every third of it.
   */
  leaseMs?: number;
  /** Provider name → provider, replacing the ones the space would build (tests, embedding). */
  providers?: Map<string, ChatProvider>;
  /** Where API keys are read (default process.env). */
  env?: Record<string, string | undefined>;
  /** Passed to providers built from the space (e.g. retry backoff). */
  providerOptions?: CreateProviderOptions;
}

/** The executor plus the handles other parts may share (the study store writes to the same database). */
export interface CachingExecutor extends Executor {
  readonly storage: Storage;
  readonly cache: CacheStore;
  readonly ledger: SpendLedger;
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
  lookup(key: string): Promise<GenerationResult | undefined>;
  /** Count a request served by work another caller started (counted like a coalesced call). */
  countShared(): void;
  /** Hold USD against the budget before work is dispatched (undefined without a budget); throws BudgetExceeded. */
  reserve(model: string, usd: number): Promise<Reservation | undefined>;
  /**
   * Book results' costs on their accounts, dropping their holds, in the caller's transaction `tx` (the one that
   * stores the results); the returned function counts them in this process once `tx` has committed.
   */
  settleIn(tx: SqlRunner, results: readonly Settlement[]): Promise<() => void>;
  /** Drop holds without booking anything (the requests were not made this way), in one transaction. */
  release(rs: ReadonlyArray<Reservation | undefined>): Promise<void>;
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
  /** The one outcome every waiter shares. */
  result: Promise<GenerationResult>;
  controller: AbortController;
  /** Text streamed so far (late joiners get it first). */
  text: string;
  listeners: Set<(delta: string) => void>;
  waiters: number;
}

function fromCache(hit: StoredGeneration): GenerationResult {
  const { request: _request, createdAt: _createdAt, ...result } = hit;
  return { ...result, cached: true };
}

class ExecutorImpl implements CachingExecutor {
  readonly cache: CacheStore;
  private readonly markers: InflightMarkers;
  private readonly flights = new Map<string, Flight>();
  /** Every call in progress, coalesced or not (close() aborts them). */
  private readonly active = new Set<Flight>();
  private readonly built = new Map<string, ChatProvider>();
  private readonly batchClients = new Map<string, BatchClient>();
  private closed = false;

  constructor(
    readonly space: SearchSpace,
    readonly storage: Storage,
    private readonly ownsStorage: boolean,
    readonly ledger: SpendLedger,
    leaseMs: number | undefined,
    private readonly overrides: Map<string, ChatProvider>,
    private readonly env: Record<string, string | undefined> | undefined,
    private readonly providerOptions: CreateProviderOptions,
  ) {
    this.cache = new CacheStore(storage);
    this.markers = new InflightMarkers(storage, undefined, leaseMs);
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

  async lookup(key: string): Promise<GenerationResult | undefined> {
    const hit = await this.cache.get(key);
    return hit ? this.serveHit(hit, {}) : undefined;
  }

  countShared(): void {
    this.ledger.countCached();
  }

  async reserve(model: string, usd: number): Promise<Reservation | undefined> {
    return this.ledger.budget === undefined ? undefined : this.ledger.reserve(model, usd);
  }

  settleIn(tx: SqlRunner, results: readonly Settlement[]): Promise<() => void> {
    return this.ledger.settleIn(tx, results);
  }

  release(rs: ReadonlyArray<Reservation | undefined>): Promise<void> {
    return this.ledger.releaseAll(rs, { failed: false });
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

  async generate(req: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (this.closed) throw new Error('executor is closed');
    const model = this.model(req.model);
    if (!Array.isArray(req.messages) || req.messages.length === 0) throw new InputError(`a request to ${req.model} has no messages`, { field: 'messages' });
    const r = this.resolve(req);
    const key = cacheKey(r);
    opts.signal?.throwIfAborted();
    if (opts.noCache) return this.start(key, r, model, opts, false);
    const flight = this.flights.get(key);
    if (flight) return this.join(flight, opts, false);
    return this.start(key, r, model, opts, true);
  }

  private serveHit(hit: StoredGeneration, opts: GenerateOptions): GenerationResult {
    this.cache.recordHit(hit.key);
    this.ledger.countCached();
    if (opts.onToken && hit.text) opts.onToken(hit.text);
    return fromCache(hit);
  }

  /**
   * Start the one lookup-or-call for `key` that every in-process caller shares (or a private call for noCache).
   * It is registered before anything is awaited, so concurrent callers always find it.
   */
  private start(key: string, r: GenerationRequest, model: ModelSpec, opts: GenerateOptions, shared: boolean): Promise<GenerationResult> {
    const provider = shared ? undefined : this.provider(model.provider);
    const flight: Flight = { result: undefined as never, controller: new AbortController(), text: '', listeners: new Set(), waiters: 0 };
    if (shared) this.flights.set(key, flight);
    this.active.add(flight);
    flight.result = provider ? this.call(flight, provider, model, r, key, opts, false) : this.produce(flight, model, r, key, opts);
    // A failure nobody waits for any more (all waiters aborted) must not surface as an unhandled rejection.
    flight.result
      .catch(() => {})
      .finally(() => {
        this.active.delete(flight);
        if (this.flights.get(key) === flight) this.flights.delete(key);
      });
    return this.join(flight, opts, true);
  }

  /**
   * The cached result, or else the generation made, paying for it at most once across processes: claim its
   * in-flight marker and call the provider, or wait for the process holding the marker and read its result from the
   * cache (taking the call over if that process fails or dies).
   */
  private async produce(flight: Flight, model: ModelSpec, r: GenerationRequest, key: string, opts: GenerateOptions): Promise<GenerationResult> {
    const hit = await this.cache.get(key);
    if (hit) return this.serveHit(hit, {});
    const provider = this.provider(model.provider);
    const signal = flight.controller.signal;
    for (;;) {
      signal.throwIfAborted();
      const claim = await this.markers.claim(key);
      if (claim) {
        try {
          // The previous holder may have stored the result between our lookup and our claim.
          const stored = await this.cache.get(key);
          if (stored) return this.serveHit(stored, {});
          return await this.call(flight, provider, model, r, key, opts, true);
        } finally {
          // If this fails the lease still expires; waiters then take over.
          await this.markers.finish(key, claim).catch(() => {});
        }
      }
      await this.markers.waitFree(key, signal);
      const made = await this.cache.get(key);
      if (made) return this.serveHit(made, {});
    }
  }

  private resultOf(resp: ProviderResponse, r: GenerationRequest, key: string): GenerationResult {
    const promptTokens = resp.usage?.promptTokens ?? estimatePromptTokens(r.messages);
    const completionTokens = resp.usage?.completionTokens ?? estimateTokens(resp.text);
    const out: GenerationResult = {
      key,
      model: r.model,
      text: resp.text,
      finishReason: resp.finishReason,
      promptTokens,
      completionTokens,
      estimated: !resp.usage,
      costUsd: this.priceOf(r.model, promptTokens, completionTokens),
      latencyMs: resp.latencyMs,
      cached: false,
    };
    if (resp.logprobs?.length) out.logprobs = resp.logprobs;
    return out;
  }

  /** Reserve the worst case (with a budget), call the provider, book the spend and store the result. */
  private async call(
    flight: Flight,
    provider: ChatProvider,
    model: ModelSpec,
    r: GenerationRequest,
    key: string,
    opts: GenerateOptions,
    store: boolean,
  ): Promise<GenerationResult> {
    const fanOut = (delta: string) => {
      flight.text += delta;
      for (const l of flight.listeners) l(delta);
    };
    // A request that cannot fit the model is refused here, before it is reserved, sent or paid for.
    const overflow = contextOverflow(model, r.messages, r.maxTokens);
    if (overflow) throw overflow;
    const reservation = this.ledger.budget === undefined ? undefined : await this.ledger.reserve(r.model, this.worstCaseUsd(r));
    let resp: ProviderResponse;
    try {
      // Stream only when the caller that started the call asked for it; joiners get the text either way.
      resp = await provider.complete(toProviderRequest(r, model, this.space.providers[model.provider]), { signal: flight.controller.signal, onToken: opts.onToken ? fanOut : undefined });
    } catch (e) {
      await this.ledger.release(reservation).catch(() => {});
      throw e;
    }
    const out = this.resultOf(resp, r, key);
    // Book the spend, then store the result even if booking failed: what was paid for is never lost.
    const bookError = await this.ledger.settle(reservation, opts.account ?? 'mixture', out.costUsd).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (store) {
      const { cached: _cached, ...stored } = out;
      await this.cache.put({ ...stored, request: canonicalJson(keyedRequest(r)) });
    }
    if (bookError) throw bookError;
    return out;
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
      if (signal?.aborted) onAbort();
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
    await this.cache.close();
    await this.ledger.close().catch(() => {});
    await Promise.allSettled([...this.built.values(), ...this.batchClients.values()].map((p) => p.close?.()));
    if (this.ownsStorage) await this.storage.close();
  }
}

/**
 * Open the caching executor over a search space: every generation goes through its cache, coalescing (in this
 * process, and across processes through in-flight markers), provider limits and retries, spend ledger and budget.
 */
export async function openExecutor(opts: OpenExecutorOptions): Promise<CachingExecutor> {
  if (opts.budgetUsd !== undefined && !(Number.isFinite(opts.budgetUsd) && opts.budgetUsd >= 0)) {
    throw new InputError(`budget must be a non-negative number of USD, got ${opts.budgetUsd}`, { field: 'budget' });
  }
  let storage: Storage;
  const owns = !opts.storage;
  if (opts.storage) storage = opts.storage;
  else storage = await openStorage(opts.dbPath ?? ':memory:');
  try {
    const ledger = await SpendLedger.open({
      storage,
      ...(opts.budgetUsd !== undefined ? { budgetUsd: opts.budgetUsd } : {}),
      ...(opts.ledgerScope !== undefined ? { scope: opts.ledgerScope } : {}),
      ...(opts.leaseMs !== undefined ? { reservationTtlMs: opts.leaseMs } : {}),
    });
    return new ExecutorImpl(opts.space, storage, owns, ledger, opts.leaseMs, opts.providers ?? new Map(), opts.env, opts.providerOptions ?? {});
  } catch (e) {
    if (owns) await storage.close();
    throw e;
  }
}
