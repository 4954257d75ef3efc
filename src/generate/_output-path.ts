import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../config/input-error.js';

/**
 * Check, without writing anything, that `out` can be created or replaced: it is not a directory, and its
 * nearest existing ancestor is a writable directory (so missing folders can be made). InputError names `flag`.
 */
export function checkOutputPath(out: string, flag: string): string {
  const abs = resolve(out);
  const fail = (why: string) => new InputError(`cannot write ${out}: ${why}`, { field: flag });
  const st = statOf(abs);
  if (st?.isDirectory()) throw fail('it is a directory');
  if (st) {
    try {
      accessSync(abs, constants.W_OK);
    } catch {
      throw fail('permission denied');
    }
  }
  let dir = dirname(abs);
  for (;;) {
    const d = statOf(dir);
    if (d && !d.isDirectory()) throw fail(`${dir} is not a directory`);
    if (d) break;
    const up = dirname(dir);
    if (up === dir) throw fail('no existing parent folder');
    dir = up;
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw fail(`folder ${dir} is not writable`);
  }
  return abs;
}

/** Create the output's folder (after validation, just before the first write). */
export function ensureParentDir(out: string): void {
  mkdirSync(dirname(resolve(out)), { recursive: true });
}

function statOf(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
