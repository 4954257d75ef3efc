import type Database from 'better-sqlite3';
import { migrate, withBusyRetry, type DB } from '../database.js';

// The batch jobs this database has submitted, written the moment each step happens, so a killed process's
// rerun re-attaches to its jobs instead of paying for them again. Async methods over today's synchronous
// better-sqlite3 handle, so the store ports to an async SQL back end without changing its callers.

export type JobState = 'submitting' | 'submitted' | 'done' | 'abandoned';

export interface JobRow {
  id: number;
  provider: string;
  /** Space model id: one model per job, as OpenAI requires. */
  model: string;
  discount: number;
  state: JobState;
  inputFileId?: string;
  jobId?: string;
  remoteStatus?: string;
  requests: number;
  createdAt: string;
  note?: string;
}

export interface JobItem {
  key: string;
  account: string;
  /** Canonical JSON of the keyed request, as the cache stores it. */
  request: string;
}

export interface JobSummary {
  remoteStatus: string;
  results: number;
  fallback: number;
  malformed: number;
}

interface Row {
  id: number;
  provider: string;
  model: string;
  discount: number;
  state: JobState;
  input_file_id: string | null;
  job_id: string | null;
  remote_status: string | null;
  requests: number;
  created_at: string;
  note: string | null;
}

const MIGRATIONS: ReadonlyArray<(db: DB) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE IF NOT EXISTS batch_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        discount REAL NOT NULL,
        state TEXT NOT NULL,
        input_file_id TEXT,
        job_id TEXT UNIQUE,
        remote_status TEXT,
        requests INTEGER NOT NULL,
        results INTEGER,
        fallback INTEGER,
        malformed INTEGER,
        created_at TEXT NOT NULL,
        submitted_at TEXT,
        finished_at TEXT,
        note TEXT
      );
      CREATE TABLE IF NOT EXISTS batch_job_items (
        job INTEGER NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        account TEXT NOT NULL,
        request TEXT NOT NULL,
        PRIMARY KEY (job, key)
      );
      CREATE INDEX IF NOT EXISTS batch_job_items_by_key ON batch_job_items(key);
    `),
];

const ACTIVE = `state IN ('submitting', 'submitted')`;

function toJob(r: Row): JobRow {
  const j: JobRow = { id: r.id, provider: r.provider, model: r.model, discount: r.discount, state: r.state, requests: r.requests, createdAt: r.created_at };
  if (r.input_file_id) j.inputFileId = r.input_file_id;
  if (r.job_id) j.jobId = r.job_id;
  if (r.remote_status) j.remoteStatus = r.remote_status;
  if (r.note) j.note = r.note;
  return j;
}

export class BatchJobStore {
  private readonly activeForStmt: Database.Statement<[string], Row>;

  constructor(readonly db: DB) {
    migrate(db, 'batch', MIGRATIONS);
    this.activeForStmt = db.prepare(
      `SELECT j.* FROM batch_job_items i JOIN batch_jobs j ON j.id = i.job WHERE i.key = ? AND j.${ACTIVE} ORDER BY j.id DESC LIMIT 1`,
    ) as Database.Statement<[string], Row>;
  }

  private write<T>(fn: () => T): T {
    return withBusyRetry(() => this.db.transaction(fn).immediate());
  }

  /** Record a job about to be uploaded, with its requests (state `submitting`). Returns its row id. */
  async begin(job: { provider: string; model: string; discount: number; items: readonly JobItem[] }): Promise<number> {
    return this.write(() => {
      const id = Number(
        this.db
          .prepare(`INSERT INTO batch_jobs (provider, model, discount, state, requests, created_at) VALUES (?, ?, ?, 'submitting', ?, ?)`)
          .run(job.provider, job.model, job.discount, job.items.length, new Date().toISOString()).lastInsertRowid,
      );
      const add = this.db.prepare('INSERT INTO batch_job_items (job, key, account, request) VALUES (?, ?, ?, ?)');
      for (const it of job.items) add.run(id, it.key, it.account, it.request);
      return id;
    });
  }

  async fileUploaded(id: number, inputFileId: string): Promise<void> {
    this.write(() => this.db.prepare('UPDATE batch_jobs SET input_file_id = ? WHERE id = ?').run(inputFileId, id));
  }

  async submitted(id: number, jobId: string, remoteStatus: string): Promise<void> {
    this.write(() =>
      this.db.prepare(`UPDATE batch_jobs SET state = 'submitted', job_id = ?, remote_status = ?, submitted_at = ? WHERE id = ?`).run(jobId, remoteStatus, new Date().toISOString(), id),
    );
  }

  async remoteStatus(id: number, status: string): Promise<void> {
    this.write(() => this.db.prepare('UPDATE batch_jobs SET remote_status = ? WHERE id = ?').run(status, id));
  }

  /** The job was never created (or is lost): nothing will come of it. */
  async abandon(id: number, note: string): Promise<void> {
    this.write(() =>
      this.db.prepare(`UPDATE batch_jobs SET state = 'abandoned', note = ?, finished_at = ? WHERE id = ? AND ${ACTIVE}`).run(note.slice(0, 500), new Date().toISOString(), id),
    );
  }

  /**
   * Mark a job done and run `store` (the cache writes of its results) in the same transaction, so results and
   * state land together. Returns false, without running `store`, when another process finished it first.
   */
  async complete(id: number, s: JobSummary, store: () => void): Promise<boolean> {
    return this.write(() => {
      const r = this.db.prepare(`SELECT state FROM batch_jobs WHERE id = ?`).get(id) as { state: JobState } | undefined;
      if (!r || r.state === 'done') return false;
      store();
      this.db
        .prepare(`UPDATE batch_jobs SET state = 'done', remote_status = ?, results = ?, fallback = ?, malformed = ?, finished_at = ? WHERE id = ?`)
        .run(s.remoteStatus, s.results, s.fallback, s.malformed, new Date().toISOString(), id);
      return true;
    });
  }

  /** The newest unfinished job holding this request, if any. */
  async activeFor(key: string): Promise<JobRow | undefined> {
    const r = this.activeForStmt.get(key);
    return r ? toJob(r) : undefined;
  }

  async get(id: number): Promise<JobRow | undefined> {
    const r = this.db.prepare('SELECT * FROM batch_jobs WHERE id = ?').get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  async items(id: number): Promise<JobItem[]> {
    return this.db.prepare('SELECT key, account, request FROM batch_job_items WHERE job = ? ORDER BY rowid').all(id) as JobItem[];
  }

  /** Every job, newest first (for `cache stats` and tests). */
  async list(): Promise<JobRow[]> {
    return (this.db.prepare('SELECT * FROM batch_jobs ORDER BY id DESC').all() as Row[]).map(toJob);
  }
}
