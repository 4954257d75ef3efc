import { accessSync, constants, mkdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from './input-error.js';

// Every path a command will write (database, report folder, validation set) is checked here before anything is
// opened or spent, so a bad one is one line and exit 2 instead of a raw EEXIST after the money is gone.

type Kind = 'dir' | 'file' | 'missing' | 'blocked';

const errCode = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** What is at `path`; `blocked` (with the reason) when it cannot be looked at: a component is a file (ENOTDIR) or not searchable (EACCES). */
function look(path: string): { kind: Kind; code?: string } {
  try {
    return { kind: statSync(path).isDirectory() ? 'dir' : 'file' };
  } catch (e) {
    const code = errCode(e);
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'blocked', code };
  }
}

const kindOf = (path: string): Kind => look(path).kind;

/** The nearest existing ancestor of `path` (itself included) and the missing components below it, outermost first. */
function splitExisting(path: string, target: string, field: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  let cur = path;
  for (;;) {
    const { kind, code } = look(cur);
    if (kind === 'dir') return { existing: cur, missing };
    if (kind === 'file') throw new InputError(`${cur} is a file, not a directory`, { file: target, field });
    if (kind === 'blocked' && kindOf(dirname(cur)) === 'dir') throw new InputError(`cannot reach ${cur} (${code})`, { file: target, field });
    missing.unshift(cur);
    const up = dirname(cur);
    if (up === cur) return { existing: cur, missing };
    cur = up;
  }
}

/**
 * Ask the file system whether a directory can be written (or created), leaving nothing behind: a permission
 * check alone says yes to root on /proc or a read-only mount.
 */
function probe(existing: string, firstMissing: string | undefined, target: string, field: string): void {
  try {
    if (firstMissing) {
      mkdirSync(firstMissing);
      rmdirSync(firstMissing);
    } else {
      accessSync(existing, constants.W_OK | constants.X_OK);
      const tmp = join(existing, `.moa-search-probe-${process.pid}`);
      writeFileSync(tmp, '');
      unlinkSync(tmp);
    }
  } catch (e) {
    const what = firstMissing ? `cannot create ${firstMissing}` : `cannot write in ${existing}`;
    throw new InputError(`${what} (${errCode(e)})`, { file: target, field });
  }
}

/** `dir` is (or can become) a writable directory. Nothing is created. */
export function checkOutputDir(dir: string, field: string): string {
  const abs = resolve(dir);
  if (kindOf(abs) === 'file') throw new InputError('is a file: give a directory', { file: abs, field });
  checkFolderOf(abs, abs, field);
  return abs;
}

/** The folder `dir` that will hold `target` is (or can become) writable; errors name `target`. */
function checkFolderOf(dir: string, target: string, field: string): void {
  const { existing, missing } = splitExisting(dir, target, field);
  probe(existing, missing[0], target, field);
}

/** `file` can be written: it is not a directory and its folder is (or can become) writable. An existing file will be replaced. */
export function checkOutputFile(file: string, field: string): string {
  const abs = resolve(file);
  if (kindOf(abs) === 'dir') throw new InputError('is a directory: give a file name', { file: abs, field });
  checkFolderOf(dirname(abs), abs, field);
  return abs;
}

/** A database path that can be opened for writing (SQLite also writes -wal and -shm files beside it). */
export function checkDbPath(path: string, field = '--db'): string {
  if (path === ':memory:') return path;
  const abs = resolve(path);
  const kind = kindOf(abs);
  if (kind === 'dir') throw new InputError('is a directory: give a database file, e.g. runs/moa.sqlite', { file: abs, field });
  if (kind === 'file') {
    try {
      accessSync(abs, constants.R_OK | constants.W_OK);
    } catch (e) {
      throw new InputError(`cannot open the database for writing (${errCode(e)})`, { file: abs, field });
    }
  }
  checkFolderOf(dirname(abs), abs, field);
  return abs;
}

/**
 * Create a directory and its missing parents, one level at a time. (`mkdirSync(…, {recursive: true})` spins
 * forever on some paths, e.g. under /proc, where creating a child reports ENOENT for a parent that exists.)
 */
export function ensureDir(dir: string, field: string): void {
  const abs = resolve(dir);
  for (const d of splitExisting(abs, abs, field).missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if (errCode(e) === 'EEXIST' && kindOf(d) === 'dir') continue; // made by another process meanwhile
      throw new InputError(`cannot create ${d} (${errCode(e)})`, { file: abs, field });
    }
  }
}
