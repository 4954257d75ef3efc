import type { MixtureFile } from '../config/mixture.js';
import { describeOwner, EXECUTOR_SCHEMA, Leases, type Lease, type SqlRunner, type Storage } from '../executor/index.js';
import { aggregateMeasurements } from './observations.js';
import { STUDY_SCHEMA } from './_study-schema.js';
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

export type StudyPatch = Partial<Pick<StudyRecord, 'state' | 'stopped' | 'config' | 'best'>>;

/** The shared ledger's budget scope of a study: every process searching it books and reserves there. */
export const studyScope = (name: string) => `study:${name}`;
/** The lease a process holds while it runs the study. */
const studyLease = (name: string) => `study:${name}`;
/** How long a claim outlives its last heartbeat (a killed owner on another machine blocks a resume this long). */
export const STUDY_LEASE_MS = 30_000;

interface StudyRow {
  name: string;
  created_at: string;
  updated_at: string;
  config: string;
  state: string;
  stopped: string | null;
  spent: number;
  best?: string | null;
  /** The study's ledger scope's settled spend (absent for studies that never booked there). */
  ledger_spent?: number | null;
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

function toStudy(r: StudyRow): StudyRecord {
  const s: StudyRecord = {
    name: r.name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    config: JSON.parse(r.config) as StudyConfig,
    state: r.state as StudyRecord['state'],
    spent: r.ledger_spent ?? r.spent,
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

const STUDY_SELECT = `SELECT s.*, l.spent_usd AS ledger_spent FROM search_studies s LEFT JOIN ledger_scopes l ON l.scope = 'study:' || s.name`;
const TRIAL_INSERT = `INSERT INTO search_trials (study_name, number, kind, strategy, mixture, mixture_key, label, state, result, started_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?)`;
const OBSERVATION_INSERT = `INSERT INTO search_observations
  (study_name, number, trial, purpose, strategy, fidelity, sample_offset, prompt_ids, state, result, note, started_at, finished_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** SQLite files written before the `study` component existed hold the tables already (and are migrated in place). */
async function hasUnversionedTables(storage: Storage): Promise<boolean> {
  if (storage.dialect !== 'sqlite') return false;
  return !!(await storage.get("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = 'search_studies'"));
}

/** The measured fields of a trial written before observations existed: they become its one observation. */
const MEASURED_FIELDS = ['score', 'ci', 'bySource', 'lc', 'costPerQuery', 'tflopsPerQuery', 'latencyProxyPerQuery', 'spent', 'spentCumulative', 'calls', 'perPrompt', 'tokenStats', 'projectedUsd'] as const;

/**
 * Studies, their trials (one per mixture) and the trials' observations (measurements), on the storage layer (SQLite
 * or PostgreSQL, beside the cache and the ledger). Everything a strategy needs is here, so a study can be resumed by
 * any process (Optuna's model): nothing about the search lives only in memory. A trial's measured fields are the
 * aggregate of its complete observations, rewritten whenever one of them finishes. A study's spend is its ledger
 * scope's (`studyScope`); a process runs it under a lease (`claim`).
 */
export class StudyStore {
  private constructor(private readonly storage: Storage) {}

  /** The store over `storage` (executor tables migrated), with the study tables created or brought up to date. */
  static async open(storage: Storage): Promise<StudyStore> {
    const before = (await storage.schemaVersions()).get(STUDY_SCHEMA.component) ?? 0;
    const unversioned = before === 0 && (await hasUnversionedTables(storage));
    if (unversioned) await addMissingColumns(storage);
    await storage.migrate(STUDY_SCHEMA);
    const store = new StudyStore(storage);
    if (unversioned) await store.backfillObservations();
    return store;
  }

  /**
   * For readers (report, pareto): the store, or undefined when the database holds no studies — then nothing is
   * created. A database with studies is brought up to date like `open` does.
   */
  static async existing(storage: Storage): Promise<StudyStore | undefined> {
    const versions = await storage.schemaVersions();
    if (!(versions.get(STUDY_SCHEMA.component) ?? 0) && !(await hasUnversionedTables(storage))) return undefined;
    await storage.migrate(...EXECUTOR_SCHEMA);
    return StudyStore.open(storage);
  }

  /**
   * Run the study as this process: a lease renewed by the caller's heartbeat (`lease.keepAlive`). Refused while
   * another process holds it — live, or not provably dead and its lease not yet expired; a holder of this machine
   * that died (kill -9, a zombie) is taken over at once.
   */
  async claim(name: string, ttlMs = STUDY_LEASE_MS): Promise<Lease> {
    const leases = new Leases(this.storage);
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = await leases.acquire(studyLease(name), ttlMs);
      if (lease) return lease;
      const h = await leases.holder(studyLease(name));
      // Released between the two looks: try again.
      if (h) throw new StudyError(name, `is being run by ${describeOwner(h.owner)} (its claim lapses ${Math.max(0, Math.ceil(h.remainingMs / 1000))} s after its last heartbeat); wait for it or stop it first`);
    }
    throw new StudyError(name, 'could not be claimed: other processes keep taking it');
  }

  /** Who runs the study now: a holder of its claim that is not provably dead and whose lease has not lapsed. */
  async runner(name: string): Promise<string | undefined> {
    const h = await new Leases(this.storage).holder(studyLease(name));
    return h && h.remainingMs > 0 && !h.dead ? describeOwner(h.owner) : undefined;
  }

  async createStudy(name: string, config: StudyConfig): Promise<StudyRecord> {
    const t = now();
    const r = await this.storage.run(
      'INSERT INTO search_studies (name, created_at, updated_at, config, state, spent) VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (name) DO NOTHING',
      [name, t, t, JSON.stringify(config), 'RUNNING'],
    );
    if (r.changes === 0) throw new StudyError(name, 'exists already (use --resume to continue it, or another --study name)');
    return (await this.study(this.storage, name))!;
  }

  async getStudy(name: string): Promise<StudyRecord | undefined> {
    return this.study(this.storage, name);
  }

  async listStudies(): Promise<StudyRecord[]> {
    return (await this.storage.all<StudyRow>(`${STUDY_SELECT} ORDER BY s.created_at, s.name`)).map(toStudy);
  }

  async updateStudy(name: string, patch: StudyPatch): Promise<StudyRecord> {
    return this.storage.transaction(async (tx) => {
      if (!(await lockStudy(tx, name))) throw new StudyError(name, 'not found');
      const cur = (await this.study(tx, name))!;
      const next = { ...cur, ...patch };
      // `stopped: undefined` in a patch clears it (a resumed study is running again).
      const stopped = 'stopped' in patch ? (patch.stopped ?? null) : (cur.stopped ?? null);
      await tx.run('UPDATE search_studies SET updated_at = ?, config = ?, state = ?, stopped = ?, best = ? WHERE name = ?', [
        now(),
        JSON.stringify(next.config),
        next.state,
        stopped,
        next.best ? JSON.stringify(next.best) : null,
        name,
      ]);
      return (await this.study(tx, name))!;
    });
  }

  /** The trial of this mixture, created on its first measurement (numbers follow first measurement order). */
  async ensureTrial(studyName: string, t: NewTrial): Promise<TrialRecord> {
    return this.storage.transaction(async (tx) => {
      if (!(await lockStudy(tx, studyName))) throw new StudyError(studyName, 'not found');
      const old = await tx.get<TrialRow>('SELECT * FROM search_trials WHERE study_name = ? AND mixture_key = ?', [studyName, t.mixtureKey]);
      if (old) return toTrial(old);
      const n = await nextNumber(tx, 'search_trials', studyName);
      const result = t.posteriorMean !== undefined ? JSON.stringify({ posteriorMean: t.posteriorMean }) : null;
      await tx.run(TRIAL_INSERT, [studyName, n, t.kind, t.strategy, JSON.stringify(t.mixture), t.mixtureKey, t.label, result, now()]);
      return (await this.trial(tx, studyName, n))!;
    });
  }

  /**
   * Record that a measurement is starting. The same measurement (trial, sample offset, fidelity) left RUNNING by a
   * killed process, or FAILed, restarts under its old number, so a resumed study re-runs it from the cache.
   */
  async startObservation(studyName: string, trial: number, o: NewObservation): Promise<ObservationRecord> {
    return this.storage.transaction(async (tx) => {
      if (!(await lockStudy(tx, studyName))) throw new StudyError(studyName, 'not found');
      if (!(await this.trial(tx, studyName, trial))) throw new StudyError(studyName, `no trial ${trial}`);
      const old = await tx.get<ObservationRow>('SELECT * FROM search_observations WHERE study_name = ? AND trial = ? AND sample_offset = ? AND fidelity = ?', [
        studyName,
        trial,
        o.sampleOffset,
        o.fidelity,
      ]);
      const result = o.projectedUsd !== undefined ? JSON.stringify({ projectedUsd: o.projectedUsd }) : null;
      let number: number;
      if (old) {
        if (old.state === 'COMPLETE') throw new StudyError(studyName, `observation ${old.number} (trial ${trial}, ${o.fidelity} prompts, offset ${o.sampleOffset}) is complete already`);
        await tx.run(
          "UPDATE search_observations SET state = 'RUNNING', purpose = ?, strategy = ?, prompt_ids = ?, result = ?, note = ?, error = NULL, started_at = ?, finished_at = NULL WHERE study_name = ? AND number = ?",
          [o.purpose, o.strategy, JSON.stringify(o.promptIds), result, o.note ?? null, now(), studyName, old.number],
        );
        number = old.number;
      } else {
        number = await nextNumber(tx, 'search_observations', studyName);
        await tx.run(OBSERVATION_INSERT, [studyName, number, trial, o.purpose, o.strategy, o.fidelity, o.sampleOffset, JSON.stringify(o.promptIds), 'RUNNING', result, o.note ?? null, now(), null]);
      }
      await refreshTrial(tx, studyName, trial);
      return (await this.observation(tx, studyName, number))!;
    });
  }

  async completeObservation(studyName: string, number: number, result: ObservationResult): Promise<ObservationRecord> {
    return this.finish(studyName, number, 'COMPLETE', result);
  }

  async failObservation(studyName: string, number: number, error: string, result: ObservationResult = {}): Promise<ObservationRecord> {
    return this.finish(studyName, number, 'FAIL', result, error);
  }

  async getTrial(studyName: string, number: number): Promise<TrialRecord | undefined> {
    return this.trial(this.storage, studyName, number);
  }

  async listTrials(studyName: string): Promise<TrialRecord[]> {
    return (await this.storage.all<TrialRow>('SELECT * FROM search_trials WHERE study_name = ? ORDER BY number', [studyName])).map(toTrial);
  }

  async listObservations(studyName: string): Promise<ObservationRecord[]> {
    return (await this.storage.all<ObservationRow>('SELECT * FROM search_observations WHERE study_name = ? ORDER BY number', [studyName])).map(toObservation);
  }

  /** Store the model's estimates on the trials (the answer phase), clearing estimates of trials not given. */
  async setEstimates(studyName: string, estimates: ReadonlyMap<number, Estimate>): Promise<void> {
    await this.storage.transaction(async (tx) => {
      if (!(await lockStudy(tx, studyName))) throw new StudyError(studyName, 'not found');
      for (const r of await tx.all<{ number: number; result: string | null }>('SELECT number, result FROM search_trials WHERE study_name = ?', [studyName])) {
        const cur = r.result ? (JSON.parse(r.result) as Partial<TrialRecord>) : {};
        const e = estimates.get(r.number);
        if (e) cur.estimate = e;
        else delete cur.estimate;
        await tx.run('UPDATE search_trials SET result = ? WHERE study_name = ? AND number = ?', [JSON.stringify(cur), studyName, r.number]);
      }
    });
  }

  private async study(on: SqlRunner, name: string): Promise<StudyRecord | undefined> {
    const r = await on.get<StudyRow>(`${STUDY_SELECT} WHERE s.name = ?`, [name]);
    return r ? toStudy(r) : undefined;
  }

  private async trial(on: SqlRunner, studyName: string, number: number): Promise<TrialRecord | undefined> {
    const r = await on.get<TrialRow>('SELECT * FROM search_trials WHERE study_name = ? AND number = ?', [studyName, number]);
    return r ? toTrial(r) : undefined;
  }

  private async observation(on: SqlRunner, studyName: string, number: number): Promise<ObservationRecord | undefined> {
    const r = await on.get<ObservationRow>('SELECT * FROM search_observations WHERE study_name = ? AND number = ?', [studyName, number]);
    return r ? toObservation(r) : undefined;
  }

  private async finish(studyName: string, number: number, state: TrialState, result: ObservationResult, error?: string): Promise<ObservationRecord> {
    return this.storage.transaction(async (tx) => {
      if (!(await lockStudy(tx, studyName))) throw new StudyError(studyName, 'not found');
      const cur = await tx.get<ObservationRow>('SELECT * FROM search_observations WHERE study_name = ? AND number = ?', [studyName, number]);
      if (!cur) throw new StudyError(studyName, `no observation ${number}`);
      const merged = { ...(cur.result ? (JSON.parse(cur.result) as ObservationResult) : {}), ...result };
      await tx.run('UPDATE search_observations SET state = ?, result = ?, error = ?, finished_at = ? WHERE study_name = ? AND number = ?', [
        state,
        JSON.stringify(merged),
        error ?? null,
        now(),
        studyName,
        number,
      ]);
      await refreshTrial(tx, studyName, cur.trial);
      return (await this.observation(tx, studyName, number))!;
    });
  }

  /**
   * Trials of studies written before observations existed become one complete observation each (all the prompts
   * they were judged on, sample offset 0), so old studies report, compare and resume like new ones.
   */
  private async backfillObservations(): Promise<void> {
    await this.storage.transaction(async (tx) => {
      const rows = await tx.all<TrialRow>(
        `SELECT * FROM search_trials t WHERE t.state = 'COMPLETE' AND t.result IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM search_observations o WHERE o.study_name = t.study_name AND o.trial = t.number)
         ORDER BY t.study_name, t.number`,
      );
      for (const r of rows) {
        const old = JSON.parse(r.result!) as Partial<TrialRecord>;
        if (!old.perPrompt?.length) continue;
        const measured: Record<string, unknown> = {};
        for (const k of MEASURED_FIELDS) if (old[k] !== undefined) measured[k] = old[k];
        const promptIds = old.perPrompt.map((p) => p.id);
        const number = await nextNumber(tx, 'search_observations', r.study_name);
        await tx.run(OBSERVATION_INSERT, [
          r.study_name,
          number,
          r.number,
          r.kind === 'reference' ? 'reference' : 'screen',
          r.strategy,
          promptIds.length,
          0,
          JSON.stringify(promptIds),
          'COMPLETE',
          JSON.stringify(measured),
          null,
          r.started_at,
          r.finished_at,
        ]);
        await refreshTrial(tx, r.study_name, r.number);
      }
    });
  }
}

/** Lock the study's row for the rest of the transaction (numbers are allocated under it); false when there is none. */
async function lockStudy(tx: SqlRunner, name: string): Promise<boolean> {
  return (await tx.run('UPDATE search_studies SET updated_at = ? WHERE name = ?', [now(), name])).changes > 0;
}

async function nextNumber(tx: SqlRunner, table: 'search_trials' | 'search_observations', studyName: string): Promise<number> {
  return Number((await tx.get<{ n: number }>(`SELECT COALESCE(MAX(number) + 1, 0) AS n FROM ${table} WHERE study_name = ?`, [studyName]))!.n);
}

/** The one column an unversioned SQLite study table may lack (added before `best` answers existed). */
async function addMissingColumns(storage: Storage): Promise<void> {
  await storage.transaction(async (tx) => {
    const cols = (await tx.all<{ name: string }>('PRAGMA table_info(search_studies)')).map((c) => c.name);
    if (!cols.includes('best')) await tx.run('ALTER TABLE search_studies ADD COLUMN best TEXT');
  });
}

/** Rewrite a trial's aggregate fields and state from its observations. */
async function refreshTrial(tx: SqlRunner, studyName: string, number: number): Promise<void> {
  const row = await tx.get<{ result: string | null }>('SELECT result FROM search_trials WHERE study_name = ? AND number = ?', [studyName, number]);
  const obs = (await tx.all<ObservationRow>('SELECT * FROM search_observations WHERE study_name = ? AND trial = ? ORDER BY number', [studyName, number])).map(toObservation);
  const prev = row?.result ? (JSON.parse(row.result) as Partial<TrialRecord>) : {};
  const keep: Partial<TrialRecord> = {};
  if (prev.posteriorMean !== undefined) keep.posteriorMean = prev.posteriorMean;
  if (prev.estimate) keep.estimate = prev.estimate;
  const projected = obs.reduce((a, o) => a + (o.projectedUsd ?? 0), 0);
  const agg = { ...keep, ...aggregateMeasurements(obs), ...(projected > 0 ? { projectedUsd: projected } : {}) };
  const latest = obs.at(-1);
  const state: TrialState = agg.measurements > 0 ? 'COMPLETE' : (latest?.state ?? 'RUNNING');
  const finished = obs.filter((o) => o.finishedAt).map((o) => o.finishedAt!).sort().at(-1) ?? null;
  const error = state === 'COMPLETE' ? null : (latest?.error ?? null);
  await tx.run('UPDATE search_trials SET state = ?, result = ?, error = ?, finished_at = ? WHERE study_name = ? AND number = ?', [state, JSON.stringify(agg), error, finished, studyName, number]);
}
