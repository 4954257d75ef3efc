import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { ROOT, type CliResult } from '../helpers/cli.js';

const MAIN = resolve(ROOT, 'src/cli/main.ts');
const TSX_LOADER = pathToFileURL(createRequire(resolve(ROOT, 'package.json')).resolve('tsx')).href;

/** A fake key in the shape of a real one: if it shows up anywhere but the Authorization header, it leaked. */
export const FAKE_KEY = 'sk-test-abcdefghijklmnopqrstuvwxyz';

const made: string[] = [];

/** A fresh directory under the OS temp dir; `removeTempDirs` (in an afterAll) deletes them all. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Every byte under a directory (the database, its WAL and shm files), as latin1 so any byte sequence matches. */
export function bytesUnder(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out += statSync(p).isDirectory() ? bytesUnder(p) : readFileSync(p, 'latin1');
  }
  return out;
}

/** Lines of a stream, without the empty one after the final newline. */
export function linesOf(text: string): string[] {
  return text.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
}

/**
 * `runCli` from test/helpers/cli.ts, but runnable from any working directory: the helper passes
 * `--import tsx`, which node resolves from the child's cwd, so a temp-dir cwd cannot find tsx.
 * Here the loader is given by absolute URL. (Tests of "nothing written" need a clean cwd.)
 */
export function runCliIn(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}
