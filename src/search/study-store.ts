import { hostname } from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import type { MixtureFile } from '../config/mixture.js';
import type { StudyConfig, StudyRecord, TrialKind, TrialRecord, TrialState } from './types.js';

/** A study name that cannot be used (exists already, or does not exist when it must). */
export class StudyError extends Error {
  override readonly name = 'StudyError';
  constructor(
    readonly study: string,
    readonly reason: string,
  ) {
    super(`study "${study}": ${reason}`);
  }
}

export interface NewTrial {
  kind: TrialKind;
  strategy: string;
  mixture: MixtureFile;
  mixtureKey: string;
  label: string;
  posteriorMean?: number;
}

/** What an evaluation adds to a trial when it completes. */
export type TrialResult = Partial<
  Pick<
    TrialRecord,
    'score' | 'ci' | 'bySource' | 'lc' | 'posteriorMean' | 'costPerQuery' | 'tflopsPerQuery' | 'latencyProxyPerQuery' | 'spent' | 'spentCumulative' | 'calls' | 'perPrompt' | 'tokenStats' | 'projectedUsd'
  >
>;

export type StudyPatch = Partial<Pick<StudyRecord, 'state' | 'stopped' | 'spent' | 'config' | 'best'>>;

// Tables prefixed `search_` so they cannot clash with the executor's cache tables in the same file.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS search_studies (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  config TEXT NOT NULL,
  state TEXT NOT NULL,
  stopped TEXT,
  spent REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS search_trials (
  study_name TEXT NOT NULL REFERENCES search_studies(name) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  kind TEXT NOT NULL,
  strategy TEXT NOT NULL,
  mixture TEXT NOT NULL,
  mixture_key TEXT NOT NULL,
  label TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT,
  error TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  PRIMARY KEY (study_name, number),
  UNIQUE (study_name, mixture_key)
);
`;

interface StudyRow {
  name: string;
  created_at: string;
  updated_at: string;
  config: string;
  state: string;
  stopped: string | null;
  spent: number;
  best?: string | null;
}

interface TrialRow {
  study_name: string;
  number: number;
  kind: string;
  strategy: string;
  mixture: string;
  mixture_key: string;
  label: string;
  state: string;
  result: string | null;
  error: string | null;
  started_at: string;
  finished_at: string | null;
}

const now = () => new Date().toISOString();

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

function toStudy(r: StudyRow): StudyRecord {
  const s: StudyRecord = {
    name: r.name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    config: JSON.parse(r.config) as StudyConfig,
    state: r.state as StudyRecord['state'],
    spent: r.spent,
  };
  if (r.stopped) s.stopped = r.stopped as NonNullable<StudyRecord['stopped']>;
  if (r.best) s.best = JSON.parse(r.best) as NonNullable<StudyRecord['best']>;
  return s;
}

function toTrial(r: TrialRow): TrialRecord {
  const t: TrialRecord = {
    studyName: r.study_name,
    number: r.number,
    kind: r.kind as TrialKind,
    strategy: r.strategy,
    mixture: JSON.parse(r.mixture) as MixtureFile,
    mixtureKey: r.mixture_key,
    label: r.label,
    state: r.state as TrialState,
    startedAt: r.started_at,
  };
  if (r.result) Object.assign(t, JSON.parse(r.result) as TrialResult);
  if (r.error) t.error = r.error;
  if (r.finished_at) t.finishedAt = r.finished_at;
  return t;
}

/**
 * Studies and their trials, in the cache's SQLite file. Everything a strategy needs is here, so a study can be
 * resumed by any process (Optuna's model): nothing about the search lives only in memory.
 */
export class StudyStore {
  constructor(private readonly db: BetterSqlite3.Database) {
    // A read-only connection (reports) finds the tables there already, and may not create them.
    if (!db.readonly) {
      db.exec(SCHEMA);
      const cols = (db.prepare('PRAGMA table_info(search_studies)').all() as Array<{ name: string }>).map((c) => c.name);
      if (!cols.includes('owner')) db.exec('ALTER TABLE search_studies ADD COLUMN owner TEXT');
      if (!cols.includes('best')) db.exec('ALTER TABLE search_studies ADD COLUMN best TEXT');
    }
  }

  /**
   * Mark the study as run by this process, refusing when another live process on this machine runs it: two
   * processes appending trials to one study would each plan without the other's results. A killed owner's
   * claim is stale (its pid is gone) and is taken over.
   */
  claim(name: string): void {
    const me = `${hostname()}:${process.pid}`;
    const run = this.db.transaction(() => {
      const row = this.db.prepare('SELECT owner FROM search_studies WHERE name = ?').get(name) as { owner: string | null } | undefined;
      if (!row) throw new StudyError(name, 'not found');
      if (row.owner && row.owner !== me) {
        const [host, pid] = [row.owner.slice(0, row.owner.lastIndexOf(':')), Number(row.owner.slice(row.owner.lastIndexOf(':') + 1))];
        if (host === hostname() && processAlive(pid)) throw new StudyError(name, `is being run by process ${pid}; wait for it or stop it first`);
      }
      this.db.prepare('UPDATE search_studies SET owner = ? WHERE name = ?').run(me, name);
    });
    run.immediate();
  }

  release(name: string): void {
    this.db.prepare('UPDATE search_studies SET owner = NULL WHERE name = ? AND owner = ?').run(name, `${hostname()}:${process.pid}`);
  }

  createStudy(name: string, config: StudyConfig): StudyRecord {
    if (this.getStudy(name)) throw new StudyError(name, 'exists already (use --resume to continue it, or another --study name)');
    const t = now();
    this.db
      .prepare('INSERT INTO search_studies (name, created_at, updated_at, config, state, spent) VALUES (?, ?, ?, ?, ?, 0)')
      .run(name, t, t, JSON.stringify(config), 'RUNNING');
    return this.getStudy(name)!;
  }

  getStudy(name: string): StudyRecord | undefined {
    const r = this.db.prepare('SELECT * FROM search_studies WHERE name = ?').get(name) as StudyRow | undefined;
    return r ? toStudy(r) : undefined;
  }

  listStudies(): StudyRecord[] {
    return (this.db.prepare('SELECT * FROM search_studies ORDER BY created_at, name').all() as StudyRow[]).map(toStudy);
  }

  updateStudy(name: string, patch: StudyPatch): StudyRecord {
    const cur = this.getStudy(name);
    if (!cur) throw new StudyError(name, 'not found');
    const next = { ...cur, ...patch };
    // `stopped: undefined` in a patch clears it (a resumed study is running again).
    const stopped = 'stopped' in patch ? (patch.stopped ?? null) : (cur.stopped ?? null);
    this.db
      .prepare('UPDATE search_studies SET updated_at = ?, config = ?, state = ?, stopped = ?, spent = ?, best = ? WHERE name = ?')
      .run(now(), JSON.stringify(next.config), next.state, stopped, next.spent, next.best ? JSON.stringify(next.best) : null, name);
    return this.getStudy(name)!;
  }

  /**
   * Record that a trial is starting. A mixture already tried in this study and not COMPLETE (left RUNNING by a
   * killed process, or FAILed) is restarted under its old number, so a resumed study re-runs it from the cache.
   */
  startTrial(studyName: string, t: NewTrial): TrialRecord {
    const run = this.db.transaction((): TrialRecord => {
      if (!this.getStudy(studyName)) throw new StudyError(studyName, 'not found');
      const old = this.db.prepare('SELECT * FROM search_trials WHERE study_name = ? AND mixture_key = ?').get(studyName, t.mixtureKey) as TrialRow | undefined;
      const result = t.posteriorMean !== undefined ? JSON.stringify({ posteriorMean: t.posteriorMean }) : null;
      if (old) {
        if (old.state === 'COMPLETE') throw new StudyError(studyName, `trial ${old.number} (${old.label}) is complete already`);
        this.db
          .prepare("UPDATE search_trials SET state = 'RUNNING', kind = ?, strategy = ?, result = ?, error = NULL, started_at = ?, finished_at = NULL WHERE study_name = ? AND number = ?")
          .run(t.kind, t.strategy, result, now(), studyName, old.number);
        return this.getTrial(studyName, old.number)!;
      }
      const { n } = this.db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS n FROM search_trials WHERE study_name = ?').get(studyName) as { n: number };
      this.db
        .prepare(
          "INSERT INTO search_trials (study_name, number, kind, strategy, mixture, mixture_key, label, state, result, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?)",
        )
        .run(studyName, n, t.kind, t.strategy, JSON.stringify(t.mixture), t.mixtureKey, t.label, result, now());
      return this.getTrial(studyName, n)!;
    });
    return run();
  }

  completeTrial(studyName: string, number: number, result: TrialResult): TrialRecord {
    return this.finish(studyName, number, 'COMPLETE', result);
  }

  failTrial(studyName: string, number: number, error: string, result: TrialResult = {}): TrialRecord {
    return this.finish(studyName, number, 'FAIL', result, error);
  }

  getTrial(studyName: string, number: number): TrialRecord | undefined {
    const r = this.db.prepare('SELECT * FROM search_trials WHERE study_name = ? AND number = ?').get(studyName, number) as TrialRow | undefined;
    return r ? toTrial(r) : undefined;
  }

  listTrials(studyName: string): TrialRecord[] {
    return (this.db.prepare('SELECT * FROM search_trials WHERE study_name = ? ORDER BY number').all(studyName) as TrialRow[]).map(toTrial);
  }

  private finish(studyName: string, number: number, state: TrialState, result: TrialResult, error?: string): TrialRecord {
    const cur = this.getTrial(studyName, number);
    if (!cur) throw new StudyError(studyName, `no trial ${number}`);
    const prev = this.db.prepare('SELECT result FROM search_trials WHERE study_name = ? AND number = ?').get(studyName, number) as { result: string | null };
    const merged = { ...(prev.result ? (JSON.parse(prev.result) as TrialResult) : {}), ...result };
    this.db
      .prepare('UPDATE search_trials SET state = ?, result = ?, error = ?, finished_at = ? WHERE study_name = ? AND number = ?')
      .run(state, JSON.stringify(merged), error ?? null, now(), studyName, number);
    return this.getTrial(studyName, number)!;
  }
}
