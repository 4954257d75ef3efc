import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchSpec } from '../../config/space.js';
import { BatchApiError, FINAL_STATUSES, parseBatchOutput, type BatchClient, type BatchLineResult, type RemoteBatch } from '../../providers/batch-client.js';
import { estimatePromptTokens, estimateTokens } from '../../providers/estimate-tokens.js';
import type { ProviderResponse } from '../../providers/types.js';
import { canonicalJson, keyedRequest } from '../cache-key.js';
import type { StoredGeneration } from '../cache-store.js';
import type { CachingExecutor } from '../executor.js';
import type { GenerationRequest, GenerationResult } from '../types.js';
import type { BatchJobStore, JobItem, JobRow } from './job-store.js';
import { countFallback, type Outcome, type Pending } from './_pending.js';
import type { BatchEvent, BatchStats } from './types.js';

/** What every job run shares with the batching executor that started it. */
export interface RunContext {
  inner: CachingExecutor;
  store: BatchJobStore;
  stats: BatchStats;
  /** Aborted when the executor closes: runs stop polling and leave their jobs to a later run. */
  signal: AbortSignal;
  emit(e: BatchEvent): void;
  /** Route a request again (its job was never created): cache, then the queue. */
  replace(p: Pending): void;
  /** A settled request leaves the executor's table of pending keys. */
  forget(p: Pending): void;
  /** The provider's Batch API refused us for good: later requests go online. */
  markUnavailable(provider: string, reason: string): void;
  /** A run starts (+1) or stops (-1) working (anything but sleeping between polls): no flush while any works. */
  busy(delta: 1 | -1): void;
}

/**
 * Sleep until the next multiple of `ms` on the clock, so every job of a process polls at the same instants:
 * jobs of one stage that finish together are read in the same tick and their waiters go on together.
 */
async function sleepToTick(ms: number, ctx: RunContext): Promise<void> {
  ctx.busy(-1);
  try {
    await sleep(ms - (Date.now() % ms), undefined, { signal: ctx.signal });
  } finally {
    ctx.busy(1);
  }
}

/** Download attempts of a finished job's files before its requests fall back online. */
const DOWNLOAD_ATTEMPTS = 5;

const errorText = (e: unknown) => ((e as Error)?.message ?? String(e)).replace(/\s*\n\s*/g, ' ');

/**
 * One batch job's life in this process: submit it (or re-attach to one an earlier run submitted), poll it,
 * read its output, store every result in the cache at the discounted price, and settle its waiters.
 * Requests it cannot answer fall back to online calls, said and counted.
 */
export class JobRun {
  /** This process's waiters, by cache key (an attached job may hold keys nobody here asked for). */
  readonly entries = new Map<string, Pending>();
  /** Set in the same synchronous step that settles the entries: later arrivals must route again. */
  finished = false;
  /** The run stopped on an unexpected error: its job may still be unfinished in the database. */
  failed = false;
  private jobId?: string;
  private readonly startedAt = Date.now();

  constructor(
    private readonly ctx: RunContext,
    private row: Pick<JobRow, 'provider' | 'model' | 'discount'> & Partial<JobRow>,
    private readonly client: BatchClient,
    private readonly spec: BatchSpec,
  ) {}

  /** Submit a new job of these entries (their budget is already reserved), then follow it to the end. */
  async submit(lines: string[], stage: number): Promise<void> {
    await this.guard(async () => {
      const remote = await this.create(lines, stage);
      if (remote) await this.followAndIngest();
    });
  }

  /** Follow an unfinished job from the database (an earlier run's): never submitted again. */
  async resume(): Promise<void> {
    await this.guard(async () => {
      if (await this.reattach()) await this.followAndIngest();
    });
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    this.ctx.busy(1);
    try {
      await fn();
    } catch (e) {
      // Closing leaves the job to a later run; anything else unexpected fails the waiters with the cause.
      this.failed = !this.ctx.signal.aborted;
      await this.finish(() => ({ error: this.ctx.signal.aborted ? new Error('executor closed while a batch job was pending') : e }));
    } finally {
      this.ctx.busy(-1);
    }
  }

