import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// The "done when": a search on the simulated world ends by writing the report, and the report's
// best.json is a mixture that `eval` re-scores identically from the cache (no new provider call).
describe('search → report → best.json → eval (simulated world)', () => {
  it('writes the report at the end of a search and best.json re-scores with 0 new calls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moa-report-e2e-'));
    const validation = join(dir, 'v.jsonl');
    // 12 prompts keep it quick; the simulated world needs no key and spends no money
    writeFileSync(validation, readFileSync('validation-sets/sim-100.jsonl', 'utf8').split('\n').slice(0, 12).join('\n') + '\n');
    const db = join(dir, 'moa.sqlite');
    const out = join(dir, 'report');
    const search = await runCli(['search', '--max-evals', '1', '--budget', '2', '--validation', validation, '--study', 'e2e', '--db', db, '--out', out, '--json']);
    expect(search.code, search.stderr).toBe(0);
    for (const f of ['report.html', 'report.md', 'pareto-cost.svg', 'pareto-tflops.svg', 'history.svg', 'trials.csv', 'best.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('Recommended mixture');
    // The recommendation is compared with the best single model, or is one.
    expect(html).toMatch(/vs best single model|The best result is a single model/);
    expect(html).toMatch(/model estimate for all 12 validation prompts, from \d+ measurements? of this mixture on 12 of them/);

    const best = JSON.parse(readFileSync(join(out, 'best.json'), 'utf8'));
    const ev = await runCli(['eval', '--mixture', join(out, 'best.json'), '--validation', validation, '--db', db, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const r = JSON.parse(ev.stdout);
    expect(r.calls.made).toBe(0);
    // eval measures what the search measured (same prompts, same samples); the search prints the model's estimate.
    expect(best.meta.measured).toMatchObject({ prompts: 12, measurements: 1 });
    expect(r.score).toBeCloseTo(best.meta.measured.score, 9);
    expect(r.costPerQuery).toBeCloseTo(best.meta.costPerQuery, 12);
  });
});
