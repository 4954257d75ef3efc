import { existsSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { InputError } from '../config/input-error.js';
import { checkDbLocation, isDbUrl, openStorage, type Storage } from '../executor/index.js';
import { resolveDbPath } from '../paths.js';
import type { SearchEvent } from '../search/run-search.js';
import { runWorker, type WorkerOutcome } from '../search/run-worker.js';
import { StudyStore } from '../search/study-store.js';
import { jsonOf, prepare, type Prepared } from './search-command.js';

export interface WorkerFlags {
  study: string;
  db?: string;
  concurrency?: number;
  json?: boolean;
}

/** The database and the study must exist; the study's stored configuration (space, prompts) is checked as on --resume. */
export async function openStudyForWorker(db: string, name: string): Promise<{ prepared: Prepared; storage: Storage }> {
  if (!isDbUrl(db) && !existsSync(db)) throw new InputError(`no database at ${db}: create the study first (moa-search search --study ${name} …)`, { field: '--db' });
  const storage = await openStorage(db, { migrate: false });
  try {
    const store = await StudyStore.existing(storage);
    const stored = await store?.getStudy(name);
    if (!stored) throw new InputError(`no study named "${name}" in ${storage.display}`, { field: '--study' });
    return { prepared: prepare(stored.config, stored.name), storage };
  } catch (e) {
    await storage.close();
    throw e;
  }
}

/** One line per finished measurement: with several workers on one terminal, a progress bar would be noise. */
export function workerLog(write: (line: string) => void): (e: SearchEvent) => void {
  return (e) => {
    if (e.type === 'trial-start' && e.resumed) write(`re-running observation ${e.observation.number} (${e.trial.label}) left unfinished by a stopped worker`);
    if (e.type !== 'trial-end') return;
    const o = e.observation;
    const result = o.state === 'COMPLETE' ? `score ${o.score?.toFixed(1)}` : `${o.state}: ${o.error ?? ''}`;
    write(`observation ${o.number} ${o.purpose} ${e.trial.label} on ${o.promptIds.length} prompts: ${result} (study spent $${(o.spentCumulative ?? 0).toFixed(4)})`);
  };
}

const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export async function workerCommand(flags: WorkerFlags): Promise<void> {
  const db = checkDbLocation(resolveDbPath(flags.db));
  const { prepared, storage } = await openStudyForWorker(db, flags.study);
  const err = process.stderr;
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  let received: keyof typeof SIGNAL_CODES | undefined;
  const onSignal = (sig: keyof typeof SIGNAL_CODES) => () => {
    if (received) process.exit(SIGNAL_CODES[sig]);
    received = sig;
    err.write(`${sig}: stopping this worker cleanly (its measurement is re-run from the cache by another worker)\n`);
    controller.abort();
  };
  const handlers = (Object.keys(SIGNAL_CODES) as Array<keyof typeof SIGNAL_CODES>).map((sig) => [sig, onSignal(sig)] as const);
  handlers.forEach(([sig, h]) => process.on(sig, h));
  err.write(`worker ${process.pid}: study ${prepared.studyName} in ${storage.display}\n`);
  let done: WorkerOutcome;
  try {
    done = await runWorker({
      space: prepared.space,
      items: prepared.items,
      ...(prepared.objective ? { objective: prepared.objective } : {}),
      storage,
      studyName: prepared.studyName,
      concurrency: flags.concurrency ?? 4,
      signal: controller.signal,
      onEvent: workerLog((line) => err.write(`${line}\n`)),
    });
  } finally {
    handlers.forEach(([sig, h]) => process.off(sig, h));
    await storage.close();
  }
  err.write(`worker ${process.pid}: ${done.measured} measurement${done.measured === 1 ? '' : 's'}, stopped (${done.stopped}${done.detail ? `: ${done.detail}` : ''})\n`);
  if (flags.json) process.stdout.write(JSON.stringify({ measured: done.measured, stopped: done.stopped, detail: done.detail, ...(done.outcome ? { study: jsonOf(done.outcome) } : {}) }) + '\n');
  if (done.stopped === 'interrupted') process.exitCode = received ? SIGNAL_CODES[received] : 1;
}
