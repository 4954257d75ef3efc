import { existsSync, readFileSync, statSync } from 'node:fs';
import { InputError } from './input-error.js';

/** One JSON object of a JSONL file and the 1-based line it came from. */
export interface JsonlRecord {
  line: number;
  value: Record<string, unknown>;
}

/** Read a user's file as text; a missing or unreadable file is an InputError naming it (and `flag`). */
export function readInputFile(file: string, what: string, flag?: string): string {
  if (!existsSync(file)) throw new InputError(`${what} not found`, { file, field: flag });
  if (statSync(file).isDirectory()) throw new InputError(`${what} is a directory, not a file`, { file, field: flag });
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file, field: flag });
  }
}

/**
 * Parse JSONL text: one JSON object per line, blank lines skipped. Malformed JSON or a line that is not an
 * object is an InputError naming file:line.
 */
export function parseJsonlObjects(text: string, file: string): JsonlRecord[] {
  const out: JsonlRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new InputError(`malformed JSON: ${(e as Error).message}`, { file, line: i + 1 });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError('each line must be a JSON object', { file, line: i + 1 });
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  return out;
}
