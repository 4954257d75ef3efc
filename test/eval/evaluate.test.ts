import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpace, singleModelMixture, uniformMixture } from '../../src/config/index.js';
import { BudgetExceeded, openExecutor, type CachingExecutor } from '../../src/executor/index.js';
import { EvaluationFailed, evaluateMixture, loadValidationSet } from '../../src/eval/index.js';
import type { EvalResult, ValidationItem } from '../../src/eval/types.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { runCli } from '../helpers/cli.js';
import { HAVE_SHARED, shared } from './_data.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-eval-'));
const SIM_YAML = readFileSync(SIM_SPACE_FILE, 'utf8');
const simItems = loadValidationSet(SIM_VALIDATION_FILE);
/** 6 prompts, 3 per source: enough to exercise both protocols, fast. */
const SMALL = [...simItems.filter((i) => i.source === 'alpaca_eval').slice(0, 3), ...simItems.filter((i) => i.source === 'arena_hard').slice(0, 3)];
const SUBSET = join(dir, 'sim10.jsonl');
writeFileSync(SUBSET, [...simItems.filter((i) => i.source === 'alpaca_eval').slice(0, 5), ...simItems.filter((i) => i.source === 'arena_hard').slice(0, 5)].map((i) => JSON.stringify(i)).join('\n') + '\n');

function simSpace(judge: string) {
  return parseSpace(SIM_YAML.replace(/^judge:.*$/m, judge), join(dir, 'sim-space.yaml'));
}
const Q110 = 'Qwen/Qwen1.5-110B-Chat';
const Q72 = 'Qwen/Qwen1.5-72B-Chat';
const WIZ = 'microsoft/WizardLM-2-8x22B';
/** The result without what legitimately differs between a first and a cached second run. */
const stable = (r: EvalResult) => ({ ...r, spent: undefined, calls: undefined, perPrompt: r.perPrompt.map((o) => ({ ...o, layerWallMs: undefined })) });

