import { randomBytes } from 'node:crypto';
import { HttpError } from './_http.js';

// An in-memory Batch API (OpenAI / Together protocol): files, jobs that finish after a delay, output and
// error files. `sim serve` exposes it over HTTP, the in-process sim provider calls it directly, and the
// tests' loopback server wraps it with scripted answers.

/** What one request line gets: an HTTP status and a JSON body (a chat completion, or an error). */
export interface BatchAnswer {
  status: number;
  body: unknown;
}

export type FinalStatus = 'completed' | 'expired' | 'failed' | 'cancelled';

/** A job as it finishes: tests may change it (expire it, drop or corrupt lines) through `finish`. */
export interface FinishedJob {
  id: string;
  status: FinalStatus;
  output: string[];
  errors: string[];
}

export interface BatchServiceOptions {
  answer(body: any, customId: string): BatchAnswer | Promise<BatchAnswer>;
  /** How long a job stays in progress after it is created, ms (default 0). */
  delayMs?: number;
  finish?: (job: FinishedJob) => FinishedJob | void;
}

interface StoredFile {
  id: string;
  object: 'file';
  purpose: string;
  filename: string;
  bytes: number;
  created_at: number;
  content: string;
}

interface InputLine {
  customId: string;
  body: any;
}

interface Job {
  wire: Record<string, any>;
  lines: InputLine[];
  dueAt: number;
  finishing?: Promise<void>;
}

const now = () => Math.floor(Date.now() / 1000);
const newId = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;
const ENDPOINT = '/v1/chat/completions';

