import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadSpace, parseMixtureObject } from '../../src/config/index.js';
import { agreement, agreementOutcome, agreementScores, loadPreferences, loadValidationSet, pairedDifference, rewardModelSettings, scoreJudgeAgreement } from '../../src/eval/index.js';
import { openExecutor, type CachingExecutor } from '../../src/executor/index.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { simPreferenceSet } from '../../src/sim/index.js';
import { ROOT } from '../helpers/cli.js';
import { errorOf } from '../helpers/input-error.js';
import { HAVE_SHARED, shared } from './_data.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-prefs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the agreement metric', () => {
  it('is the chance that verdicts drawn from the two preferences match', () => {
    expect(agreement(1, 1)).toBe(1);
    expect(agreement(0, 1)).toBe(0);
    expect(agreement(0.5, 1)).toBe(0.5);
    expect(agreement(0.8, 0.5)).toBeCloseTo(0.5, 12);
    expect(agreement(0.9, 0.2)).toBeCloseTo(0.9 * 0.2 + 0.1 * 0.8, 12);
  });
});

describe('loadPreferences', () => {
  it('reads JSONL on the 1–2 scale and names file:line of bad lines', () => {
    const f = join(dir, 'p.jsonl');
    writeFileSync(f, '{"prompt": "q", "output_1": "a", "output_2": "b", "preference": 2}\n{"prompt": "q2", "output_1": "a", "output_2": "b", "preference": 1.25, "id": "x", "source": "arena_hard"}\n');
    const s = loadPreferences(f);
    expect(s.format).toBe('jsonl');
    expect(s.items.map((i) => [i.id, i.source, i.preference])).toEqual([
      ['line-1', 'preferences', 1],
      ['x', 'arena_hard', 0.25],
    ]);
    const bad = (text: string) => {
      writeFileSync(f, text);
      return errorOf(() => loadPreferences(f)).message;
    };
    expect(bad('{"prompt": "q", "output_1": "a", "output_2": "b", "preference": 3}')).toMatch(/p\.jsonl:1 \(preference\): 3 is outside 1\.\.2/);
    expect(bad('{"prompt": "q", "output_1": "a", "output_2": "b"}')).toMatch(/p\.jsonl:1 \(preference\): must be a number/);
    expect(bad('{"prompt": "q", "output_1": "a", "output_2": "b", "preference": 1}\n{"prompt": "q", "output_1": "", "output_2": "b", "preference": 1}')).toMatch(/p\.jsonl:2 \(output_1\): must be a non-empty string/);
    expect(bad('{"prompt": "q", "answer": "a"}')).toMatch(/unknown field "answer"/);
    expect(bad('[{"instruction": "q", "output_1": "a"}]')).toMatch(/p\.jsonl \(\[0\]\.output_2\): missing or not a string/);
  });

  it.skipIf(!HAVE_SHARED)('reads the real AlpacaEval annotation files; the constant "output_2 wins" judge agrees with them exactly as often as the leaderboard\'s win rate', () => {
    const csv = readFileSync(shared('alpaca_eval/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv'), 'utf8').trim().split('\n');
    const header = csv[0]!.split(',');
    const col = (name: string) => header.indexOf(name);
    const board = new Map(csv.slice(1).map((l) => l.split(',')).map((r) => [r[0]!, { winRate: Number(r[col('win_rate')]), se: Number(r[col('standard_error')]) }]));
    const files = readdirSync(shared('alpaca_eval/proxy_annotations'));
    expect(files).toHaveLength(9);
    for (const f of files) {
      const set = loadPreferences(shared(`alpaca_eval/proxy_annotations/${f}`));
      expect(set.format).toBe('alpaca_eval');
      expect(set.items).toHaveLength(805);
      expect(set.items.every((i) => i.source === 'alpaca_eval' && i.category && i.preference >= 0 && i.preference <= 1)).toBe(true);
      const always2 = agreementScores(set.items.map((it) => agreementOutcome(it, { preference: 1, unparsed: 0, calls: [] })));
      const row = board.get(f.replace(/\.json$/, ''))!;
      expect(always2.agreement, f).toBeCloseTo(row.winRate, 2);
      // The bootstrap interval is about ±1.96 standard errors of the leaderboard.
      expect((always2.ci[1] - always2.ci[0]) / 2 / (1.96 * row.se), f).toBeGreaterThan(0.85);
      expect((always2.ci[1] - always2.ci[0]) / 2 / (1.96 * row.se), f).toBeLessThan(1.15);
      // A judge that echoes the reference agrees with it as often as the reference agrees with itself.
      const echo = agreementScores(set.items.map((it) => agreementOutcome(it, { preference: it.preference, unparsed: 0, calls: [] })));
      const self = set.items.reduce((s, it) => s + agreement(it.preference, it.preference), 0) / set.items.length;
      expect(echo.agreement).toBeCloseTo(100 * self, 9);
      expect(echo.agreement).toBeGreaterThan(90);
    }
  });
});

