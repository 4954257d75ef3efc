import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { answerStudy } from '../search/run-worker.js';
import { openStudy, type SearchOptions, type SearchOutcome } from '../search/run-search.js';
import { StudyStore } from '../search/study-store.js';

export interface WorkersRun {
  search: SearchOptions;
  workers: number;
  /** The database location the workers open (passed in their environment: a URL's password stays off `ps`). */
  db: string;
  write: (line: string) => void;
}

/** `moa-search worker` in a child process of this CLI, its stderr lines prefixed. */
function spawnWorker(run: WorkersRun, i: number): ChildProcess {
  const args = [...process.execArgv, process.argv[1]!, 'worker', '--study', run.search.studyName, '--concurrency', String(run.search.concurrency ?? 4)];
  // Detached: a Ctrl-C on the terminal reaches this process only, which forwards one SIGTERM (a worker's second
  // signal would mean "quit at once").
  const child = spawn(process.execPath, args, { env: { ...process.env, MOA_SEARCH_DB: run.db }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  createInterface({ input: child.stderr! }).on('line', (line) => run.write(`[worker ${i + 1}] ${line}`));
  return child;
}

/**
 * `search --workers n`: create (or reopen) the study and hold its claim, so a `--resume` elsewhere is refused, while n
 * local `worker` processes share it; then answer from what they stored. More workers may join from other machines
 * with `moa-search worker --study <name> --db <url>`.
 */
export async function searchWithWorkers(run: WorkersRun): Promise<SearchOutcome> {
  const { search } = run;
  const store = await StudyStore.open(search.storage);
  const { lease } = await openStudy(store, search);
  lease.keepAlive();
  try {
    const children = Array.from({ length: run.workers }, (_, i) => spawnWorker(run, i));
    const stop = () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGTERM'));
    search.signal?.addEventListener('abort', stop, { once: true });
    const exits = await Promise.all(children.map((c) => new Promise<string | undefined>((r) => c.on('close', (code, sig) => r(code === 0 ? undefined : (sig ?? `exit ${code}`))))));
    search.signal?.removeEventListener('abort', stop);
    exits.forEach((e, i) => e && run.write(`[worker ${i + 1}] ended abnormally (${e})`));
  } finally {
    await lease.release();
  }
  return answerStudy({ ...search });
}
