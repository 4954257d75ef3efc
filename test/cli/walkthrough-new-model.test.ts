// The README's "a new model shipped" walk-through, line by line as a user on a fresh clone runs it (offline, on the
// simulated world), in a temp folder laid out like the repository. Searches get `--max-evals 2` to stay lean.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from '../helpers/cli.js';
import { linesOf, removeTempDirs, runCliIn, tempDir } from '../acceptance/_fixtures.js';

afterAll(removeTempDirs);

function walkthroughLines(): string[] {
  const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- walkthrough: a new model shipped');
  const block = readme.slice(start, readme.indexOf('<!-- /walkthrough -->', start));
  return block.split('\n').filter((l) => /^(npx|cp) /.test(l)).map((l) => l.replace(/\s+#.*$/, '').trim());
}

function freshClone(): string {
  const dir = tempDir('moa-walkthrough-');
  mkdirSync(join(dir, 'search-spaces/catalogs'), { recursive: true });
  copyFileSync(resolve(ROOT, 'search-spaces/sim.yaml'), join(dir, 'search-spaces/sim.yaml'));
  copyFileSync(resolve(ROOT, 'search-spaces/catalogs/openrouter-sample.json'), join(dir, 'search-spaces/catalogs/openrouter-sample.json'));
  symlinkSync(resolve(ROOT, 'validation-sets'), join(dir, 'validation-sets'));
  return dir;
}

describe('README walk-through: a new model shipped', () => {
  it('search, import the new model, warm-started search, diff — offline, end to end; bad --warm-start is refused', async () => {
    const dir = freshClone();
    const env = { MOA_SEARCH_DB: join(dir, 'runs/moa.sqlite') };
    const lines = walkthroughLines();
    expect(lines).toHaveLength(5);
    const outs: string[] = [];
    for (const line of lines) {
      const words = line.split(/\s+/);
      if (words[0] === 'cp') {
        copyFileSync(join(dir, words[1]!), join(dir, words[2]!));
        continue;
      }
      const args = words.slice(2);
      if (args.includes('--budget')) args.push('--max-evals', '2');
      const r = await runCliIn(dir, args, env);
      expect(r.code, `${line}\n${r.stderr}`).toBe(0);
      outs.push(r.stdout + r.stderr);
    }
    const [, , warm, diff] = outs as [string, string, string, string];
    expect(warm).toMatch(/warm start: \d+ observations of \d+ mixtures from before, at no cost/);
    expect(diff).toMatch(/^old best \(before\): /m);
    expect(diff).toMatch(/^new best \(after\): /m);
    expect(diff).toMatch(/^new model meta-llama\/Meta-Llama-3\.1-405B-Instruct-Turbo: (in the new best as (proposer|aggregator|proposer and aggregator)|not in the new best)$/m);
    expect(diff).toMatch(/^(new − old on the \d+ prompts both were judged on|paired difference: none — )/m);
    // The new study's report says the same.
    const report = readFileSync(join(dir, 'runs/after/report.md'), 'utf8');
    expect(report).toContain('## What changed');
    expect(report).toContain('Warm-started from before');

    const json = await runCliIn(dir, ['diff', 'before', 'after', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ old: { study: 'before' }, new: { study: 'after' }, newModels: [{ model: 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo' }] });

    // An unknown study: one line naming it, exit 2, no study created.
    const bad = await runCliIn(dir, ['--budget', '1', '--space', 'search-spaces/my-space.yaml', '--study', 'x', '--warm-start', 'before,nope'], env);
    expect(bad.code).toBe(2);
    expect(linesOf(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toContain('"nope"');
    expect(existsSync(join(dir, 'runs/x'))).toBe(false);
    const noDb = await runCliIn(dir, ['--budget', '1', '--study', 'y', '--warm-start', 'before', '--db', 'other.sqlite'], env);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/--warm-start: no database at .*other\.sqlite/);
    expect(existsSync(join(dir, 'other.sqlite'))).toBe(false);
    const none = await runCliIn(dir, ['diff', 'before', 'x'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no study named "x"/);
  }, 180_000);
});
