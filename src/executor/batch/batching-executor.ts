import { setMaxListeners } from 'node:events';
import { findModel, type BatchSpec } from '../../config/space.js';
import { batchInputLine } from '../../providers/batch-client.js';
import { cacheKey } from '../cache-key.js';
import type { CachingExecutor } from '../executor.js';
import { BudgetExceeded, type Executor, type GenerateOptions, type GenerationRequest, type GenerationResult, type SpendSnapshot } from '../types.js';
import { BatchJobStore, type JobRow } from './job-store.js';
import { JobRun, type RunContext } from './_job-run.js';
import { countFallback, newPending, type Outcome, type Pending } from './_pending.js';
import type { BatchEvent, BatchingOptions, BatchStats } from './types.js';

/** OpenAI takes input files up to 200 MB; jobs are cut well below that. */
const MAX_JOB_BYTES = 100 * 2 ** 20;

/** An executor whose uncached requests to batch-capable providers go out as Batch API jobs. */
export interface BatchingExecutor extends Executor {
  readonly inner: CachingExecutor;
  readonly jobs: BatchJobStore;
  batchStats(): BatchStats;
}

/**
 * Put a batch stage in front of a caching executor (its job tables are created in the executor's storage, SQLite
 * or PostgreSQL, first). Cache hits answer at once; every other request to a
 * provider with `batch` waits in a queue, and when every call in progress is waiting on the batch stage
 * (quiescence: the engine and the evaluator cannot go further without these answers), the queue goes out
 * as jobs, one per provider and model. So a MoA evaluation runs layer by layer with no batch-specific code:
 * all prompts' proposers, then all aggregations, then all judge calls. Results land in the same cache
 * under the same keys as online calls. Requests to other providers, and `noCache` calls, go online.
 */
export async function withBatching(inner: CachingExecutor, opts: BatchingOptions = {}): Promise<BatchingExecutor> {
  return new BatchingExecutorImpl(inner, await BatchJobStore.open(inner.storage), opts);
}