  // Phase 1: the job exists (created now, or found from an earlier run).

  private async create(lines: string[], stage: number): Promise<RemoteBatch | undefined> {
    const { ctx, client } = this;
    const items: JobItem[] = [...this.entries.values()].map((p) => ({ key: p.key, account: p.account, request: requestJson(p.req) }));
    const id = await ctx.store.begin({ provider: this.row.provider, model: this.row.model, discount: this.row.discount, items });
    this.row = { ...this.row, id };
    let remote: RemoteBatch;
    try {
      const fileId = await client.upload(lines.join('\n') + '\n', { signal: ctx.signal });
      await ctx.store.fileUploaded(id, fileId);
      remote = await this.createJob(fileId);
    } catch (e) {
      // Killed or closed here, the row stays `submitting` with its file id: a later run looks the job up.
      if (ctx.signal.aborted) throw e;
      const msg = errorText(e);
      await ctx.store.abandon(id, `not submitted: ${msg}`);
      if (e instanceof BatchApiError && !e.retryable) ctx.markUnavailable(this.row.provider, msg);
      ctx.emit({ type: 'submit-failed', provider: this.row.provider, model: this.row.model, requests: items.length, message: msg });
      await this.finish(() => ({ fallback: `not submitted: ${msg}` }));
      return undefined;
    }
    this.jobId = remote.id;
    await ctx.store.submitted(id, remote.id, remote.status);
    ctx.stats.jobsSubmitted++;
    ctx.stats.requestsSubmitted += items.length;
    ctx.emit({ type: 'submitted', job: remote.id, provider: this.row.provider, model: this.row.model, requests: items.length, stage });
    return remote;
  }

  /** Create the job; when the answer is lost (a timeout after the server acted), find the job it made. */
  private async createJob(fileId: string): Promise<RemoteBatch> {
    const metadata = { source: 'moa-search', job_row: String(this.row.id) };
    try {
      return await this.client.create(fileId, metadata, { signal: this.ctx.signal });
    } catch (e) {
      if (this.ctx.signal.aborted || !(e instanceof BatchApiError) || !e.retryable) throw e;
      const found = await this.client.findByInputFile(fileId, Math.floor(this.startedAt / 1000), { signal: this.ctx.signal }).catch(() => undefined);
      if (found) return found;
      throw e;
    }
  }

  private async reattach(): Promise<boolean> {
    const { ctx, row } = this;
    let jobId = row.jobId;
    if (row.state === 'submitting') {
      // The earlier run stopped between upload and recording the job: the provider's list says whether it exists.
      const since = Math.floor(Date.parse(row.createdAt!) / 1000);
      const found = row.inputFileId ? await this.client.findByInputFile(row.inputFileId, since, { signal: ctx.signal }).catch(() => undefined) : undefined;
      if (!found) {
        await ctx.store.abandon(row.id!, 'never created: the run that uploaded it stopped first');
        await this.finish(() => 'replace');
        return false;
      }
      await ctx.store.submitted(row.id!, found.id, found.status);
      jobId = found.id;
    }
    this.jobId = jobId;
    ctx.stats.jobsAttached++;
    ctx.emit({ type: 'attached', job: jobId!, provider: row.provider, model: row.model, requests: row.requests! });
    return true;
  }

  // Phase 2: poll until the job is final, then read and store its results.

  private async followAndIngest(): Promise<void> {
    const remote = await this.follow();
    if (!remote) return;
    const files = await this.download(remote);
    if (!files) return;
    await this.ingest(remote, files);
  }

