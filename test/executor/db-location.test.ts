import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { InputError } from '../../src/config/index.js';
import { maskDbUrl, parseDbLocation } from '../../src/executor/index.js';
import { scrubSecrets } from '../../src/executor/db-location.js';
import { resolveDbPath } from '../../src/paths.js';

describe('--db locations', () => {
  it('masks passwords in URLs, even ones that do not parse or hide an @ inside', () => {
    expect(maskDbUrl('postgres://moa:s3cret@db.example:5432/moa')).toBe('postgres://moa:***@db.example:5432/moa');
    expect(maskDbUrl('postgresql://moa:p@ss@host/db')).toBe('postgresql://moa:***@host/db');
    expect(maskDbUrl('postgres://host/db?user=u&password=hunter2&sslmode=require')).toBe('postgres://host/db?user=u&password=***&sslmode=require');
    expect(maskDbUrl('postgres://moa@host/db')).toBe('postgres://moa@host/db');
    expect(maskDbUrl('postgres://u:x y z@[bad')).toBe('postgres://u:***@[bad');
    const loc = parseDbLocation('postgres://u:p%40ss@h/d') as { secrets: string[] };
    expect(scrubSecrets('auth failed for p%40ss and p@ss', loc.secrets)).toBe('auth failed for *** and ***');
  });

  it('tells URLs from file paths: a URL is never taken for a file name', () => {
    expect(resolveDbPath('postgres://u:p@h/db')).toBe('postgres://u:p@h/db');
    expect(resolveDbPath('runs/x.sqlite')).toBe(resolve('runs/x.sqlite'));
    const pg = parseDbLocation('postgresql://u:p@h:5433/db?schema=moa_team&sslmode=disable');
    expect(pg).toMatchObject({ kind: 'postgres', schema: 'moa_team', display: 'postgresql://u:***@h:5433/db?schema=moa_team&sslmode=disable' });
    expect((pg as { connectionString: string }).connectionString).toBe('postgresql://u:p@h:5433/db?sslmode=disable');
    expect(parseDbLocation('x.sqlite')).toEqual({ kind: 'sqlite', path: resolve('x.sqlite'), display: resolve('x.sqlite') });
  });

  it('rejects other URL schemes, hostless URLs and bad schema names as bad input naming --db, password masked', () => {
    for (const [url, why] of [
      ['mysql://root:hunter2@h/db', /unsupported database URL/],
      ['postgres://u:hunter2@/db', /not a valid URL/],
      ['postgres:///db?password=hunter2', /names no host/],
      ['postgres://u:hunter2@h/db?schema=Bad-Name', /schema "Bad-Name"/],
    ] as const) {
      const err = (() => {
        try {
          parseDbLocation(url);
        } catch (e) {
          return e as InputError;
        }
      })();
      expect(err, url).toBeInstanceOf(InputError);
      expect(err!.message).toMatch(/^--db: /);
      expect(err!.message).toMatch(why);
      expect(err!.message).not.toContain('hunter2');
    }
  });
});
