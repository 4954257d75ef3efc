import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadSpace, parseMixtureObject } from '../../src/config/index.js';
import { requireRole, rewardModelSettings } from '../../src/eval/index.js';
import { ROOT } from '../helpers/cli.js';
import { errorOf } from '../helpers/input-error.js';

const space = loadSpace(resolve(ROOT, 'search-spaces/sim.yaml'));
const mix = (o: object) => parseMixtureObject(o, space);

describe('rewardModelSettings', () => {
  it('puts a judging mixture or model in place of the space\'s judge, keeping its protocol and temperature', () => {
    const m = mix({ layers: 2, proposers: { 'Qwen/Qwen1.5-110B-Chat': 1, 'microsoft/WizardLM-2-8x22B': 1 }, aggregator: 'Qwen/Qwen1.5-72B-Chat' });
    const s = rewardModelSettings(space, { judgeMixture: m, criteria: true });
    expect(s).toMatchObject({ protocol: 'auto', temperature: 0, seed: 0, criteria: true, mixture: { aggregator: 'Qwen/Qwen1.5-72B-Chat' } });
    expect(s.model).toBeUndefined();
    expect(rewardModelSettings(space, { judgeModel: 'gpt-4-1106-preview' })).toMatchObject({ model: 'gpt-4-1106-preview' });
    expect(rewardModelSettings(space, {})).toMatchObject({ model: 'gpt-4o-mini-2024-07-18' });
    expect(rewardModelSettings(space, {}).criteria).toBeUndefined();
  });

  it('refuses what is not a judge, naming the flag', () => {
    const rank = mix({ layers: 2, mode: 'rank', proposers: { 'Qwen/Qwen1.5-110B-Chat': 1 }, aggregator: 'Qwen/Qwen1.5-72B-Chat' });
    expect(errorOf(() => rewardModelSettings(space, { judgeMixture: rank })).message).toBe('--judge-mixture: a judging mixture must synthesize its verdict: remove "mode": "rank"');
    const notJudges = mix({ layers: 2, proposers: { 'databricks/dbrx-instruct': 1 }, aggregator: 'Qwen/Qwen1.5-72B-Chat' });
    expect(errorOf(() => rewardModelSettings(space, { judgeMixture: notJudges })).message).toMatch(/^--judge-mixture: model "databricks\/dbrx-instruct" does not have the judge role \(its roles: proposer, aggregator\); add judge to its roles in /);
    expect(errorOf(() => rewardModelSettings(space, { judgeModel: 'gpt-4o-2024-05-13' })).message).toMatch(/^--judge: model "gpt-4o-2024-05-13" does not have the judge role/);
    expect(errorOf(() => rewardModelSettings(space, { judgeModel: 'x', judgeMixture: notJudges })).message).toBe('--judge: give --judge-mixture or --judge, not both');
    const noJudge = { ...space, judge: undefined };
    expect(errorOf(() => rewardModelSettings(noJudge, {})).message).toMatch(/\(judge\): no reward model: pass --judge-mixture <file>, or set judge\.model in the space/);
    expect(errorOf(() => requireRole(space, 'nobody', 'policy', '--policy')).message).toMatch(/^--policy: unknown model "nobody"/);
    expect(() => requireRole(space, 'meta-llama/Llama-3-8b-chat-hf', 'policy', '--policy')).not.toThrow();
  });
});