describe('evaluateMixture on the simulated world', () => {
  const executors: CachingExecutor[] = [];
  afterAll(async () => {
    for (const e of executors) await e.close();
  });
  const open = async (space: ReturnType<typeof simSpace>, budgetUsd?: number) => {
    const e = await openExecutor({ space, budgetUsd });
    executors.push(e);
    return e;
  };

  it('scores a mixture, keeps judge spend apart, and is deterministic (second run all cached)', async () => {
    const space = simSpace('judge: { model: gpt-4o-mini-2024-07-18 }');
    const executor = await open(space);
    const mixture = uniformMixture({ [Q110]: 1, [Q72]: 1 }, Q110);
    const progress: number[] = [];
    const a = await evaluateMixture({ mixture, space, items: SMALL, executor, concurrency: 3, onProgress: (p) => progress.push(p.done) });
    expect(progress).toEqual([1, 2, 3, 4, 5, 6]);
    expect(a.perPrompt.map((o) => o.id)).toEqual(SMALL.map((i) => i.id));
    expect(Object.keys(a.bySource).sort()).toEqual(['alpaca_eval', 'arena_hard']);
    expect(a.score).toBeCloseTo((a.bySource.alpaca_eval!.winRate + a.bySource.arena_hard!.winRate) / 2, 10);
    expect(a.ci[0]).toBeLessThanOrEqual(a.score);
    expect(a.ci[1]).toBeGreaterThanOrEqual(a.score);
    // 3 calls per prompt for the mixture; 1 judge call per AlpacaEval prompt, 2 per Arena-Hard prompt.
    expect(a.calls).toEqual({ made: 6 * 3 + 3 + 6, cached: 0 });
    expect(a.spent.judge).toBeGreaterThan(0);
    expect(a.spent.mixture).toBeCloseTo(a.costPerQuery * SMALL.length, 10);
    expect(a.spent.total).toBeCloseTo(a.spent.mixture + a.spent.judge, 12);
    expect(a.tflopsPerQuery).toBeGreaterThan(0);
    expect(a.failures).toEqual({ generation: 0, judgeUnparsed: 0, truncated: 0 });
    expect(a.perPrompt.every((o) => o.judgeCostUsd! > 0 && o.candidateChars > 0)).toBe(true);
    expect(a.tokenStats!.models[Q110]!.aggregator!.n).toBe(6);
    expect(typeof a.lc).toBe('number');
    const b = await evaluateMixture({ mixture, space, items: SMALL, executor, concurrency: 1 });
    expect(b.calls).toEqual({ made: 0, cached: a.calls.made });
    expect(b.spent.total).toBe(0);
    expect(JSON.stringify(stable(b))).toBe(JSON.stringify(stable(a)));
  });

  it('a replicate (sample offset) pays fresh mixture and judge calls, cached under their own keys', async () => {
    const space = simSpace('judge: { model: gpt-4o-mini-2024-07-18 }');
    const executor = await open(space);
    const mixture = uniformMixture({ [Q110]: 1, [Q72]: 1 }, Q110);
    const a = await evaluateMixture({ mixture, space, items: SMALL, executor });
    const r = await evaluateMixture({ mixture, space, items: SMALL, executor, sampleOffset: 3 });
    expect(r.calls).toEqual({ made: a.calls.made, cached: 0 });
    expect(r.perPrompt.map((o) => o.preference)).not.toEqual(a.perPrompt.map((o) => o.preference));
    const again = await evaluateMixture({ mixture, space, items: SMALL, executor, sampleOffset: 3 });
    expect(again.calls).toEqual({ made: 0, cached: r.calls.made });
    expect(again.perPrompt.map((o) => o.preference)).toEqual(r.perPrompt.map((o) => o.preference));
  });

  it('MoA as judge: proposers evaluate, the aggregator decides, both protocols parse', async () => {
    const space = simSpace(`judge: { mixture: { layers: 2, proposers: { "${Q110}": 1, "${Q72}": 1, "${WIZ}": 1 }, aggregator: gpt-4o-mini-2024-07-18 } }`);
    const executor = await open(space);
    const r = await evaluateMixture({ mixture: singleModelMixture(Q72), space, items: SMALL, executor });
    // 1 mixture call per prompt; a 3+1 judge per judgment: 1 AlpacaEval judgment or 2 Arena-Hard games per prompt.
    expect(r.calls.made).toBe(6 + 4 * (3 + 6));
    expect(r.failures.judgeUnparsed).toBe(0);
    expect(r.perPrompt.every((o) => o.preference >= 0 && o.preference <= 1)).toBe(true);
  });

  it.skipIf(!HAVE_SHARED)('the official template files run against the simulated judge', async () => {
    const space = simSpace(
      `judge: { model: gpt-4o-mini-2024-07-18, templates: { alpaca_eval: ${JSON.stringify(shared('alpaca_eval/judge_prompt_alpaca_eval_clf.txt'))}, arena_hard: ${JSON.stringify(shared('arena-hard-v0.1/legacy_format_2024/judge_config.yaml'))} } }`,
    );
    const executor = await open(space);
    const r = await evaluateMixture({ mixture: singleModelMixture(Q110), space, items: SMALL, executor });
    expect(r.failures.judgeUnparsed).toBe(0);
    expect(new Set(r.perPrompt.map((o) => o.preference)).size).toBeGreaterThan(1);
  });

  it('on all of sim-100, the measured score lands within its 95% CI of the sim oracle (protocols agree end to end)', async () => {
    const { simTruth } = await import('../../src/sim/index.js');
    const space = simSpace('judge: { model: gpt-4o-mini-2024-07-18 }');
    const executor = await open(space);
    for (const mixture of [singleModelMixture(Q110), uniformMixture({ [Q110]: 1, [Q72]: 1, [WIZ]: 1 }, Q110)]) {
      const r = await evaluateMixture({ mixture, space, items: simItems, executor, concurrency: 8 });
      const truth = simTruth({ space, items: simItems, mixture });
      expect(truth.score).toBeGreaterThan(r.ci[0]);
      expect(truth.score).toBeLessThan(r.ci[1]);
    }
  });

  it('BudgetExceeded propagates instead of becoming a per-prompt failure', async () => {
    const space = simSpace('judge: { model: gpt-4o-mini-2024-07-18 }');
    const executor = await open(space, 1e-6);
    await expect(evaluateMixture({ mixture: singleModelMixture(Q110), space, items: SMALL, executor })).rejects.toBeInstanceOf(BudgetExceeded);
  });
});