export class SimBatchService {
  /** Every call the service has answered, by kind (tests count submissions and re-attachments). */
  readonly counts = { uploads: 0, created: 0, retrieves: 0, lists: 0, downloads: 0 };
  /** While true, jobs stay in progress whatever their delay (tests: a job pending for as long as needed). */
  hold = false;
  private readonly files = new Map<string, StoredFile>();
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly opts: BatchServiceOptions) {}

  /** Ids of the jobs created so far, oldest first. */
  jobIds(): string[] {
    return [...this.jobs.keys()];
  }

  /** The input lines of a job (tests look at what was sent). */
  jobInput(id: string): ReadonlyArray<{ customId: string; body: any }> {
    return this.job(id).lines;
  }

  uploadFile(content: string, purpose: string, filename: string): Omit<StoredFile, 'content'> {
    if (!purpose) throw new HttpError(400, 'purpose is required');
    this.counts.uploads++;
    const f: StoredFile = { id: newId('file-'), object: 'file', purpose, filename, bytes: Buffer.byteLength(content), created_at: now(), content };
    this.files.set(f.id, f);
    const { content: _c, ...wire } = f;
    return wire;
  }

  fileContent(id: string): string {
    const f = this.files.get(id);
    if (!f) throw new HttpError(404, `no file ${id}`);
    this.counts.downloads++;
    return f.content;
  }

  fileInfo(id: string): Omit<StoredFile, 'content'> {
    const f = this.files.get(id);
    if (!f) throw new HttpError(404, `no file ${id}`);
    const { content: _c, ...wire } = f;
    return wire;
  }

  createJob(p: { input_file_id?: unknown; endpoint?: unknown; completion_window?: unknown; metadata?: unknown }): Record<string, any> {
    const file = typeof p.input_file_id === 'string' ? this.files.get(p.input_file_id) : undefined;
    if (!file) throw new HttpError(400, `input_file_id ${String(p.input_file_id)} is not an uploaded file`);
    if (file.purpose !== 'batch') throw new HttpError(400, `file ${file.id} was not uploaded with purpose "batch"`);
    if (p.endpoint !== ENDPOINT) throw new HttpError(400, `endpoint must be ${ENDPOINT}`);
    if (p.completion_window !== '24h') throw new HttpError(400, 'completion_window must be "24h"');
    this.counts.created++;
    const { lines, errors } = parseInput(file.content);
    const t = now();
    const wire: Record<string, any> = {
      id: newId('batch_'),
      object: 'batch',
      endpoint: ENDPOINT,
      errors: null,
      input_file_id: file.id,
      completion_window: '24h',
      status: 'in_progress',
      output_file_id: null,
      error_file_id: null,
      created_at: t,
      in_progress_at: t,
      expires_at: t + 86_400,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      request_counts: { total: lines.length, completed: 0, failed: 0 },
      metadata: p.metadata ?? null,
    };
    if (errors.length) Object.assign(wire, { status: 'failed', failed_at: t, errors: { object: 'list', data: errors } });
    this.jobs.set(wire.id, { wire, lines, dueAt: Date.now() + (this.opts.delayMs ?? 0) });
    return { ...wire };
  }

  async retrieveJob(id: string): Promise<Record<string, any>> {
    this.counts.retrieves++;
    const job = this.job(id);
    if (job.wire.status === 'in_progress' && !this.hold && Date.now() >= job.dueAt) {
      job.finishing ??= this.finish(job);
      await job.finishing;
    }
    return { ...job.wire };
  }

  listJobs(q: { after?: string; limit?: number }): { object: 'list'; data: Record<string, any>[]; first_id: string | null; last_id: string | null; has_more: boolean } {
    this.counts.lists++;
    const all = [...this.jobs.values()].map((j) => j.wire).reverse(); // newest first, as OpenAI lists them
    const start = q.after ? all.findIndex((b) => b.id === q.after) + 1 : 0;
    const limit = Math.max(1, Math.min(100, q.limit ?? 20));
    const data = all.slice(start, start + limit).map((b) => ({ ...b }));
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: start + limit < all.length };
  }

  cancelJob(id: string): Record<string, any> {
    const job = this.job(id);
    if (job.wire.status === 'in_progress') Object.assign(job.wire, { status: 'cancelled', cancelled_at: now() });
    return { ...job.wire };
  }

  private job(id: string): Job {
    const j = this.jobs.get(id);
    if (!j) throw new HttpError(404, `no batch ${id}`);
    return j;
  }

  private async finish(job: Job): Promise<void> {
    const output: string[] = [];
    const errors: string[] = [];
    let n = 0;
    for (const { customId, body } of job.lines) {
      let a: BatchAnswer;
      try {
        a = await this.opts.answer(body, customId);
      } catch (e) {
        a = { status: 500, body: { error: { message: (e as Error).message, type: 'server_error' } } };
      }
      const line = JSON.stringify({ id: `batch_req_${job.wire.id}_${n++}`, custom_id: customId, response: { status_code: a.status, request_id: newId('req_'), body: a.body }, error: null });
      (a.status === 200 ? output : errors).push(line);
    }
    let f: FinishedJob = { id: job.wire.id, status: 'completed', output, errors };
    f = this.opts.finish?.(f) ?? f;
    const t = now();
    const file = (lines: string[], name: string) => (lines.length ? this.uploadInternal(lines.join('\n') + '\n', name) : null);
    Object.assign(job.wire, {
      status: f.status,
      output_file_id: file(f.output, `${job.wire.id}_output.jsonl`),
      error_file_id: file(f.errors, `${job.wire.id}_error.jsonl`),
      request_counts: { total: job.lines.length, completed: f.output.length, failed: f.errors.length },
      [`${f.status}_at`]: t,
    });
  }

  private uploadInternal(content: string, filename: string): string {
    const f: StoredFile = { id: newId('file-'), object: 'file', purpose: 'batch_output', filename, bytes: Buffer.byteLength(content), created_at: now(), content };
    this.files.set(f.id, f);
    return f.id;
  }
}

/** The lines of an input file, and the validation errors that fail the whole job (as OpenAI reports them). */
function parseInput(content: string): { lines: InputLine[]; errors: Array<{ code: string; line: number; message: string }> } {
  const lines: InputLine[] = [];
  const errors: Array<{ code: string; line: number; message: string }> = [];
  const seen = new Set<string>();
  content.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    const bad = (message: string) => errors.push({ code: 'invalid_request', line: i + 1, message });
    let o: any;
    try {
      o = JSON.parse(raw);
    } catch {
      return bad('line is not valid JSON');
    }
    if (typeof o?.custom_id !== 'string' || !o.custom_id) return bad('custom_id must be a non-empty string');
    if (seen.has(o.custom_id)) return bad(`duplicate custom_id ${o.custom_id}`);
    if (o.method !== 'POST' || o.url !== ENDPOINT) return bad(`each line must be a POST to ${ENDPOINT}`);
    if (!o.body || typeof o.body !== 'object') return bad('body must be an object');
    seen.add(o.custom_id);
    lines.push({ customId: o.custom_id, body: o.body });
  });
  if (!lines.length && !errors.length) errors.push({ code: 'empty_file', line: 0, message: 'the input file has no requests' });
  return { lines, errors };
}
