import { existsSync } from 'node:fs';
import { InputError } from '../config/input-error.js';
import { CacheStore, type CacheStats } from './cache-store.js';
import { openDatabase, type DB } from './database.js';

const EMPTY: CacheStats = { entries: 0, hits: 0, costUsd: 0, savedUsd: 0, byModel: [] };

/** Open an existing database file for the `cache` commands; a file that is not SQLite is bad input. */
function openExisting(dbPath: string): DB {
  try {
    return openDatabase(dbPath);
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_CANTOPEN')
      throw new InputError(`not a moa-search database (${code})`, { file: dbPath, field: '--db' });
    throw e;
  }
}

/** Cache statistics of a database file. A file that does not exist is an empty cache (and is not created). */
export function readCacheStats(dbPath: string): CacheStats {
  if (!existsSync(dbPath)) return EMPTY;
  const db = openExisting(dbPath);
  try {
    return new CacheStore(db).stats();
  } finally {
    db.close();
  }
}

/** How many generations `clearCache` would delete. */
export function countCached(dbPath: string, model?: string): number {
  if (!existsSync(dbPath)) return 0;
  const s = readCacheStats(dbPath);
  return model === undefined ? s.entries : (s.byModel.find((m) => m.model === model)?.entries ?? 0);
}

/** Delete cached generations (all, or one model's) and return how many went. Study data is left alone. */
export function clearCache(dbPath: string, model?: string): number {
  if (!existsSync(dbPath)) return 0;
  const db = openExisting(dbPath);
  try {
    const n = new CacheStore(db).clear(model);
    // Give the space back to the file system rather than growing the WAL forever.
    db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  } finally {
    db.close();
  }
}

const usd = (x: number) => `$${x < 0.01 && x > 0 ? x.toPrecision(3) : x.toFixed(4)}`;

/** Human-readable statistics: a summary line and a per-model table. */
export function formatCacheStats(dbPath: string, s: CacheStats): string {
  const lines = [
    `cache ${dbPath}`,
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