  private async follow(): Promise<RemoteBatch | undefined> {
    const { ctx } = this;
    const pollMs = this.spec.pollSeconds * 1000;
    let last = '';
    let failing = false;
    for (let first = true; ; first = false) {
      if (!first) await sleepToTick(pollMs, ctx);
      let remote: RemoteBatch;
      try {
        remote = await this.client.retrieve(this.jobId!, { signal: ctx.signal });
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        if (e instanceof BatchApiError && e.status === 404) return this.lost(`the provider no longer knows job ${this.jobId}`);
        // Transient trouble (after the client's retries): keep polling; the job is safe in the database.
        if (!failing) ctx.emit({ type: 'poll-error', job: this.jobId!, message: errorText(e) });
        failing = true;
        continue;
      }
      failing = false;
      const c = remote.counts ?? { completed: 0, failed: 0, total: this.row.requests ?? this.entries.size };
      const now = `${remote.status} ${c.completed} ${c.failed}`;
      if (now !== last) {
        last = now;
        await ctx.store.remoteStatus(this.row.id!, remote.status);
        ctx.emit({ type: 'progress', job: remote.id, status: remote.status, completed: c.completed, failed: c.failed, total: c.total });
      }
      if (FINAL_STATUSES.has(remote.status)) return remote;
    }
  }

  private async lost(why: string): Promise<undefined> {
    await this.ctx.store.abandon(this.row.id!, why);
    await this.finish(() => ({ fallback: `job lost: ${why}` }));
    return undefined;
  }

  private async download(remote: RemoteBatch): Promise<string[] | undefined> {
    const ids = [remote.outputFileId, remote.errorFileId];
    for (let attempt = 1; ; attempt++) {
      try {
        return await Promise.all(ids.map((id) => (id ? this.client.download(id, { signal: this.ctx.signal }) : '')));
      } catch (e) {
        if (this.ctx.signal.aborted) throw e;
        if (attempt >= DOWNLOAD_ATTEMPTS) return this.lost(`its output cannot be downloaded: ${errorText(e)}`);
        await sleepToTick(this.spec.pollSeconds * 1000, this.ctx);
      }
    }
  }

  private async ingest(remote: RemoteBatch, files: string[]): Promise<void> {
    const { ctx } = this;
    const items = await ctx.store.items(this.row.id!);
    const { good, failed, malformed } = this.sortLines(remote, items, files);
    const gens = good.map(({ item, response }) => this.generation(item, response));
    const accountOf = new Map(items.map((i) => [i.key, i.account]));
    // The process that stores a job's results books their cost, once: results, bookings and the done mark commit
    // together. Keys in order, so two processes storing overlapping jobs at once take the cache's row locks alike.
    gens.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const booked = gens.map((g) => {
      const p = this.entries.get(g.key);
      return { ...(p?.reservation ? { reservation: p.reservation } : {}), account: p?.account ?? accountOf.get(g.key)!, usd: g.costUsd };
    });
    let counted = () => {};
    const claimed = await ctx.store.complete(this.row.id!, { remoteStatus: remote.status, results: gens.length, fallback: failed.size, malformed }, async (tx) => {
      for (const g of gens) await ctx.inner.cache.put(g, tx);
      counted = await ctx.inner.settleIn(tx, booked);
    });
    const byKey = new Map(gens.map((g) => [g.key, g]));
    if (claimed) {
      counted();
      for (const g of gens) {
        const p = this.entries.get(g.key);
        if (p) p.reservation = undefined;
      }
      ctx.stats.results += gens.length;
    }
    // Another process finished the job first and stored the same results: they are read back from the cache.
    const stored = new Set<string>();
    if (!claimed) for (const p of this.entries.values()) if (byKey.has(p.key) && (await ctx.inner.cache.get(p.key))) stored.add(p.key);
    const outcome = await this.finish((p) => {
      const g = byKey.get(p.key);
      if (g && claimed) return { result: { ...g, cached: false } };
      if (g) return stored.has(p.key) ? { result: { ...g, cached: true }, shared: true } : { fallback: 'missing: stored by another process, then gone' };
      return { fallback: failed.get(p.key) ?? `missing from the output of a ${remote.status} job` };
    });
    ctx.emit({ type: 'done', job: remote.id, status: remote.status, results: gens.length, fallback: outcome.fallback, malformed });
  }

