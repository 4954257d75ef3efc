import { resolve } from 'node:path';
import { InputError } from '../config/input-error.js';
import { checkDbPath } from '../config/output-path.js';

/** Where the database lives: a SQLite file (or `:memory:`), or a PostgreSQL server. */
export type DbLocation =
  | { kind: 'sqlite'; path: string; display: string }
  | {
      kind: 'postgres';
      /** The connection string handed to `pg` (our own `schema` parameter removed). Holds the password: never print it. */
      connectionString: string;
      /** Tables go in this schema (`?schema=name`), else the server's default search path. */
      schema?: string;
      /** The URL with its password masked: safe for messages and logs. */
      display: string;
      /** Secrets found in the URL, scrubbed from any message the driver produces. */
      secrets: string[];
    };

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** True for `scheme://…` (a URL, never a file path). */
export function isDbUrl(s: string): boolean {
  return SCHEME.test(s);
}

/**
 * The URL with its password (user-info or `password=` parameter) replaced by `***`. Works on URLs that do not
 * parse, and masks too much rather than too little: everything between the user name and the last `@`.
 */
export function maskDbUrl(url: string): string {
  const m = SCHEME.exec(url);
  let out = url;
  if (m) {
    const start = m[0].length;
    const at = url.lastIndexOf('@');
    if (at > start) {
      const colon = url.indexOf(':', start);
      if (colon >= 0 && colon < at) out = url.slice(0, colon + 1) + '***' + url.slice(at);
    }
  }
  return out.replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** Every spelling of the URL's secrets that could appear in a driver's message (raw and percent-decoded). */
function secretsOf(url: string): string[] {
  const found = new Set<string>();
  const add = (s: string | null | undefined) => {
    if (!s) return;
    found.add(s);
    try {
      found.add(decodeURIComponent(s));
    } catch {
      // not valid percent-encoding: the raw form is enough
    }
  };
  try {
    const u = new URL(url);
    add(u.password);
    add(u.searchParams.get('password'));
  } catch {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^:@/]*:(.*)@/i.exec(url);
    add(m?.[1]);
  }
  return [...found].filter((s) => s.length > 0);
}

/** Replace every secret in `text` with `***`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

/**
 * Parse `--db` / `MOA_SEARCH_DB`: a `postgres://` or `postgresql://` URL, or a file path (resolved against the
 * working directory). Any other URL scheme is bad input: it must never be taken for a file name.
 */
export function parseDbLocation(value: string, field = '--db'): DbLocation {
  if (value === ':memory:') return { kind: 'sqlite', path: value, display: value };
  const scheme = SCHEME.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const path = resolve(value);
    return { kind: 'sqlite', path, display: path };
  }
  const display = maskDbUrl(value);
  if (scheme !== 'postgres' && scheme !== 'postgresql')
    throw new InputError(`${display}: unsupported database URL (use a file path, or postgres://user:password@host:port/database)`, { field });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${display}: not a valid URL`, { field });
  }
  if (!url.hostname) throw new InputError(`${display}: the URL names no host`, { field });
  const schema = url.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !SCHEMA_NAME.test(schema))
    throw new InputError(`${display}: schema "${schema}" must be lower-case letters, digits and "_"`, { field });
  url.searchParams.delete('schema');
  return { kind: 'postgres', connectionString: url.toString(), ...(schema ? { schema } : {}), display, secrets: secretsOf(value) };
}

/**
 * `--db` checked before anything is opened or spent: a URL's form (the server is reached only when opened), or a
 * file path that can be created and written. Returns the value to open.
 */
export function checkDbLocation(value: string, field = '--db'): string {
  const loc = parseDbLocation(value, field);
  return loc.kind === 'sqlite' ? checkDbPath(loc.path, field) : value;
}
