/** What the batch stage reports as it works; the CLI prints these (nothing in the executor writes to a terminal). */
export type BatchEvent =
  /** The pending requests of every waiting task were collected: `requests` go out in `jobs` jobs. */
  | { type: 'stage'; stage: number; requests: number; jobs: number; purposes: Record<string, number> }
  | { type: 'submitted'; job: string; provider: string; model: string; requests: number; stage: number }
  /** A job an earlier (killed) run submitted: followed instead of submitted again. */
  | { type: 'attached'; job: string; provider: string; model: string; requests: number }
  | { type: 'progress'; job: string; status: string; completed: number; failed: number; total: number }
  | { type: 'done'; job: string; status: string; results: number; fallback: number; malformed: number }
  /** An output line that is not a valid result: the request is retried online, never cached. */
  | { type: 'malformed'; job: string; line: number; key?: string; reason: string }
  /** Requests of a job answered online instead (expired, failed in the batch, malformed, lost, not submitted). */
  | { type: 'fallback'; job?: string; requests: number; reasons: Record<string, number> }
  | { type: 'poll-error'; job: string; message: string }
  | { type: 'submit-failed'; provider: string; model: string; requests: number; message: string };

export interface BatchStats {
  /** Times the queue was flushed (every pending task was waiting on it). */
  stages: number;
  jobsSubmitted: number;
  /** Jobs of an earlier run this process followed instead of submitting again. */
  jobsAttached: number;
  requestsSubmitted: number;
  /** Results read from output files and stored in the cache. */
  results: number;
  /** Requests answered online instead, by reason. */
  fallback: number;
  fallbackReasons: Record<string, number>;
  malformedLines: number;
}

export interface BatchingOptions {
  onEvent?: (e: BatchEvent) => void;
}
