import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '../config/input-error.js';
import { Leases, type Lease } from '../executor/index.js';
import { trialMixture } from './budget-plan.js';
import { withFantasies } from './fantasies.js';
import { measure, refresh, sessionCost, startMeasurement, type MeasureRequest, type Session, type Started, type StopReason } from './_session.js';
import { answer, closeSession, nextClosingReference, nextReference, nextSearchMeasurement, openSession, type SearchOptions, type SearchOutcome } from './run-search.js';
import { STUDY_LEASE_MS, StudyStore } from './study-store.js';
import type { ObservationRecord } from './types.js';

export interface WorkerOptions extends Omit<SearchOptions, 'config' | 'resume' | 'references'> {
  /** How often a worker with nothing to start looks again (default 200 ms). */
  pollMs?: number;
}

export interface WorkerOutcome {
  /** Measurements this worker took (re-runs of a dead worker's included). */
  measured: number;
  stopped: StopReason;
  detail: string;
  /** Set when this worker was the last one running and stored the study's answer. */
  outcome?: SearchOutcome;
}

/** The lease a worker holds on a measurement while it runs (its heartbeat keeps it). */
export const observationLease = (study: string, number: number) => `observation:${study}:${number}`;
/** Serializes the choice of the next measurement across workers: each choice sees every running one. */
const decideLease = (study: string) => `study-decide:${study}`;

type Decision = { kind: 'measure'; req: MeasureRequest; started: Started; lease: Lease } | { kind: 'wait' } | { kind: 'done'; reason: StopReason; detail: string };

/**
 * One worker of a study shared by many processes (on one machine or many, one database). Each turn, under a short
 * study-wide lease, it refreshes the study, picks a measurement — one a dead worker left (its lease lapsed), else a
 * reference, else the strategy's choice given every running measurement as a fantasy — records it as RUNNING and
 * leases it; then it measures through the shared cache, ledger scope and in-flight markers with the lease renewed
 * by a heartbeat. The last worker to finish stores the study's answer.
 */
export async function runWorker(opts: WorkerOptions): Promise<WorkerOutcome> {
  if (opts.signal) setMaxListeners(0, opts.signal);
  const store = await StudyStore.open(opts.storage);
  const study = await store.getStudy(opts.studyName);
  if (!study) throw new InputError(`no study named "${opts.studyName}"`, { field: '--study' });
  // A lost measurement lease means this process stalled past it and another worker took the measurement over.
  const lost = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, lost.signal]) : lost.signal;
  setMaxListeners(0, signal);
  const s = await openSession(store, study, { ...opts, config: study.config, signal });
  const w: Worker = { s, leases: new Leases(opts.storage), ttlMs: opts.leaseMs ?? STUDY_LEASE_MS, pollMs: opts.pollMs ?? 200, signal };
  let measured = 0;
  let outcome: SearchOutcome | undefined;
  try {
    for (;;) {
      if (signal.aborted) {
        s.stop = { reason: 'interrupted', detail: lost.signal.aborted ? 'this worker lost its measurement lease (missed heartbeats)' : 'interrupted' };
        break;
      }
      const d = await decide(w);
      if (d.kind === 'done') {
        s.stop = { reason: d.reason, detail: d.detail };
        break;
      }
      if (d.kind === 'wait') {
        await sleep(w.pollMs, undefined, { signal }).catch(() => {});
        continue;
      }
      d.lease.keepAlive({ onLost: () => lost.abort() });
      try {
        measured++;
        if (!(await measure(s, d.req, d.started))) break;
      } finally {
        await d.lease.release();
      }
    }
  } finally {
    await closeSession(s);
  }
  if (s.stop!.reason !== 'interrupted') outcome = await answerIfLast(w);
  return { measured, stopped: s.stop!.reason, detail: s.stop!.detail, ...(outcome ? { outcome } : {}) };
}

interface Worker {
  s: Session;
  leases: Leases;
  ttlMs: number;
  pollMs: number;
  signal: AbortSignal;
}

/** Hold the study's decision lease while `fn` runs (polling for it; a dead holder's is taken over). */
async function underDecideLease<T>(w: Worker, fn: () => Promise<T>): Promise<T> {
  let lease: Lease | undefined;
  while (!(lease = await w.leases.acquire(decideLease(w.s.study.name), w.ttlMs))) {
    w.signal.throwIfAborted();
    await sleep(10 + Math.random() * 20);
  }
  lease.keepAlive();
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}

