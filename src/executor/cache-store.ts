import type { TokenLogprob } from '../providers/types.js';
import type { GenerationResult } from './types.js';
import { ensureCacheSchema, withBusyRetry, type DB } from './database.js';
import type Database from 'better-sqlite3';

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

/** Hit counts are buffered and written in one transaction at most this often (or when this many keys wait). */
const HIT_FLUSH_MS = 1000;
const HIT_FLUSH_KEYS = 512;

/**
 * The generations table. Each result is committed on its own as it arrives, so a crash loses nothing
 * that completed. Hit counts are statistics only, so they are batched to keep hits cheap; a crash may
 * lose the last second of them.
 */
export class CacheStore {
  private readonly getStmt: Database.Statement<[string], Row>;
  private readonly putStmt: Database.Statement;
  private readonly hitStmt: Database.Statement;
  private readonly pendingHits = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly db: DB) {
    ensureCacheSchema(db);
    this.getStmt = db.prepare('SELECT * FROM generations WHERE key = ?') as Database.Statement<[string], Row>;
    this.putStmt = db.prepare(
      `INSERT OR IGNORE INTO generations
        (key, model, request, response, finish_reason, prompt_tokens, completion_tokens, estimated, cost_usd, latency_ms, logprobs, created_at)
       VALUES (@key, @model, @request, @response, @finish_reason, @prompt_tokens, @completion_tokens, @estimated, @cost_usd, @latency_ms, @logprobs, @created_at)`,
    );
    this.hitStmt = db.prepare('UPDATE generations SET hits = hits + ?, last_hit_at = ? WHERE key = ?');
  }

  get(key: string): StoredGeneration | undefined {
    const r = this.getStmt.get(key);
    if (!r) return undefined;
    const g: StoredGeneration = {
      key: r.key,
      model: r.model,
      request: r.request,
      text: r.response,
      finishReason: r.finish_reason,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      estimated: r.estimated === 1,
      costUsd: r.cost_usd,
      latencyMs: r.latency_ms,
      createdAt: r.created_at,
    };
    if (r.logprobs) g.logprobs = JSON.parse(r.logprobs) as TokenLogprob[];
    return g;
  }

  /**
   * Store a result (autocommit: durable once this returns). Returns false when the key was already
   * there, e.g. another process computed the same generation at the same time.
   */
  put(g: Omit<StoredGeneration, 'createdAt'> & { createdAt?: string }): boolean {
    const info = withBusyRetry(() =>
      this.putStmt.run({
        key: g.key,
        model: g.model,
        request: g.request,
        response: g.text,
        finish_reason: g.finishReason,
        prompt_tokens: g.promptTokens,
        completion_tokens: g.completionTokens,
        estimated: g.estimated ? 1 : 0,
        cost_usd: g.costUsd,
        latency_ms: g.latencyMs,
        logprobs: g.logprobs ? JSON.stringify(g.logprobs) : null,
        created_at: g.createdAt ?? new Date().toISOString(),
      }),
    );
    return info.changes > 0;
  }

  /** Count a hit (written later, in a batch). */
  recordHit(key: string): void {
    this.pendingHits.set(key, (this.pendingHits.get(key) ?? 0) + 1);
    if (this.pendingHits.size >= HIT_FLUSH_KEYS) this.flushHits();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flushHits(), HIT_FLUSH_MS);
      this.timer.unref();
    }
  }

  flushHits(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pendingHits.size || !this.db.open) return;
    const hits = [...this.pendingHits];
    this.pendingHits.clear();
    const now = new Date().toISOString();
    const write = this.db.transaction(() => {
      for (const [key, n] of hits) this.hitStmt.run(n, now, key);
    });
    try {
      withBusyRetry(() => write.immediate());
    } catch {
      // Hit counts are statistics: losing one batch to a long-held lock must not fail a generation.
    }
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM generations').get() as { n: number }).n;
  }

  stats(): CacheStats {
    this.flushHits();
    const byModel = this.db
      .prepare(
        `SELECT model, COUNT(*) AS entries, COALESCE(SUM(hits), 0) AS hits,
                COALESCE(SUM(cost_usd), 0) AS costUsd, COALESCE(SUM(hits * cost_usd), 0) AS savedUsd
         FROM generations GROUP BY model ORDER BY model`,
      )
      .all() as ModelCacheStats[];
    const sum = (f: keyof Omit<ModelCacheStats, 'model'>) => byModel.reduce((a, m) => a + m[f], 0);
    return { entries: sum('entries'), hits: sum('hits'), costUsd: sum('costUsd'), savedUsd: sum('savedUsd'), byModel };
  }

  /** Delete cached generations (all, or one model's). Returns how many were removed. */
  clear(model?: string): number {
    this.flushHits();
    const info = withBusyRetry(() =>
      model === undefined ? this.db.prepare('DELETE FROM generations').run() : this.db.prepare('DELETE FROM generations WHERE model = ?').run(model),
    );
    return info.changes;
  }

  close(): void {
    this.flushHits();
  }
}
