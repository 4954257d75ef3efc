import type { TokenLogprob } from '../providers/types.js';
import type { SqlRunner, Storage } from './storage.js';
import type { GenerationResult } from './types.js';

/** One cached generation, as stored: the result minus `cached`, plus the keyed request and when it was made. */
export type StoredGeneration = Omit<GenerationResult, 'cached'> & {
  /** Canonical JSON of the keyed request (no key, no base URL). */
  request: string;
  createdAt: string;
};

export interface ModelCacheStats {
  model: string;
  entries: number;
  hits: number;
  /** USD the stored calls cost when they were made. */
  costUsd: number;
  /** USD not spent thanks to hits: Σ hits × cost of the call. */
  savedUsd: number;
}

export interface CacheStats extends Omit<ModelCacheStats, 'model'> {
  byModel: ModelCacheStats[];
}

interface Row {
  key: string;
  model: string;
  request: string;
  response: string;
  finish_reason: string;
  prompt_tokens: number;
  completion_tokens: number;
  estimated: number;
  cost_usd: number;
  latency_ms: number;
  logprobs: string | null;
  created_at: string;
}

const GET = `SELECT key, model, request, response, finish_reason, prompt_tokens, completion_tokens, estimated, cost_usd,
  latency_ms, logprobs, created_at FROM generations WHERE key = ?`;
const PUT = `INSERT INTO generations
  (key, model, request, response, finish_reason, prompt_tokens, completion_tokens, estimated, cost_usd, latency_ms, logprobs, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`;
const HIT = 'UPDATE generations SET hits = hits + ?, last_hit_at = ? WHERE key = ?';

/** Hit counts are buffered and written in one transaction at most this often (or when this many keys wait). */
const HIT_FLUSH_MS = 1000;
const HIT_FLUSH_KEYS = 512;

function toStored(r: Row): StoredGeneration {
  const g: StoredGeneration = {
    key: r.key,
    model: r.model,
    request: r.request,
    text: r.response,
    finishReason: r.finish_reason,
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    estimated: Number(r.estimated) === 1,
    costUsd: r.cost_usd,
    latencyMs: r.latency_ms,
    createdAt: r.created_at,
  };
  if (r.logprobs) g.logprobs = JSON.parse(r.logprobs) as TokenLogprob[];
  return g;
}

/**
 * The generations table. Each result is committed on its own as it arrives, so a crash loses nothing that
 * completed. Hit counts are statistics only, so they are batched to keep hits cheap; a crash may lose the last
 * second of them.
 */
export class CacheStore {
  private readonly pendingHits = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(readonly storage: Storage) {}

  async get(key: string): Promise<StoredGeneration | undefined> {
    const r = await this.storage.get<Row>(GET, [key]);
    return r ? toStored(r) : undefined;
  }

  /**
   * Store a result (autocommit: durable once this resolves; or in the transaction `on`). False when the key was
   * already there, e.g. another process computed the same generation at the same time.
   */
  async put(g: Omit<StoredGeneration, 'createdAt'> & { createdAt?: string }, on: SqlRunner = this.storage): Promise<boolean> {
    const r = await on.run(PUT, [
      g.key,
      g.model,
      g.request,
      g.text,
      g.finishReason,
      g.promptTokens,
      g.completionTokens,
      g.estimated ? 1 : 0,
      g.costUsd,
      g.latencyMs,
      g.logprobs ? JSON.stringify(g.logprobs) : null,
      g.createdAt ?? new Date().toISOString(),
    ]);
    return r.changes > 0;
  }

  /** Count a hit (written later, in a batch). */
  recordHit(key: string): void {
    this.pendingHits.set(key, (this.pendingHits.get(key) ?? 0) + 1);
    if (this.pendingHits.size >= HIT_FLUSH_KEYS) void this.flushHits();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flushHits(), HIT_FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Write the buffered hit counts. Never throws: hit counts are statistics, a lost batch must not fail a generation. */
  flushHits(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pendingHits.size) return this.flushing;
    const hits = [...this.pendingHits];
    this.pendingHits.clear();
    const now = new Date().toISOString();
    // One flush at a time, in order.
    this.flushing = this.flushing.then(() =>
      this.storage
        .transaction(async (tx) => {
          for (const [key, n] of hits) await tx.run(HIT, [n, now, key]);
        })
        .catch(() => {}),
    );
    return this.flushing;
  }

  async count(): Promise<number> {
    return Number((await this.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM generations'))!.n);
  }

  async stats(): Promise<CacheStats> {
    await this.flushHits();
    const rows = await this.storage.all<{ model: string; entries: number; hits: number; cost_usd: number; saved_usd: number }>(
      `SELECT model, COUNT(*) AS entries, COALESCE(SUM(hits), 0) AS hits,
              COALESCE(SUM(cost_usd), 0) AS cost_usd, COALESCE(SUM(hits * cost_usd), 0) AS saved_usd
       FROM generations GROUP BY model ORDER BY model`,
    );
    const byModel: ModelCacheStats[] = rows.map((r) => ({
      model: r.model,
      entries: Number(r.entries),
      hits: Number(r.hits),
      costUsd: Number(r.cost_usd),
      savedUsd: Number(r.saved_usd),
    }));
    const sum = (f: keyof Omit<ModelCacheStats, 'model'>) => byModel.reduce((a, m) => a + m[f], 0);
    return { entries: sum('entries'), hits: sum('hits'), costUsd: sum('costUsd'), savedUsd: sum('savedUsd'), byModel };
  }

  /** Delete cached generations (all, or one model's). Returns how many were removed. */
  async clear(model?: string): Promise<number> {
    await this.flushHits();
    const r =
      model === undefined ? await this.storage.run('DELETE FROM generations') : await this.storage.run('DELETE FROM generations WHERE model = ?', [model]);
    return r.changes;
  }

  async close(): Promise<void> {
    await this.flushHits();
  }
}
