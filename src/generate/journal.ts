import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { InputError } from '../config/input-error.js';

// A generation's progress lives in `<out>.partial`, a JSONL journal: a header naming the settings, then one
// record per finished prompt, appended as it finishes. A killed run leaves the journal; the same command
// then skips every prompt it holds and only runs the rest (their earlier calls come back from the cache).
// The output file is written from the journal, in prompt order, once every prompt is done.

export const JOURNAL_VERSION = 1;

export interface JournalHeader {
  kind: string;
  /** Everything that changes what a record would hold (mixture, models, sampling, judge). */
  config: Record<string, unknown>;
}

/** One finished prompt. `id` and `key` (the prompt's hash) say which prompt it answers. */
export interface JournalRecord {
  id: string;
  key: string;
  [field: string]: unknown;
}

interface Slot {
  key: string;
  offset: number;
  length: number;
}

export function journalPath(out: string): string {
  return `${out}.partial`;
}

/**
 * A journal read from disk (or a new, empty one). Reading writes nothing, so settings that do not match the
 * journal are reported (exit 2) before anything is opened or spent.
 */
export class Journal {
  private fd: number | undefined;
  private constructor(
    readonly path: string,
    private readonly header: JournalHeader,
    private readonly slots: Map<string, Slot>,
    /** Bytes of whole lines; anything after (a line cut by a kill) is dropped on open. */
    private size: number,
    readonly existed: boolean,
  ) {}

  /** Read `<out>.partial` if it exists; InputError (naming `flag`) when it was written with other settings. */
  static read(out: string, header: JournalHeader, flag = '--out'): Journal {
    const path = journalPath(out);
    if (!existsSync(path)) return new Journal(path, header, new Map(), 0, false);
    const slots = new Map<string, Slot>();
    let size = 0;
    let first = true;
    let line = 0;
    for (const { text, offset, length } of wholeLines(path)) {
      line++;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(text);
      } catch {
        throw new InputError(`${path} line ${line} is not JSON: remove the file to start over`, { field: flag });
      }
      if (first) {
        checkHeader(obj, header, path, flag);
        first = false;
      } else {
        if (typeof obj.id !== 'string' || typeof obj.key !== 'string') throw new InputError(`${path} line ${line} is not a journal record: remove the file to start over`, { field: flag });
        slots.set(obj.id, { key: obj.key, offset, length });
      }
      size = offset + length + 1;
    }
    if (first) return new Journal(path, header, new Map(), 0, false);
    return new Journal(path, header, slots, size, true);
  }

  get count(): number {
    return this.slots.size;
  }

  /** The prompt with this id and content hash is done. */
  has(id: string, key: string): boolean {
    return this.slots.get(id)?.key === key;
  }

  /** The record of a done prompt (read from disk). */
  get(id: string): JournalRecord | undefined {
    const s = this.slots.get(id);
    if (!s) return undefined;
    const buf = Buffer.alloc(s.length);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buf, 0, s.length, s.offset);
    } finally {
      closeSync(fd);
    }
    return JSON.parse(buf.toString('utf8')) as JournalRecord;
  }

  /** Append a record (one write of one line); opens the journal on first use, writing its header if new. */
  append(record: JournalRecord): void {
    const fd = this.open();
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
    writeSync(fd, line, 0, line.length, this.size);
    this.slots.set(record.id, { key: record.key, offset: this.size, length: line.length - 1 });
    this.size += line.length;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Delete the journal (the output is complete). */
  remove(): void {
    this.close();
    rmSync(this.path, { force: true });
  }

  private open(): number {
    if (this.fd !== undefined) return this.fd;
    const fd = openSync(this.path, this.size ? 'r+' : 'w');
    // A line cut short by a kill is dropped: its prompt was not recorded, so it runs again (from the cache).
    ftruncateSync(fd, this.size);
    if (!this.size) {
      const head = Buffer.from(JSON.stringify({ journal: 'moa-search generate', version: JOURNAL_VERSION, kind: this.header.kind, config: this.header.config }) + '\n');
      writeSync(fd, head, 0, head.length, 0);
      this.size = head.length;
    }
    this.fd = fd;
    return fd;
  }
}

function checkHeader(obj: Record<string, unknown>, header: JournalHeader, path: string, flag: string): void {
  const stale = (why: string) =>
    new InputError(`${path} holds an unfinished run with ${why}: rerun with the same settings to finish it, or delete the file to start over`, { field: flag });
  if (obj.journal !== 'moa-search generate' || obj.version !== JOURNAL_VERSION) throw stale('an unknown format');
  if (obj.kind !== header.kind) throw stale(`\`generate ${String(obj.kind)}\`, not \`generate ${header.kind}\``);
  const old = (obj.config ?? {}) as Record<string, unknown>;
  for (const k of new Set([...Object.keys(old), ...Object.keys(header.config)])) {
    if (JSON.stringify(old[k]) !== JSON.stringify(header.config[k])) throw stale(`another ${k} (${JSON.stringify(old[k]) ?? 'none'})`);
  }
}

/** Complete lines of a file (without their newline) and where they start; a last line without one is left out. */
function* wholeLines(path: string): Generator<{ text: string; offset: number; length: number }> {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    let base = 0; // file offset of carry[0]
    let pos = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      pos += n;
      let buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, start)) {
        yield { text: buf.toString('utf8', start, i), offset: base + start, length: i - start };
        start = i + 1;
      }
      carry = Buffer.from(buf.subarray(start));
      base += start;
      buf = carry;
    }
  } finally {
    closeSync(fd);
  }
}

/** Write a file atomically: a temporary file beside it, flushed, then renamed over it. */
export function writeFileAtomic(path: string, write: (put: (text: string) => void) => void): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    let at = 0;
    write((text) => {
      const b = Buffer.from(text, 'utf8');
      writeSync(fd, b, 0, b.length, at);
      at += b.length;
    });
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** SHA-256 of a file's bytes (manifests). */
export function fileSha256(path: string): string {
  const fd = openSync(path, 'r');
  const h = createHash('sha256');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0, n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}