  /** Sort a job's lines into results, per-request failures (with reasons) and malformed lines (reported). */
  private sortLines(remote: RemoteBatch, items: JobItem[], files: string[]) {
    const { ctx } = this;
    const wanted = new Map(items.map((i) => [i.key, i]));
    const good: Array<{ item: JobItem; response: ProviderResponse }> = [];
    const failed = new Map<string, string>();
    let malformed = 0;
    const seen = new Set<string>();
    const report = (line: number, reason: string, key?: string) => {
      malformed++;
      ctx.stats.malformedLines++;
      ctx.emit({ type: 'malformed', job: remote.id, line, key, reason });
      if (key && wanted.has(key) && !seen.has(key)) failed.set(key, `malformed: output line ${line}: ${reason}`);
    };
    files.forEach((text) => {
      const parsed = parseBatchOutput(text);
      for (const m of parsed.malformed) report(m.line, m.reason, m.customId);
      parsed.results.forEach((r: BatchLineResult) => {
        const item = wanted.get(r.customId);
        if (!item) return report(0, `unknown custom_id ${r.customId}`);
        if (seen.has(r.customId)) return;
        if ('error' in r) return void failed.set(r.customId, `failed in batch: ${r.error}`);
        seen.add(r.customId);
        failed.delete(r.customId);
        good.push({ item, response: r.response });
      });
    });
    const why =
      remote.status === 'completed'
        ? 'missing: not in the output file'
        : remote.status === 'failed'
          ? `job failed: ${remote.errors ?? 'no reason given'}`
          : `${remote.status}: the job ended before answering it`;
    for (const key of wanted.keys()) if (!seen.has(key) && !failed.has(key)) failed.set(key, why);
    return { good, failed, malformed };
  }

  /** A result as the cache stores it: tokens as reported (else estimated), at the discounted price. */
  private generation(item: JobItem, resp: ProviderResponse): Omit<GenerationResult, 'cached'> & { request: string } {
    const { inner } = this.ctx;
    const estimated = !resp.usage;
    const promptTokens = resp.usage?.promptTokens ?? estimatePromptTokens((JSON.parse(item.request) as GenerationRequest).messages);
    const completionTokens = resp.usage?.completionTokens ?? estimateTokens(resp.text);
    const g: Omit<StoredGeneration, 'createdAt'> = {
      key: item.key,
      model: this.row.model,
      request: item.request,
      text: resp.text,
      finishReason: resp.finishReason,
      promptTokens,
      completionTokens,
      estimated,
      costUsd: inner.priceOf(this.row.model, promptTokens, completionTokens) * this.row.discount,
      // A batched request has no latency of its own: this is the job's turnaround as this process saw it.
      latencyMs: Date.now() - this.startedAt,
    };
    if (resp.logprobs?.length) g.logprobs = resp.logprobs;
    return g;
  }

  /**
   * Release the holds not booked, then settle every entry in one synchronous step. `finished` is set first, so a
   * new arrival meanwhile routes again instead of joining. `'replace'` sends an entry back through routing.
   */
  private async finish(decide: (p: Pending) => Outcome | 'replace'): Promise<{ fallback: number }> {
    const { ctx } = this;
    this.finished = true;
    const entries = [...this.entries.values()];
    const holds = entries.map((p) => p.reservation).filter((r) => r !== undefined);
    for (const p of entries) p.reservation = undefined;
    // A hold that cannot be dropped now expires (booked at its worst case, as a dead owner's): the waiters go on.
    if (holds.length) await ctx.inner.release(holds).catch(() => {});
    let fallback = 0;
    const reasons: Record<string, number> = {};
    for (const p of entries) {
      const o = decide(p);
      if (o === 'replace') {
        ctx.replace(p);
        continue;
      }
      if ('fallback' in o) {
        fallback++;
        const k = countFallback(ctx.stats, o.fallback);
        reasons[k] = (reasons[k] ?? 0) + 1;
      }
      ctx.forget(p);
      p.settle(o);
    }
    if (fallback) ctx.emit({ type: 'fallback', job: this.jobId, requests: fallback, reasons });
    return { fallback };
  }
}

/** The cache's `request` column for a resolved request. */
function requestJson(r: GenerationRequest): string {
  return canonicalJson(keyedRequest(r));
}
