import { readFileSync, existsSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { ZodType, z } from 'zod';
import { InputError } from './input-error.js';

/** A parsed YAML/JSON document that can tell which line a field path sits on. */
export interface StructuredDoc {
  file: string;
  data: unknown;
  lineOf(path: ReadonlyArray<string | number>): number | undefined;
}

export function readStructuredFile(file: string, what: string): StructuredDoc {
  if (!existsSync(file)) throw new InputError(`${what} file not found`, { file });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} file: ${(e as Error).message}`, { file });
  }
  return parseStructuredText(text, file);
}

/** JSON is YAML, so one parser serves both and gives line numbers for either. */
export function parseStructuredText(text: string, file: string): StructuredDoc {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    throw new InputError(`malformed YAML/JSON: ${msg}`, { file, line });
  }
  return {
    file,
    data: doc.toJS(),
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

function valueAt(data: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

const keys = (path: ReadonlyArray<PropertyKey>) => path.filter((p): p is string | number => typeof p !== 'symbol');

/**
 * When a value has the right outer type for exactly one form of a union (an array of layers, say) but fails
 * inside it, that inner issue is the one to report, at its full path.
 */
function innermost(issue: z.core.$ZodIssue, prefix: Array<string | number>): { issue: z.core.$ZodIssue; path: Array<string | number> } {
  const path = [...prefix, ...keys(issue.path)];
  if (issue.code === 'invalid_union') {
    const deeper = issue.errors.filter((branch) => branch[0] && branch[0].path.length > 0);
    if (deeper.length === 1) return innermost(deeper[0]![0]!, path);
  }
  return { issue, path };
}

/** zod's wording, except where it is cryptic: a missing field, or a value that fits none of a union's forms. */
function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  // zod calls a map-like object a "record"; in a YAML/JSON file it is just an object.
  const expected = (i: z.core.$ZodIssue): string[] => (i.code === 'invalid_type' ? [i.expected === 'record' ? 'object' : i.expected] : []);
  if (issue.code === 'invalid_type' && value === undefined) return `required (${expected(issue)[0]})`;
  if (issue.code === 'invalid_union') {
    const forms = [...new Set(issue.errors.flatMap((branch) => branch.slice(0, 1).flatMap(expected)))];
    const want = forms.length ? `expected ${forms.join(' or ')}` : 'does not match any allowed form';
    return value === undefined ? `required (${want.replace(/^expected /, '')})` : want;
  }
  return issue.message;
}

/** Validate with zod; the first issue becomes an InputError naming file, line and field. */
export function validateDoc<T>(schema: ZodType<T>, doc: StructuredDoc): T {
  const res = schema.safeParse(doc.data);
  if (res.success) return res.data;
  const { issue, path } = innermost(res.error.issues[0]!, []);
  throw new InputError(describeIssue(issue, valueAt(doc.data, path)), {
    file: doc.file,
    line: doc.lineOf(path),
    field: formatPath(path) || undefined,
  });
}
