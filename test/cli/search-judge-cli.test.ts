import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpace } from '../../src/config/index.js';
import { formatPreferences, loadValidationSet } from '../../src/eval/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { simPreferenceSet } from '../../src/sim/index.js';
import { checkJudgeFlags } from '../../src/cli/_judge-study.js';
import { runCli } from '../helpers/cli.js';
import { errorOf } from '../helpers/input-error.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-judge-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const space = loadSpace(SIM_SPACE_FILE);
const prefs = join(dir, 'prefs.jsonl');
writeFileSync(prefs, formatPreferences(simPreferenceSet({ space, prompts: loadValidationSet(SIM_VALIDATION_FILE), pairs: 30, seed: 2 })));

describe('moa-search search --objective judge', () => {
  it('finds a judging mixture, says agreement on pairs, and a resume keeps the objective', async () => {
    const db = join(dir, 'j.sqlite');
    const out = join(dir, 'report');
    const r = await runCli(['search', '--objective', 'judge', '--preferences', prefs, '--budget', '3', '--max-evals', '2', '--study', 'j', '--db', db, '--out', out, '--json']);
    expect(r.stderr).toMatch(/30 pairs, budget \$3/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ objective: 'judge', best: { prompts: expect.any(Number) } });
    expect(j.best.score).toBeGreaterThan(50);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/agreement \(%\) with the reference preferences/);
    expect(md).not.toMatch(/win rate/);
    expect(md).not.toMatch(/per validation prompt/);
    const again = await runCli(['search', '--study', 'j', '--resume', '--objective', 'quality', '--db', db]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--objective/);
  });

  it('refuses a judge search without --preferences, or in a space with fewer than two judges (exit 2, nothing written)', async () => {
    const db = join(dir, 'none.sqlite');
    const r = await runCli(['--objective', 'judge', '--budget', '1', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--preferences/);
    const oneJudge = join(dir, 'one-judge.yaml');
    const text = readFileSync(SIM_SPACE_FILE, 'utf8').replaceAll('[proposer, aggregator, judge]', '[proposer, aggregator]').replace('[baseline, judge]', '[baseline]');
    writeFileSync(oneJudge, text.replace(/^validation:.*$/m, ''));
    const s = await runCli(['--objective', 'judge', '--preferences', prefs, '--space', oneJudge, '--budget', '1', '--db', db]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/--objective.*(has 1|judge role)/);
    expect(existsSync(db)).toBe(false);
  });

  it('checks the judge flags before reading a file', () => {
    expect(errorOf(() => checkJudgeFlags({ preferences: prefs })).location.field).toBe('--preferences');
    expect(errorOf(() => checkJudgeFlags({ objective: 'judge', preferences: prefs, validation: 'v.jsonl' })).location.field).toBe('--validation');
    expect(() => checkJudgeFlags({ objective: 'judge', resume: true })).not.toThrow();
  });
});
