import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, checkOutputPath } from '../../src/generate/index.js';
import { errorOf } from '../helpers/input-error.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const header = { kind: 'sft', config: { mixture: { aggregator: 'A' }, generation: { temperature: 0.7 } } };

describe('Journal', () => {
  it('reading writes nothing; records survive a reopen; a line cut by a kill is dropped', () => {
    const out = join(dir, 'a.jsonl');
    const j = Journal.read(out, header);
    expect(existsSync(j.path)).toBe(false);
    j.append({ id: 'p1', key: 'k1', example: { n: 1 } });
    j.append({ id: 'p2', key: 'k2', example: { n: 2 } });
    j.close();
    appendFileSync(j.path, '{"id": "p3", "key": "k3", "exam'); // killed mid-write
    const again = Journal.read(out, header);
    expect(again.count).toBe(2);
    expect(again.has('p1', 'k1')).toBe(true);
    expect(again.has('p1', 'other')).toBe(false); // the prompt's text changed: not done
    expect(again.has('p3', 'k3')).toBe(false);
    expect(again.get('p2')).toEqual({ id: 'p2', key: 'k2', example: { n: 2 } });
    again.append({ id: 'p3', key: 'k3', example: { n: 3 } });
    again.close();
    const lines = readFileSync(j.path, 'utf8').split('\n');
    expect(lines).toHaveLength(5); // header, 3 records, final newline
    expect(lines.slice(1, 4).map((l) => JSON.parse(l).id)).toEqual(['p1', 'p2', 'p3']);
    again.remove();
    expect(existsSync(j.path)).toBe(false);
  });

  it('refuses a journal written with other settings, naming the setting', () => {
    const out = join(dir, 'b.jsonl');
    const j = Journal.read(out, header);
    j.append({ id: 'p1', key: 'k1' });
    j.close();
    const e = errorOf(() => Journal.read(out, { ...header, config: { ...header.config, generation: { temperature: 0.2 } } }));
    expect(e.message).toMatch(/^--out: .*b\.jsonl\.partial holds an unfinished run with another generation \(\{"temperature":0\.7\}\)/);
    expect(errorOf(() => Journal.read(out, { ...header, kind: 'dpo' })).message).toMatch(/`generate sft`, not `generate dpo`/);
    writeFileSync(j.path, readFileSync(j.path, 'utf8') + 'not json\n');
    expect(errorOf(() => Journal.read(out, header)).message).toMatch(/line 3 is not JSON/);
  });
});

describe('checkOutputPath', () => {
  it('accepts a new file in a folder to be made; rejects a directory and a path under a file', () => {
    expect(checkOutputPath(join(dir, 'new/deeper/out.jsonl'), '--out')).toBe(join(dir, 'new/deeper/out.jsonl'));
    expect(existsSync(join(dir, 'new'))).toBe(false);
    expect(errorOf(() => checkOutputPath(dir, '--out')).message).toMatch(/^--out: cannot write .*: it is a directory$/);
    writeFileSync(join(dir, 'file.txt'), 'x');
    expect(errorOf(() => checkOutputPath(join(dir, 'file.txt/out.jsonl'), '--out')).message).toMatch(/file\.txt is not a directory$/);
  });
});