class BatchingExecutorImpl implements BatchingExecutor {
  private readonly stats: BatchStats = { stages: 0, jobsSubmitted: 0, jobsAttached: 0, requestsSubmitted: 0, results: 0, fallback: 0, fallbackReasons: {}, malformedLines: 0 };
  private readonly pending = new Map<string, Pending>();
  private readonly queue = new Set<Pending>();
  /** Runs following jobs found in the database, by row id (so two requests of one job share a poller). */
  private readonly attached = new Map<number, JobRun>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly unavailable = new Map<string, string>();
  private readonly closing = new AbortController();
  private readonly ctx: RunContext;
  /** generate() calls in progress; of them, those waiting on the batch stage; entries being placed; job runs not asleep. */
  private running = 0;
  private waiting = 0;
  private placing = 0;
  private working = 0;
  private scheduled = false;
  private closed = false;
  /** When the queue last became non-empty, and the timer that flushes it after lingering. */
  private queueSince = 0;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    readonly inner: CachingExecutor,
    readonly jobs: BatchJobStore,
    private readonly opts: BatchingOptions,
  ) {
    // Every poll and request of every job listens on it.
    setMaxListeners(0, this.closing.signal);
    this.ctx = {
      inner,
      store: this.jobs,
      stats: this.stats,
      signal: this.closing.signal,
      emit: (e: BatchEvent) => this.opts.onEvent?.(e),
      replace: (p) => this.place(p),
      forget: (p) => {
        if (this.pending.get(p.key) === p) this.pending.delete(p.key);
      },
      markUnavailable: (provider, reason) => this.unavailable.set(provider, reason),
      busy: (delta) => {
        this.working += delta;
        if (this.working === 0) this.poke();
      },
    };
  }

  priceOf(model: string, promptTokens: number, completionTokens: number): number {
    return this.inner.priceOf(model, promptTokens, completionTokens);
  }

  spend(): SpendSnapshot {
    return this.inner.spend();
  }

  batchStats(): BatchStats {
    return { ...this.stats, fallbackReasons: { ...this.stats.fallbackReasons } };
  }

  async generate(req: GenerationRequest, opts: GenerateOptions = {}): Promise<GenerationResult> {
    if (this.closed) throw new Error('executor is closed');
    this.running++;
    try {
      return await this.route(req, opts);
    } finally {
      this.running--;
      this.poke();
    }
  }

  private batchOf(modelId: string): { provider: string; spec: BatchSpec } | undefined {
    const m = findModel(this.inner.space, modelId);
    const spec = m && this.inner.space.providers[m.provider]?.batch;
    return m && spec && !this.unavailable.has(m.provider) ? { provider: m.provider, spec } : undefined;
  }

  private async route(req: GenerationRequest, opts: GenerateOptions): Promise<GenerationResult> {
    const batch = this.batchOf(req.model);
    // The inner executor validates (unknown model, no messages) and serves everything not batched.
    if (!batch || opts.noCache || !Array.isArray(req.messages) || req.messages.length === 0) return this.inner.generate(req, opts);
    opts.signal?.throwIfAborted();
    const r = this.inner.resolve(req);
    const key = cacheKey(r);
    let p = this.pending.get(key);
    const leader = !p;
    if (!p) {
      // Registered before the cache is read (an await), so concurrent callers of the same key join this one.
      p = newPending({ key, req: r, provider: batch.provider, account: opts.account ?? 'mixture', purpose: opts.purpose });
      this.pending.set(key, p);
      this.place(p);
    }
    const o = await this.wait(p, opts.signal);
    if ('error' in o) throw o.error;
    if ('fallback' in o) return this.inner.generate(req, opts);
    if (leader && !o.shared) return this.deliver(o.result, opts);
    this.inner.countShared();
    return this.deliver({ ...o.result, cached: true }, opts);
  }

  private deliver(res: GenerationResult, opts: GenerateOptions): GenerationResult {
    // Batch answers do not stream: a streaming caller gets the whole text at once.
    if (opts.onToken && res.text) opts.onToken(res.text);
    return res;
  }

  private async wait(p: Pending, signal?: AbortSignal): Promise<Outcome> {
    p.waiters++;
    this.waiting++;
    this.poke();
    try {
      if (!signal) return await p.outcome;
      return await new Promise<Outcome>((resolve, reject) => {
        const onAbort = () => {
          // A request nobody waits for any more leaves the queue; once submitted, its job runs on (and is cached).
          if (--p.waiters === 0 && p.state === 'queued') this.drop(p);
          reject(signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted.', 'AbortError'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        p.outcome.then((o) => {
          signal.removeEventListener('abort', onAbort);
          resolve(o);
        });
      });
    } finally {
      this.waiting--;
    }
  }

  private drop(p: Pending): void {
    this.queue.delete(p);
    if (this.pending.get(p.key) === p) this.pending.delete(p.key);
    p.settle({ error: new DOMException('The operation was aborted.', 'AbortError') });
  }

  /** Route a request: the cache (another job may have stored it), then an unfinished job holding it, else the queue. */
  private place(p: Pending): void {
    p.state = 'placing';
    this.placing++;
    void this.locate(p)
      .catch((e) => this.settle(p, { error: e }))
      .finally(() => {
        this.placing--;
        this.poke();
      });
  }

  private async locate(p: Pending): Promise<void> {
    const hit = await this.inner.lookup(p.key);
    if (hit) return this.settle(p, { result: hit });
    const row = await this.jobs.activeFor(p.key);
    return row ? this.attach(row, p) : this.enqueue(p);
  }

  private enqueue(p: Pending): void {
    if (p.state !== 'placing') return;
    // Its callers gave up while it was being placed: nothing to send.
    if (p.waiters === 0) return this.drop(p);
    if (this.queue.size === 0) this.queueSince = Date.now();
    p.state = 'queued';
    this.queue.add(p);
  }

  private attach(row: JobRow, p: Pending): void {
    let run = this.attached.get(row.id);
    // A run that failed leaves its row unfinished: answer online rather than attach to it again and again.
    if (run?.failed) return this.fallback(p, `job lost: following job ${row.jobId ?? row.id} failed earlier in this run`);
    if (run?.finished) return this.place(p);
    p.state = 'in-job';
    if (run) return void run.entries.set(p.key, p);
    const m = findModel(this.inner.space, row.model);
    const spec = m && this.inner.space.providers[row.provider]?.batch;
    if (!spec) return this.fallback(p, `job lost: job ${row.jobId ?? row.id} is for provider "${row.provider}", which has no batch settings now`);
    run = new JobRun(this.ctx, row, this.inner.batchClient(row.provider), spec);
    run.entries.set(p.key, p);
    this.attached.set(row.id, run);
    this.track(run.resume());
  }

  /** Answer a request online instead, said and counted like a job's fallbacks. */
  private fallback(p: Pending, reason: string): void {
    const kind = countFallback(this.stats, reason);
    this.opts.onEvent?.({ type: 'fallback', requests: 1, reasons: { [kind]: 1 } });
    this.settle(p, { fallback: reason });
  }

  private settle(p: Pending, o: Outcome): void {
    if (this.pending.get(p.key) === p) this.pending.delete(p.key);
    p.settle(o);
  }

  private track(t: Promise<void>): void {
    const done = t.finally(() => this.tasks.delete(done));
    this.tasks.add(done);
  }

  /**
   * After the current turn's microtasks have run: flush if every call in progress waits on the batch stage and
   * no job is being polled or read (one that is finishing may release more requests of the same stage).
   */
  private poke(): void {
    if (this.scheduled || this.queue.size === 0 || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.queue.size && this.placing === 0 && this.working === 0 && this.waiting === this.running && !this.closed) this.flushOrLinger();
    });
  }

  /**
   * Jobs of one stage rarely finish in the same poll: while other jobs are still out, the queue waits up to one
   * poll interval for the requests they will release, so a stage goes out as one flush, not one per job.
   */
  private flushOrLinger(): void {
    let pollMs = 0;
    if (this.tasks.size) for (const p of this.queue) pollMs = Math.max(pollMs, this.inner.space.providers[p.provider]!.batch!.pollSeconds * 1000);
    const wait = this.queueSince + pollMs - Date.now();
    if (wait <= 0) return this.track(this.flush());
    this.linger ??= setTimeout(() => {
      this.linger = undefined;
      this.poke();
    }, wait + 5);
  }

  /**
   * Send the queue: one job per provider and model (split at maxRequests and MAX_JOB_BYTES), budget held first.
   * It counts as work while it reserves, so requests it releases (refused by the budget) form the next stage.
   */
  private async flush(): Promise<void> {
    if (this.linger) clearTimeout(this.linger);
    this.linger = undefined;
    const entries = [...this.queue];
    this.queue.clear();
    this.ctx.busy(1);
    try {
      await this.submitStage(entries);
    } catch (e) {
      // Unexpected (the database went away, say): whoever still waits gets the cause; holds go when the ledger closes.
      for (const p of entries) this.settle(p, { error: e });
    } finally {
      this.ctx.busy(-1);
    }
  }

  private async submitStage(entries: Pending[]): Promise<void> {
    const stage = ++this.stats.stages;
    const groups = new Map<string, Pending[]>();
    const purposes: Record<string, number> = {};
    for (const p of entries) {
      const g = `${p.provider}\u0000${p.req.model}`;
      const group = groups.get(g);
      if (group) group.push(p);
      else groups.set(g, [p]);
      const label = describe(p);
      purposes[label] = (purposes[label] ?? 0) + 1;
    }
    const runs: Array<{ run: JobRun; lines: string[] }> = [];
    for (const group of groups.values()) {
      try {
        runs.push(...(await this.jobsOf(group)));
      } catch (e) {
        // A provider that cannot be reached at all (its key is missing, say): its requests fail, the others go on.
        await this.inner.release(group.map((p) => p.reservation)).catch(() => {});
        for (const p of group) {
          p.reservation = undefined;
          this.settle(p, { error: e });
        }
      }
    }
    if (this.closed) {
      // Closed while holding budget: nothing goes out; a later run sends these requests again.
      await this.inner.release(runs.flatMap(({ run }) => [...run.entries.values()].map((p) => p.reservation))).catch(() => {});
      for (const { run } of runs) for (const p of run.entries.values()) this.settle(p, { error: new Error('executor closed') });
      return;
    }
    this.opts.onEvent?.({ type: 'stage', stage, requests: runs.reduce((a, r) => a + r.lines.length, 0), jobs: runs.length, purposes });
    for (const { run, lines } of runs) this.track(run.submit(lines, stage));
  }

  private async jobsOf(group: Pending[]): Promise<Array<{ run: JobRun; lines: string[] }>> {
    const { provider, req } = group[0]!;
    const spec = this.inner.space.providers[provider]!.batch!;
    const client = this.inner.batchClient(provider);
    const out: Array<{ run: JobRun; lines: string[] }> = [];
    for (const chunk of this.chunks(group, spec)) {
      const run = new JobRun(this.ctx, { provider, model: req.model, discount: spec.discount }, client, spec);
      const lines: string[] = [];
      for (const { p, line } of chunk) {
        // Callers who all gave up while the stage was being reserved leave nothing to send (and no hold).
        if (abandoned(p) || !(await this.reserve(p, spec))) continue;
        if (abandoned(p)) {
          await this.inner.release([p.reservation]);
          p.reservation = undefined;
          continue;
        }
        p.state = 'in-job';
        run.entries.set(p.key, p);
        lines.push(line);
      }
      if (lines.length) out.push({ run, lines });
    }
    return out;
  }

  /** Hold the discounted worst case of a request before its job is submitted; a request that does not fit fails alone. */
  private async reserve(p: Pending, spec: BatchSpec): Promise<boolean> {
    try {
      p.reservation = await this.inner.reserve(p.req.model, this.inner.worstCaseUsd(p.req) * spec.discount);
      return true;
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) throw e;
      this.settle(p, { error: e });
      return false;
    }
  }

  private *chunks(group: Pending[], spec: BatchSpec): Generator<Array<{ p: Pending; line: string }>> {
    let chunk: Array<{ p: Pending; line: string }> = [];
    let bytes = 0;
    for (const p of group) {
      const line = batchInputLine(p.key, this.inner.providerRequest(p.req));
      const size = Buffer.byteLength(line) + 1;
      if (chunk.length && (chunk.length >= spec.maxRequests || bytes + size > MAX_JOB_BYTES)) {
        yield chunk;
        chunk = [];
        bytes = 0;
      }
      chunk.push({ p, line });
      bytes += size;
    }
    if (chunk.length) yield chunk;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Submitted jobs stay in the database: a later run re-attaches to them.
    this.closing.abort(new Error('executor closed'));
    if (this.linger) clearTimeout(this.linger);
    for (const p of [...this.queue]) this.settle(p, { error: new Error('executor closed') });
    this.queue.clear();
    // A stage being reserved may still start runs: wait until nothing is left.
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
    await this.inner.close();
  }
}

/** Settled while queued: every caller aborted. (A function, so that the state is read again after an await.) */
function abandoned(p: Pending): boolean {
  return p.state === 'settled';
}

/** A progress label: what the calls are for (and for whom, when it is not the mixture itself). */
function describe(p: Pending): string {
  const what = p.purpose ?? 'requests';
  return p.account === 'mixture' || what.startsWith(p.account) ? what : `${p.account}: ${what}`;
}