describe('failures are counted, never silent (loopback server)', () => {
  let server: FakeServer;
  let executor: CachingExecutor;
  beforeAll(async () => {
    server = await startOpenAIServer({
      handler: (body) => {
        const text = body.messages.map((m: any) => m.content).join('\n');
        if (body.model === 'G') {
          if (text.includes('FAIL')) return { status: 400 };
          if (text.includes('LONG')) return { text: 'a truncated answ', finishReason: 'length' };
          return { text: `CAND for ${text}` };
        }
        // The judge: garbage for the prompt that says GARBAGE, else the candidate wins.
        if (text.includes('GARBAGE')) return { text: 'hmm' };
        const candFirst = text.indexOf('CAND for') < text.indexOf('REFERENCE');
        return { text: candFirst ? 'm' : 'M' };
      },
    });
    const space = parseSpace(
      `providers:\n  local: { baseURL: "${server.url}", keyless: true, maxRetries: 0 }\nmodels:\n  - { id: G, provider: local, price: { input: 1, output: 2 } }\n  - { id: J, provider: local, price: { input: 1, output: 1 }, roles: [judge] }\njudge: { model: J }\n`,
      join(dir, 'loop.yaml'),
    );
    executor = await openExecutor({ space });
    const items: ValidationItem[] = ['ok', 'FAIL', 'LONG', 'GARBAGE'].map((p, i) => ({ id: `x${i}`, source: 'alpaca_eval', prompt: p, reference: 'REFERENCE' }));
    result = await evaluateMixture({ mixture: singleModelMixture('G'), space, items, executor });
  });
  let result: EvalResult;
  afterAll(async () => {
    await executor.close();
    await server.close();
  });

  it('generation failure = loss, unparseable judge = tie, truncation flagged', () => {
    const [ok, fail, long, garbage] = result.perPrompt;
    expect(ok!.preference).toBe(1);
    expect(fail).toMatchObject({ preference: 0, generationFailed: true, candidateChars: 0 });
    expect(long).toMatchObject({ truncated: true, preference: 1 });
    expect(garbage).toMatchObject({ preference: 0.5, judgeUnparsed: 1 });
    expect(result.failures).toEqual({ generation: 1, judgeUnparsed: 1, truncated: 1 });
    // The failed prompt was never judged: 3 judged prompts, one of them retried.
    expect(server.count('J')).toBe(4);
    expect(result.bySource.alpaca_eval!.winRate).toBeCloseTo((100 * (1 + 0 + 1 + 0.5)) / 4, 10);
  });

  it('every generation failing is an error naming the cause, not a score of 0', async () => {
    const items: ValidationItem[] = ['FAIL one', 'FAIL two'].map((p, i) => ({ id: `f${i}`, source: 'alpaca_eval', prompt: p, reference: 'REFERENCE' }));
    const space = parseSpace(
      `providers:\n  local: { baseURL: "${server.url}", keyless: true, maxRetries: 0 }\nmodels:\n  - { id: G, provider: local, price: { input: 1, output: 2 } }\n  - { id: J, provider: local, price: { input: 1, output: 1 }, roles: [judge] }\njudge: { model: J }\n`,
      join(dir, 'loop2.yaml'),
    );
    const err = await evaluateMixture({ mixture: singleModelMixture('G'), space, items, executor }).catch((e) => e);
    expect(err).toBeInstanceOf(EvaluationFailed);
    expect(err.message).toMatch(/all 2 generations failed after retries; first error: .*400/);
  });
});

describe('moa-search eval (CLI)', () => {
  const mixtureArg = JSON.stringify({ layers: 2, proposers: { [Q110]: 1, [WIZ]: 1 }, aggregator: Q72 });

  it('prints the documented JSON; a second run gives the same JSON with 0 provider calls', async () => {
    const db = join(dir, 'cli.sqlite');
    const args = ['eval', '--validation', SUBSET, '--mixture', mixtureArg, '--db', db, '--json'];
    const first = await runCli(args);
    expect(first.stderr).toMatch(/no --space given: using the simulated world/);
    expect(first.stderr).toMatch(/evaluating: 10\/10 prompts/);
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout);
    for (const k of ['score', 'ci', 'bySource', 'lc', 'costPerQuery', 'tflopsPerQuery', 'spent', 'calls']) expect(a).toHaveProperty(k);
    expect(a.bySource.alpaca_eval).toMatchObject({ winRate: expect.any(Number), ci: [expect.any(Number), expect.any(Number)] });
    expect(a.calls.made).toBeGreaterThan(0);
    expect(a.spent).toBeGreaterThan(0);
    const second = await runCli(args);
    expect(second.code).toBe(0);
    const b = JSON.parse(second.stdout);
    expect(b.calls).toEqual({ made: 0, cached: a.calls.made + a.calls.cached });
    expect(b.spent).toBe(0);
    const drop = ({ calls: _c, spent: _s, spentByAccount: _p, ...rest }: any) => rest;
    expect(drop(b)).toEqual(drop(a));
    // The human table, from the cache.
    const human = await runCli(['eval', '--validation', SUBSET, '--baseline', Q110, '--db', db]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^mixture\s+Q110$/m);
    expect(human.stdout).toMatch(/score\s+\d+\.\d\s+\[\d+\.\d, \d+\.\d\]\s+n=10/);
  }, 60_000);

  it('bad input exits 2 with one line and writes nothing', async () => {
    const db = join(dir, 'never.sqlite');
    const noJudge = join(dir, 'nojudge.yaml');
    writeFileSync(noJudge, SIM_YAML.replace(/^judge:.*$/m, ''));
    const badSet = join(dir, 'bad.jsonl');
    writeFileSync(badSet, '{"id": "a", "source": "s", "prompt": "p", "reference": "r"}\n{"id": "a", "source": "s", "prompt": "q", "reference": "r"}\n');
    const cases: Array<[string[], RegExp]> = [
      [['eval', '--space', noJudge, '--validation', SUBSET, '--baseline', Q110, '--db', db], /nojudge\.yaml \(judge\): no judge/],
      [['eval', '--validation', badSet, '--baseline', Q110, '--db', db], /bad\.jsonl:2 \(id\): duplicate id "a"/],
      [['eval', '--validation', SUBSET, '--baseline', 'nope', '--db', db], /--baseline: unknown model "nope"/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stdout).toBe('');
    }
    expect(existsSync(db)).toBe(false);
  }, 60_000);
});