describe('scoreJudgeAgreement (through the executor, on sim truth)', () => {
  const space = loadSpace(resolve(ROOT, 'search-spaces/sim.yaml'));
  const items = simPreferenceSet({ space, prompts: loadValidationSet(SIM_VALIDATION_FILE), pairs: 80 });
  let executor: CachingExecutor;
  beforeAll(async () => {
    executor = await openExecutor({ space });
  });
  afterAll(() => executor.close());
  const moa = parseMixtureObject({ layers: 2, proposers: { 'Qwen/Qwen1.5-110B-Chat': 1, 'microsoft/WizardLM-2-8x22B': 1, 'meta-llama/Llama-3-70b-chat-hf': 1 }, aggregator: 'Qwen/Qwen1.5-72B-Chat' }, space);

  it('scores judges with intervals and paired outcomes; a mixture of judges agrees with the truth more than its members', async () => {
    const members = ['Qwen/Qwen1.5-110B-Chat', 'microsoft/WizardLM-2-8x22B', 'meta-llama/Llama-3-70b-chat-hf', 'Qwen/Qwen1.5-72B-Chat'];
    const singles = [];
    for (const m of members) singles.push(await scoreJudgeAgreement({ space, executor, judge: rewardModelSettings(space, { judgeModel: m }), items }));
    const mix = await scoreJudgeAgreement({ space, executor, judge: rewardModelSettings(space, { judgeMixture: moa }), items });
    expect(mix.n).toBe(80);
    expect(mix.ci[0]).toBeLessThan(mix.agreement);
    expect(mix.ci[1]).toBeGreaterThan(mix.agreement);
    expect(mix.perItem.map((o) => o.id)).toEqual(items.map((i) => i.id));
    expect(mix.costPerPair).toBeGreaterThan(Math.max(...singles.map((s) => s.costPerPair)));
    const best = singles.reduce((a, b) => (b.agreement > a.agreement ? b : a));
    expect(mix.agreement).toBeGreaterThan(best.agreement);
    const d = pairedDifference(mix.perItem, best.perItem);
    expect(d.n).toBe(80);
    expect(d.diff).toBeCloseTo(mix.agreement - best.agreement, 9);
  });

  it('a subset scores its pairs as the whole set does; a replicate draws fresh samples from a sampling judge', async () => {
    const judge = { ...rewardModelSettings(space, { judgeModel: 'gpt-4o-mini-2024-07-18' }), temperature: 0.7 };
    const all = await scoreJudgeAgreement({ space, executor, judge, items });
    const sub = await scoreJudgeAgreement({ space, executor, judge, items: items.slice(10, 30) });
    expect(sub.perItem.map((o) => o.preference)).toEqual(all.perItem.slice(10, 30).map((o) => o.preference));
    expect(sub.calls.made).toBe(0);
    const rep = await scoreJudgeAgreement({ space, executor, judge, items: items.slice(10, 30), replicate: 1 });
    expect(rep.calls.made).toBeGreaterThan(0);
    expect(rep.perItem.map((o) => o.judgePreference)).not.toEqual(sub.perItem.map((o) => o.judgePreference));
    const again = await scoreJudgeAgreement({ space, executor, judge, items: items.slice(10, 30), replicate: 1 });
    expect(again.calls.made).toBe(0);
  });
});
