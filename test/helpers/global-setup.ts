import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temp file of the run (test folders, databases, CLI subprocess output, the browser profile) goes under one
 * folder that is removed at the end: os.tmpdir() reads TMPDIR, which the workers and subprocesses inherit.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'moa-search-tests-'));
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
