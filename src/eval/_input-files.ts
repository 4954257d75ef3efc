import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../config/input-error.js';
import { sha256Hex } from '../random.js';

/** An input file read whole, with its SHA-256 (recorded in manifests). */
export interface InputFile {
  file: string;
  text: string;
  sha256: string;
}

/** `field` names the flag the file came from in errors (e.g. `--prompts`). */
export function readInputFile(file: string, what: string, field?: string): InputFile {
  if (!existsSync(file)) throw new InputError(`${what} not found`, { file, field });
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InputError(`cannot read ${what}: ${(e as Error).message}`, { file, field });
  }
  return { file, text: buf.toString('utf8'), sha256: sha256Hex(buf) };
}

/** Non-blank JSONL lines as objects, with their 1-based line numbers. */
export function jsonlObjects(f: InputFile): Array<{ line: number; obj: Record<string, unknown> }> {
  const out: Array<{ line: number; obj: Record<string, unknown> }> = [];
  f.text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new InputError(`malformed JSON: ${(e as Error).message}`, { file: f.file, line: i + 1 });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InputError('each line must be a JSON object', { file: f.file, line: i + 1 });
    out.push({ line: i + 1, obj: obj as Record<string, unknown> });
  });
  return out;
}

export const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