/** Running measurements split by whether a live worker holds them. */
async function runningByLiveness(w: Worker): Promise<{ live: ObservationRecord[]; orphaned: ObservationRecord[] }> {
  const live: ObservationRecord[] = [];
  const orphaned: ObservationRecord[] = [];
  for (const o of w.s.view.observations.filter((x) => x.state === 'RUNNING')) {
    const h = await w.leases.holder(observationLease(w.s.study.name, o.number));
    (h && h.remainingMs > 0 && !h.dead ? live : orphaned).push(o);
  }
  return { live, orphaned };
}

/** Bring the session up to date with the other workers: their records, and the scope's settled spend. */
async function catchUp(w: Worker): Promise<void> {
  await w.s.executor.sync();
  await refresh(w.s);
  w.s.study = (await w.s.store.getStudy(w.s.study.name)) ?? w.s.study;
  w.s.spent = Math.max(w.s.spent, w.s.study.spent);
}

function decide(w: Worker): Promise<Decision> {
  return underDecideLease(w, async () => {
    await catchUp(w);
    const { s } = w;
    const { live, orphaned } = await runningByLiveness(w);
    for (const o of orphaned) {
      const lease = await w.leases.acquire(observationLease(s.study.name, o.number), w.ttlMs);
      if (lease) return start(w, rerunRequest(s, o), lease);
    }
    // Other workers' measurements in flight hold part of the budget: the choice must fit beside them.
    const reserved = live.reduce((sum, o) => sum + (o.projectedUsd ?? 0), 0);
    const ref = nextReference(s, reserved);
    if (ref) return start(w, ref);
    const next = nextSearchMeasurement(s, withFantasies(s.view, s.items), reserved);
    if ('req' in next) return start(w, next.req);
    if (live.length) return { kind: 'wait' }; // their results may change the choice, or free budget, or die
    if (next.stop.reason !== 'budget') {
      const close = nextClosingReference(s);
      if (close) return start(w, close);
    }
    return { kind: 'done', ...next.stop };
  });
}

function rerunRequest(s: Session, o: ObservationRecord): MeasureRequest {
  const t = s.view.trials.find((x) => x.number === o.trial)!;
  const mixture = trialMixture(t, s.space);
  const usd = sessionCost(s).measurement(mixture, o.promptIds, o.sampleOffset);
  return { mixture, kind: t.kind, strategy: o.strategy, purpose: o.purpose, fidelity: o.fidelity, sampleOffset: o.sampleOffset, promptIds: o.promptIds, projectedUsd: usd, resumed: true };
}

/** Record the measurement as RUNNING and lease it, still under the decision lease: no other worker can pick it. */
async function start(w: Worker, req: MeasureRequest, held?: Lease): Promise<Decision> {
  const started = await startMeasurement(w.s, req);
  const { obs } = started;
  const lease = held ?? (await w.leases.acquire(observationLease(w.s.study.name, obs.number), w.ttlMs));
  if (!lease) throw new Error(`observation ${obs.number} of study ${w.s.study.name} is leased by another worker`);
  return { kind: 'measure', req, started, lease };
}

/** The answer is stored once no measurement runs any more (the last worker to stop); others leave it to that one. */
async function answerIfLast(w: Worker): Promise<SearchOutcome | undefined> {
  return underDecideLease(w, async () => {
    await catchUp(w);
    const { live, orphaned } = await runningByLiveness(w);
    if (live.length || orphaned.length) return undefined;
    return answer(w.s);
  });
}

/**
 * The study's answer once its workers are gone (for `search --workers`, which waits for them): the stop reason the
 * last worker stored, or `interrupted` while measurements are left RUNNING (they are re-run by the next worker or
 * `--resume`).
 */
export async function answerStudy(opts: Omit<WorkerOptions, 'pollMs'>): Promise<SearchOutcome> {
  const store = await StudyStore.open(opts.storage);
  const study = await store.getStudy(opts.studyName);
  if (!study) throw new InputError(`no study named "${opts.studyName}"`, { field: '--study' });
  const s = await openSession(store, study, { ...opts, config: study.config });
  try {
    const unfinished = s.view.observations.filter((o) => o.state === 'RUNNING').length;
    s.stop = unfinished
      ? { reason: 'interrupted', detail: `${unfinished} measurement${unfinished > 1 ? 's' : ''} left running (re-run from the cache by the next worker or --resume)` }
      : { reason: study.stopped ?? 'converged', detail: '' };
  } finally {
    await closeSession(s);
  }
  return answer(s, s.stop.reason !== 'interrupted');
}
