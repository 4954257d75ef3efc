import { existsSync } from 'node:fs';
import { CacheStore, type CacheStats } from './cache-store.js';
import { parseDbLocation } from './db-location.js';
import { openStorage } from './open-storage.js';
import type { Storage } from './storage.js';

const EMPTY: CacheStats = { entries: 0, hits: 0, costUsd: 0, savedUsd: 0, byModel: [] };

/**
 * Open the database a `cache` command names, creating nothing: undefined when there is no cache there (a missing
 * file, or a database without our tables). Unusable or foreign databases are bad input naming `--db`.
 */
async function openExisting(location: string): Promise<Storage | undefined> {
  const loc = parseDbLocation(location);
  if (loc.kind === 'sqlite' && loc.path !== ':memory:' && !existsSync(loc.path)) return undefined;
  const storage = await openStorage(loc, { migrate: false });
  if (!(await storage.schemaVersions()).has('cache')) {
    await storage.close();
    return undefined;
  }
  return storage;
}

async function withCache<T>(location: string, none: T, fn: (cache: CacheStore, storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openExisting(location);
  if (!storage) return none;
  try {
    return await fn(new CacheStore(storage), storage);
  } finally {
    await storage.close();
  }
}

/** Cache statistics of a database (file path or URL). A database that does not exist is an empty cache (and is not created). */
export function readCacheStats(location: string): Promise<CacheStats> {
  return withCache(location, EMPTY, (cache) => cache.stats());
}

/** How many generations `clearCache` would delete. */
export async function countCached(location: string, model?: string): Promise<number> {
  const s = await readCacheStats(location);
  return model === undefined ? s.entries : (s.byModel.find((m) => m.model === model)?.entries ?? 0);
}

/** Delete cached generations (all, or one model's) and return how many went. Study data is left alone. */
export function clearCache(location: string, model?: string): Promise<number> {
  return withCache(location, 0, async (cache, storage) => {
    const n = await cache.clear(model);
    // Give the space back to the file system rather than growing the WAL forever.
    await storage.reclaimSpace();
    return n;
  });
}

const usd = (x: number) => `$${x < 0.01 && x > 0 ? x.toPrecision(3) : x.toFixed(4)}`;

/** Human-readable statistics: a summary line and a per-model table. */
export function formatCacheStats(display: string, s: CacheStats): string {
  const lines = [
    `cache ${display}`,
    `${s.entries} entries, ${s.hits} hits, ${usd(s.savedUsd)} saved by hits (the cached calls cost ${usd(s.costUsd)})`,
  ];
  if (s.byModel.length) {
    const rows = [['model', 'entries', 'hits', 'saved', 'cost'], ...s.byModel.map((m) => [m.model, String(m.entries), String(m.hits), usd(m.savedUsd), usd(m.costUsd)])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    lines.push('');
    for (const r of rows) lines.push(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
  }
  return lines.join('\n') + '\n';
}
