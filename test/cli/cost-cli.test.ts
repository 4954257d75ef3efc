import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-cost-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('moa-search --max-cost (CLI)', () => {
  it('returns a mixture whose measured cost meets the cap, with its score and interval, and compares it with the best without the cap', async () => {
    const db = join(dir, 'cap.sqlite');
    const r = await runCli(['--budget', '1', '--max-cost', '2', '--prompts', '8', '--max-evals', '6', '--seed', '2', '--db', db, '--study', 'cap']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/cap \$2 per 1k queries/);
    const cost = Number(/measured \$([\d.]+) per 1k queries: within the cap \(\$2 per 1k queries\)/.exec(r.stdout)?.[1]);
    expect(cost).toBeGreaterThan(0);
    expect(cost).toBeLessThanOrEqual(2);
    expect(r.stdout).toMatch(/score \d+\.\d \[\d+\.\d, \d+\.\d\] \(95% interval/);
    expect(r.stdout).toMatch(/vs the best without the cap \(.*, \$[\d.]+ per 1k queries\): [+−]\d+\.\d \[|it is also the best mixture the search saw without the cap/);
    // pareto --max-cost picks the same mixture by the same rule.
    const best = /^best: (.*)$/m.exec(r.stdout)![1]!;
    const p = await runCli(['pareto', 'cap', '--db', db, '--max-cost', '2']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`Best within \\$2 per 1k queries: #\\d+ ${best.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
  });
});
