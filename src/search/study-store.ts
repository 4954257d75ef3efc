import { hostname } from 'node:os';
import type BetterSqlite3 from 'better-sqlite3';
import type { MixtureFile } from '../config/mixture.js';
import { aggregateMeasurements } from './observations.js';
import type { Estimate, Measured, MeasurementPurpose, ObservationRecord, StudyConfig, StudyRecord, TrialKind, TrialRecord, TrialState } from './types.js';

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

export interface NewObservation {
  purpose: MeasurementPurpose;
  strategy: string;
  fidelity: number;
  sampleOffset: number;
  promptIds: string[];
  projectedUsd?: number;
  note?: string;
}

/** What an evaluation adds to an observation when it completes (or fails, with what it spent). */
export type ObservationResult = Measured & { projectedUsd?: number };

export type StudyPatch = Partial<Pick<StudyRecord, 'state' | 'stopped' | 'spent' | 'config' | 'best'>>;

// Tables prefixed `search_` so they cannot clash with the executor's cache tables in the same file. Plain portable SQL
// (JSON as TEXT, ON CONFLICT upserts): the storage layer may move these tables to PostgreSQL.
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
CREATE TABLE IF NOT EXISTS search_observations (
  study_name TEXT NOT NULL REFERENCES search_studies(name) ON DELETE CASCADE,
  number INTEGER NOT NULL,
  trial INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  strategy TEXT NOT NULL,
  fidelity INTEGER NOT NULL,
  sample_offset INTEGER NOT NULL,
  prompt_ids TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT,
  note TEXT,
  error TEXT,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  PRIMARY KEY (study_name, number),
  UNIQUE (study_name, trial, sample_offset, fidelity)
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

interface ObservationRow {
  study_name: string;
  number: number;
  trial: number;
  purpose: string;
  strategy: string;
  fidelity: number;
  sample_offset: number;
  prompt_ids: string;
  state: string;
  result: string | null;
  note: string | null;
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
  if (r.result) Object.assign(t, JSON.parse(r.result) as Partial<TrialRecord>);
  if (r.error) t.error = r.error;
  if (r.finished_at) t.finishedAt = r.finished_at;
  return t;
}

function toObservation(r: ObservationRow): ObservationRecord {
  const o: ObservationRecord = {
    studyName: r.study_name,
    number: r.number,
    trial: r.trial,
    purpose: r.purpose as MeasurementPurpose,
    strategy: r.strategy,
    fidelity: r.fidelity,
    sampleOffset: r.sample_offset,
    promptIds: JSON.parse(r.prompt_ids) as string[],
    state: r.state as TrialState,
    startedAt: r.started_at,
  };
  if (r.result) Object.assign(o, JSON.parse(r.result) as ObservationResult);
  if (r.note) o.note = r.note;
  if (r.error) o.error = r.error;
  if (r.finished_at) o.finishedAt = r.finished_at;
  return o;
}

/**
 * Studies, their trials (one per mixture) and the trials' observations (measurements), in the cache's database.
 * Everything a strategy needs is here, so a study can be resumed by any process (Optuna's model): nothing about the
 * search lives only in memory. A trial's measured fields are the aggregate of its complete observations, rewritten
 * whenever one of them finishes. The methods are async so the storage can move to an async SQL back end.
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
  async claim(name: string): Promise<void> {
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

  async release(name: string): Promise<void> {
    this.db.prepare('UPDATE search_studies SET owner = NULL WHERE name = ? AND owner = ?').run(name, `${hostname()}:${process.pid}`);
  }

  async createStudy(name: string, config: StudyConfig): Promise<StudyRecord> {
    if (this.study(name)) throw new StudyError(name, 'exists already (use --resume to continue it, or another --study name)');
    const t = now();
    this.db
      .prepare('INSERT INTO search_studies (name, created_at, updated_at, config, state, spent) VALUES (?, ?, ?, ?, ?, 0)')
      .run(name, t, t, JSON.stringify(config), 'RUNNING');
    return this.study(name)!;
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    return this.study(name);
  }

  async listStudies(): Promise<StudyRecord[]> {
    return (this.db.prepare('SELECT * FROM search_studies ORDER BY created_at, name').all() as StudyRow[]).map(toStudy);
  }

  async updateStudy(name: string, patch: StudyPatch): Promise<StudyRecord> {
    const cur = this.study(name);
    if (!cur) throw new StudyError(name, 'not found');
    const next = { ...cur, ...patch };
    // `stopped: undefined` in a patch clears it (a resumed study is running again).
    const stopped = 'stopped' in patch ? (patch.stopped ?? null) : (cur.stopped ?? null);
    this.db
      .prepare('UPDATE search_studies SET updated_at = ?, config = ?, state = ?, stopped = ?, spent = ?, best = ? WHERE name = ?')
      .run(now(), JSON.stringify(next.config), next.state, stopped, next.spent, next.best ? JSON.stringify(next.best) : null, name);
    return this.study(name)!;
  }

  /** Book USD on the study as soon as it is paid (a kill -9 then loses almost nothing of the account). */
  async addSpend(name: string, usd: number): Promise<void> {
    this.db.prepare('UPDATE search_studies SET spent = spent + ?, updated_at = ? WHERE name = ?').run(usd, now(), name);
  }

  /** The trial of this mixture, created on its first measurement (numbers follow first measurement order). */
  async ensureTrial(studyName: string, t: NewTrial): Promise<TrialRecord> {
    const run = this.db.transaction((): TrialRecord => {
      if (!this.study(studyName)) throw new StudyError(studyName, 'not found');
      const old = this.db.prepare('SELECT * FROM search_trials WHERE study_name = ? AND mixture_key = ?').get(studyName, t.mixtureKey) as TrialRow | undefined;
      if (old) return toTrial(old);
      const { n } = this.db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS n FROM search_trials WHERE study_name = ?').get(studyName) as { n: number };
      const result = t.posteriorMean !== undefined ? JSON.stringify({ posteriorMean: t.posteriorMean }) : null;
      this.db
        .prepare(
          "INSERT INTO search_trials (study_name, number, kind, strategy, mixture, mixture_key, label, state, result, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?)",
        )
        .run(studyName, n, t.kind, t.strategy, JSON.stringify(t.mixture), t.mixtureKey, t.label, result, now());
      return this.trial(studyName, n)!;
    });
    return run.immediate();
  }

  /**
   * Record that a measurement is starting. The same measurement (trial, sample offset, fidelity) left RUNNING by a
   * killed process, or FAILed, restarts under its old number, so a resumed study re-runs it from the cache.
   */
  async startObservation(studyName: string, trial: number, o: NewObservation): Promise<ObservationRecord> {
    const run = this.db.transaction((): ObservationRecord => {
      if (!this.trial(studyName, trial)) throw new StudyError(studyName, `no trial ${trial}`);
      const old = this.db
        .prepare('SELECT * FROM search_observations WHERE study_name = ? AND trial = ? AND sample_offset = ? AND fidelity = ?')
        .get(studyName, trial, o.sampleOffset, o.fidelity) as ObservationRow | undefined;
      const result = o.projectedUsd !== undefined ? JSON.stringify({ projectedUsd: o.projectedUsd }) : null;
      let number: number;
      if (old) {
        if (old.state === 'COMPLETE') throw new StudyError(studyName, `observation ${old.number} (trial ${trial}, ${o.fidelity} prompts, offset ${o.sampleOffset}) is complete already`);
        this.db
          .prepare("UPDATE search_observations SET state = 'RUNNING', purpose = ?, strategy = ?, prompt_ids = ?, result = ?, note = ?, error = NULL, started_at = ?, finished_at = NULL WHERE study_name = ? AND number = ?")
          .run(o.purpose, o.strategy, JSON.stringify(o.promptIds), result, o.note ?? null, now(), studyName, old.number);
        number = old.number;
      } else {
        number = (this.db.prepare('SELECT COALESCE(MAX(number) + 1, 0) AS n FROM search_observations WHERE study_name = ?').get(studyName) as { n: number }).n;
        this.db
          .prepare(
            "INSERT INTO search_observations (study_name, number, trial, purpose, strategy, fidelity, sample_offset, prompt_ids, state, result, note, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?)",
          )
          .run(studyName, number, trial, o.purpose, o.strategy, o.fidelity, o.sampleOffset, JSON.stringify(o.promptIds), result, o.note ?? null, now());
      }
      this.refreshTrial(studyName, trial);
      return this.observation(studyName, number)!;
    });
    return run.immediate();
  }

  async completeObservation(studyName: string, number: number, result: ObservationResult): Promise<ObservationRecord> {
    return this.finish(studyName, number, 'COMPLETE', result);
  }

  async failObservation(studyName: string, number: number, error: string, result: ObservationResult = {}): Promise<ObservationRecord> {
    return this.finish(studyName, number, 'FAIL', result, error);
  }

  async getTrial(studyName: string, number: number): Promise<TrialRecord | undefined> {
    return this.trial(studyName, number);
  }

  async listTrials(studyName: string): Promise<TrialRecord[]> {
    return (this.db.prepare('SELECT * FROM search_trials WHERE study_name = ? ORDER BY number').all(studyName) as TrialRow[]).map(toTrial);
  }

  async listObservations(studyName: string): Promise<ObservationRecord[]> {
    return (this.db.prepare('SELECT * FROM search_observations WHERE study_name = ? ORDER BY number').all(studyName) as ObservationRow[]).map(toObservation);
  }

  /** Store the model's estimates on the trials (the answer phase), clearing estimates of trials not given. */
  async setEstimates(studyName: string, estimates: ReadonlyMap<number, Estimate>): Promise<void> {
    const run = this.db.transaction(() => {
      for (const r of this.db.prepare('SELECT number, result FROM search_trials WHERE study_name = ?').all(studyName) as Array<{ number: number; result: string | null }>) {
        const cur = r.result ? (JSON.parse(r.result) as Partial<TrialRecord>) : {};
        const e = estimates.get(r.number);
        if (e) cur.estimate = e;
        else delete cur.estimate;
        this.db.prepare('UPDATE search_trials SET result = ? WHERE study_name = ? AND number = ?').run(JSON.stringify(cur), studyName, r.number);
      }
    });
    run.immediate();
  }

  private study(name: string): StudyRecord | undefined {
    const r = this.db.prepare('SELECT * FROM search_studies WHERE name = ?').get(name) as StudyRow | undefined;
    return r ? toStudy(r) : undefined;
  }

  private trial(studyName: string, number: number): TrialRecord | undefined {
    const r = this.db.prepare('SELECT * FROM search_trials WHERE study_name = ? AND number = ?').get(studyName, number) as TrialRow | undefined;
    return r ? toTrial(r) : undefined;
  }

  private observation(studyName: string, number: number): ObservationRecord | undefined {
    const r = this.db.prepare('SELECT * FROM search_observations WHERE study_name = ? AND number = ?').get(studyName, number) as ObservationRow | undefined;
    return r ? toObservation(r) : undefined;
  }

  private finish(studyName: string, number: number, state: TrialState, result: ObservationResult, error?: string): ObservationRecord {
    const run = this.db.transaction((): ObservationRecord => {
      const cur = this.db.prepare('SELECT * FROM search_observations WHERE study_name = ? AND number = ?').get(studyName, number) as ObservationRow | undefined;
      if (!cur) throw new StudyError(studyName, `no observation ${number}`);
      const merged = { ...(cur.result ? (JSON.parse(cur.result) as ObservationResult) : {}), ...result };
      this.db
        .prepare('UPDATE search_observations SET state = ?, result = ?, error = ?, finished_at = ? WHERE study_name = ? AND number = ?')
        .run(state, JSON.stringify(merged), error ?? null, now(), studyName, number);
      this.refreshTrial(studyName, cur.trial);
      return this.observation(studyName, number)!;
    });
    return run.immediate();
  }

  /** Rewrite a trial's aggregate fields and state from its observations. */
  private refreshTrial(studyName: string, number: number): void {
    const row = this.db.prepare('SELECT result FROM search_trials WHERE study_name = ? AND number = ?').get(studyName, number) as { result: string | null };
    const obs = (this.db.prepare('SELECT * FROM search_observations WHERE study_name = ? AND trial = ? ORDER BY number').all(studyName, number) as ObservationRow[]).map(toObservation);
    const prev = row.result ? (JSON.parse(row.result) as Partial<TrialRecord>) : {};
    const keep: Partial<TrialRecord> = {};
    if (prev.posteriorMean !== undefined) keep.posteriorMean = prev.posteriorMean;
    if (prev.estimate) keep.estimate = prev.estimate;
    const projected = obs.reduce((a, o) => a + (o.projectedUsd ?? 0), 0);
    const agg = { ...keep, ...aggregateMeasurements(obs), ...(projected > 0 ? { projectedUsd: projected } : {}) };
    const latest = obs.at(-1);
    const state: TrialState = agg.measurements > 0 ? 'COMPLETE' : (latest?.state ?? 'RUNNING');
    const finished = obs.filter((o) => o.finishedAt).map((o) => o.finishedAt!).sort().at(-1) ?? null;
    const error = state === 'COMPLETE' ? null : (latest?.error ?? null);
    this.db
      .prepare('UPDATE search_trials SET state = ?, result = ?, error = ?, finished_at = ? WHERE study_name = ? AND number = ?')
      .run(state, JSON.stringify(agg), error, finished, studyName, number);
  }
}
