// `moa-search sim preferences` and `moa-search eval --preferences` through the real CLI.
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadPreferences } from '../../src/eval/index.js';
import { simPairTruth } from '../../src/sim/index.js';
import { runCli } from '../helpers/cli.js';
import { linesOf, removeTempDirs, runCliIn, tempDir } from '../acceptance/_fixtures.js';
import { HAVE_SHARED, shared } from './_data.js';

afterAll(removeTempDirs);
const JUDGES = '{"layers": 2, "proposers": {"Qwen/Qwen1.5-110B-Chat": 1, "microsoft/WizardLM-2-8x22B": 1, "meta-llama/Llama-3-70b-chat-hf": 1}, "aggregator": "Qwen/Qwen1.5-72B-Chat"}';

describe('scoring judges from the CLI', () => {
  it('sim preferences writes truth-labelled pairs; eval --preferences scores a judging mixture and a single judge on them', async () => {
    const dir = tempDir('moa-judge-cli-');
    const prefs = join(dir, 'prefs', 'sim.jsonl');
    const w = await runCli(['sim', 'preferences', '--out', prefs, '--pairs', '60']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stderr).toMatch(/^wrote 60 pairs to .*sim\.jsonl \(output_2 truly better in \d+, output_1 in \d+\)\n$/);
    const set = loadPreferences(prefs);
    expect(set.items).toHaveLength(60);
    for (const x of set.items) expect(x.preference).toBe(simPairTruth(x.prompt, x.output_1, x.output_2).preference);

    const db = join(dir, 'db.sqlite');
    const mix = await runCli(['eval', '--preferences', prefs, '--judge-mixture', JUDGES, '--db', db, '--json']);
    expect(mix.code, mix.stderr).toBe(0);
    const m = JSON.parse(mix.stdout);
    expect(m).toMatchObject({ n: 60, failed: 0, preferences: { format: 'jsonl', pairs: 60 } });
    expect(m.ci[0]).toBeLessThanOrEqual(m.agreement);
    expect(m.ci[1]).toBeGreaterThanOrEqual(m.agreement);
    const one = await runCli(['eval', '--preferences', prefs, '--judge', 'meta-llama/Llama-3-70b-chat-hf', '--db', db]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^judge {8}model meta-llama\/Llama-3-70b-chat-hf\npreferences {2}sim\.jsonl: 60 pairs \(JSONL\)\nagreement {4}\d+\.\d \[\d+\.\d, \d+\.\d\]/);
    // Two calls a pair (one per order or per game); the Arena-style games were already asked of this model as a
    // proposer of the mixture (same request), so they come from the cache.
    expect(one.stdout).toMatch(/calls: 100 made, 20 cached/);
    expect(one.stdout).toMatch(/^ {2}arena_hard +\d+\.\d \[.*n=10$/m);
  });

  it.skipIf(!HAVE_SHARED)('reads a real AlpacaEval annotation file', async () => {
    const r = await runCli(['eval', '--preferences', shared('alpaca_eval/proxy_annotations/gpt4_gamed.json'), '--limit', '30', '--db', join(tempDir('moa-judge-cli-'), 'db.sqlite'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ n: 30, preferences: { format: 'alpaca_eval', pairs: 30, skipped: 0 }, judge: 'model gpt-4o-mini-2024-07-18' });
  });

  it('bad input exits 2 with one line before anything is written', async () => {
    const cwd = tempDir('moa-judge-cli-bad-');
    const cases: Array<[string[], RegExp]> = [
      [['eval', '--preferences', 'none.jsonl'], /none\.jsonl \(--preferences\): preference file not found/],
      [['eval', '--preferences', 'x.jsonl', '--mixture', JUDGES], /--mixture: scores a mixture or model as an answerer/],
      [['eval', '--preferences', 'x.jsonl', '--batch'], /--batch: scoring a judge \(--preferences\) has no Batch API mode yet/],
      [['eval', '--judge', 'gpt-4o-mini-2024-07-18', '--baseline', 'Qwen/Qwen1.5-72B-Chat'], /--judge: only applies with --preferences/],
      [['sim', 'preferences', '--out', 'o.jsonl', '--models', 'nobody'], /--models: unknown model "nobody"/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCliIn(cwd, args, { MOA_SEARCH_DB: undefined })));
    results.forEach((r, i) => {
      expect(r.code, r.stderr).toBe(2);
      expect(linesOf(r.stderr)).toEqual([expect.stringMatching(cases[i]![1])]);
    });
    expect(readdirSync(cwd)).toEqual([]);
  });
});
