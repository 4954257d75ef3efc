import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMixture, parseMixtureObject, singleModelMixture } from '../../src/config/index.js';
import { MixtureRunError, runMixture, runTotals } from '../../src/moa/index.js';
import type { ChatMessage } from '../../src/providers/types.js';
import { defaultAnswer } from '../helpers/openai-server.js';
import { join } from 'node:path';
import { BudgetExceeded, openExecutor } from '../../src/executor/index.js';
import { GEN, answerOf, startWorld, systemOf, type World } from './_setup.js';

const isProposerOf = (model: string, seed: number) => (b: any) =>
  b.model === model && b.seed === seed && !b.messages.some((m: any) => m.role === 'system' && m.content.includes('[Response 1]'));

describe('runMixture through the executor and a loopback server', () => {
  let w: World;
  beforeAll(async () => {
    w = await startWorld();
  });
  afterAll(async () => {
    await w.close();
  });

  it('injects every reference, numbered in canonical order, into the existing system message', async () => {
    w.server.reset();
    const m = loadMixture('{"layers": 2, "proposers": {"B": 1, "A": 2}, "aggregator": "G"}', w.space);
    const messages: ChatMessage[] = [
      { role: 'system', content: 'Answer like a pirate.' },
      { role: 'user', content: 'inject: what is a mixture of agents?' },
    ];
    const run = await runMixture(m, messages, { executor: w.executor, generation: GEN });
    expect(w.server.count()).toBe(4);
    const agg = w.server.calls.find((c) => c.body.model === 'G')!.body;
    const sys = systemOf(agg);
    expect(sys.startsWith('Answer like a pirate.\n\n')).toBe(true);
    expect(agg.messages).toHaveLength(2);
    expect(agg.messages[1]).toEqual(messages[1]);
    const a0 = answerOf(w.server, isProposerOf('A', 0));
    const a1 = answerOf(w.server, isProposerOf('A', 1));
    const b0 = answerOf(w.server, isProposerOf('B', 0));
    expect(new Set([a0, a1, b0]).size).toBe(3);
    const i1 = sys.indexOf(`[Response 1]\n${a0}`);
    const i2 = sys.indexOf(`[Response 2]\n${a1}`);
    const i3 = sys.indexOf(`[Response 3]\n${b0}`);
    expect(i1).toBeGreaterThan(0);
    expect(i2).toBeGreaterThan(i1);
    expect(i3).toBeGreaterThan(i2);
    expect(sys).not.toContain('[Response 4]');
    expect(sys).toMatch(/critical/);
    // Layer-1 agents see the user's conversation unchanged.
    for (const c of w.server.calls.filter((c) => c.body.model !== 'G')) expect(c.body.messages).toEqual(messages);
    expect(run.text).toBe(defaultAnswer(agg));
    expect(run.finishReason).toBe('stop');
    expect(run.calls.map((c) => [c.layer, c.role, c.model, c.sample])).toEqual([
      [1, 'proposer', 'A', 0],
      [1, 'proposer', 'A', 1],
      [1, 'proposer', 'B', 0],
      [2, 'aggregator', 'G', 0],
    ]);
    for (const c of run.calls) {
      expect(c.cached).toBe(false);
      expect(c.key).toMatch(/^[0-9a-f]{64}$/);
      expect(c.promptTokens).toBeGreaterThan(0);
      expect(c.costUsd).toBeGreaterThan(0);
      expect(c.endMs).toBeGreaterThanOrEqual(c.startMs);
    }
    expect(run.calls[3]!.startMs).toBeGreaterThanOrEqual(Math.max(...run.calls.slice(0, 3).map((c) => c.endMs)));
  });

  it('adds a system message when the conversation has none, and keeps multi-turn history', async () => {
    w.server.reset();
    const m = loadMixture('{"layers": 2, "proposers": {"A": 1, "B": 1}, "aggregator": "G"}', w.space);
    const messages: ChatMessage[] = [
      { role: 'user', content: 'turn one' },
      { role: 'assistant', content: 'reply one' },
      { role: 'user', content: 'turn two' },
    ];
    await runMixture(m, messages, { executor: w.executor, generation: GEN });
    const agg = w.server.calls.find((c) => c.body.model === 'G')!.body;
    expect(agg.messages[0].role).toBe('system');
    expect(agg.messages.slice(1)).toEqual(messages);
  });

  it('sends byte-identical requests for equal mixtures written in different key orders', async () => {
    const prompt: ChatMessage[] = [{ role: 'user', content: 'identical requests please' }];
    const m1 = loadMixture('{"layers": 3, "proposers": {"A": 2, "C": 1, "B": 1}, "aggregator": "G"}', w.space);
    const m2 = loadMixture('{"aggregator": "G", "proposers": {"B": 1, "C": 1, "A": 2}, "layers": 3}', w.space);
    const bodies = async (m: typeof m1) => {
      w.server.reset();
      const ex = await w.freshExecutor(); // cold cache: every request reaches the server
      await runMixture(m, prompt, { executor: ex, generation: GEN });
      return w.server.calls.map((c) => JSON.stringify(c.body)).sort();
    };
    const first = await bodies(m1);
    const second = await bodies(m2);
    expect(first).toHaveLength(9);
    expect(second).toEqual(first);
    // And on one shared cache, the second mixture is free.
    w.server.reset();
    const ex = await w.freshExecutor();
    await runMixture(m1, prompt, { executor: ex, generation: GEN });
    const before = w.server.count();
    const run = await runMixture(m2, prompt, { executor: ex, generation: GEN });
    expect(w.server.count()).toBe(before);
    expect(run.calls.every((c) => c.cached)).toBe(true);
    expect(runTotals(run.calls)).toMatchObject({ made: 0, cached: 9, costUsd: 0 });
  });

  it('{A: 2, B: 1} then {A: 3}: one new call for A (sample 2) plus the aggregator', async () => {
    w.server.reset();
    const prompt: ChatMessage[] = [{ role: 'user', content: 'sample reuse across mixtures' }];
    await runMixture(loadMixture('{"layers": 2, "proposers": {"A": 2, "B": 1}, "aggregator": "G"}', w.space), prompt, { executor: w.executor, generation: GEN });
    expect(w.server.count()).toBe(4);
    w.server.reset();
    const run = await runMixture(loadMixture('{"layers": 2, "proposers": {"A": 3}, "aggregator": "G"}', w.space), prompt, { executor: w.executor, generation: GEN });
    expect(w.server.count()).toBe(2);
    expect(w.server.count('A')).toBe(1);
    expect(w.server.calls.find((c) => c.body.model === 'A')!.body.seed).toBe(2);
    expect(w.server.count('G')).toBe(1);
    expect(run.calls.filter((c) => !c.cached).map((c) => [c.model, c.sample])).toEqual([
      ['A', 2],
      ['G', 0],
    ]);
  });

  it('a sample offset o runs copy i as sample o + i and the aggregator as sample o; offset 0 is the original mapping', async () => {
    w.server.reset();
    const prompt: ChatMessage[] = [{ role: 'user', content: 'replicates on fresh samples' }];
    const m = loadMixture('{"layers": 2, "proposers": {"A": 2, "B": 1}, "aggregator": "G"}', w.space);
    const base = await runMixture(m, prompt, { executor: w.executor, generation: GEN });
    const zero = await runMixture(m, prompt, { executor: w.executor, generation: GEN, sampleOffset: 0 });
    expect(zero.calls.every((c) => c.cached)).toBe(true);
    expect(zero.calls.map((c) => c.key)).toEqual(base.calls.map((c) => c.key));
    w.server.reset();
    const rep = await runMixture(m, prompt, { executor: w.executor, generation: GEN, sampleOffset: 3 });
    expect(rep.calls.map((c) => [c.layer, c.model, c.sample, c.cached])).toEqual([
      [1, 'A', 3, false],
      [1, 'A', 4, false],
      [1, 'B', 3, false],
      [2, 'G', 3, false],
    ]);
    expect(w.server.calls.filter((c) => c.body.model === 'A').map((c) => c.body.seed).sort()).toEqual([3, 4]);
    expect(rep.text).not.toBe(base.text);
    // The replicate is cached under its own keys.
    const again = await runMixture(m, prompt, { executor: w.executor, generation: GEN, sampleOffset: 3 });
    expect(again.calls.every((c) => c.cached)).toBe(true);
    await expect(runMixture(m, prompt, { executor: w.executor, generation: GEN, sampleOffset: -1 })).rejects.toThrow(RangeError);
  });

  it('MoA: 3 layers of 6 proposers, each later agent reading all 6 responses of the layer before', async () => {
    w.server.reset();
    const m = loadMixture('{"layers": 3, "proposers": {"A":1,"B":1,"C":1,"D":1,"E":1,"F":1}, "aggregator": "A"}', w.space);
    const run = await runMixture(m, [{ role: 'user', content: 'full MoA' }], { executor: w.executor, generation: GEN });
    expect(run.calls).toHaveLength(13);
    expect(run.calls.filter((c) => c.layer === 1)).toHaveLength(6);
    expect(run.calls.filter((c) => c.layer === 2)).toHaveLength(6);
    expect(run.calls.filter((c) => c.layer === 3).map((c) => [c.role, c.model])).toEqual([['aggregator', 'A']]);
    const withSys = w.server.calls.filter((c) => c.body.messages[0].role === 'system');
    expect(withSys).toHaveLength(7);
    for (const c of withSys) {
      expect(systemOf(c.body)).toContain('[Response 6]');
      expect(systemOf(c.body)).not.toContain('[Response 7]');
    }
    // The final aggregator reads layer 2's answers, not layer 1's.
    const final = withSys.find((c) => defaultAnswer(c.body) === run.text)!;
    for (const c of withSys.filter((c) => c !== final)) expect(systemOf(final.body)).toContain(defaultAnswer(c.body));
    const layer1 = w.server.calls.filter((c) => c.body.messages[0].role !== 'system');
    for (const c of layer1) expect(systemOf(final.body)).not.toContain(defaultAnswer(c.body));
  });

  it('MoA-Lite (2 layers) and a final aggregator different from the intermediate agents', async () => {
    w.server.reset();
    const lite = await runMixture(loadMixture('{"layers": 2, "proposers": {"A":1,"B":1,"C":1,"D":1,"E":1,"F":1}, "aggregator": "B"}', w.space), [{ role: 'user', content: 'lite' }], {
      executor: w.executor,
      generation: GEN,
    });
    expect(lite.calls.map((c) => c.layer)).toEqual([1, 1, 1, 1, 1, 1, 2]);
    w.server.reset();
    const gpt4o = await runMixture(loadMixture('{"layers": 3, "proposers": {"A":1,"B":1}, "aggregator": "G"}', w.space), [{ role: 'user', content: 'w/ G' }], {
      executor: w.executor,
      generation: GEN,
    });
    expect(gpt4o.calls.map((c) => `${c.layer}:${c.model}`)).toEqual(['1:A', '1:B', '2:A', '2:B', '3:G']);
    expect(w.server.count('G')).toBe(1);
  });

  it('Self-MoA: n samples of one model, distinct seeds, the same model aggregating', async () => {
    w.server.reset();
    const run = await runMixture(loadMixture('{"layers": 2, "proposers": {"C": 3}, "aggregator": "C"}', w.space), [{ role: 'user', content: 'self' }], {
      executor: w.executor,
      generation: GEN,
    });
    expect(run.calls.map((c) => [c.model, c.sample])).toEqual([
      ['C', 0],
      ['C', 1],
      ['C', 2],
      ['C', 0],
    ]);
    expect(w.server.calls.slice(0, 3).map((c) => c.body.seed).sort()).toEqual([0, 1, 2]);
    const agg = w.server.calls[3]!.body;
    expect(systemOf(agg)).toContain('[Response 3]');
  });

  it('a single model answers the user directly, with no injection', async () => {
    w.server.reset();
    const messages: ChatMessage[] = [
      { role: 'system', content: 'be terse' },
      { role: 'user', content: 'single' },
    ];
    const tokens: string[] = [];
    const run = await runMixture(singleModelMixture('D'), messages, { executor: w.executor, generation: GEN, onToken: (d) => tokens.push(d) });
    expect(w.server.count()).toBe(1);
    expect(w.server.calls[0]!.body.messages).toEqual(messages);
    expect(run.calls).toEqual([expect.objectContaining({ layer: 1, role: 'aggregator', model: 'D', sample: 0 })]);
    expect(tokens.join('')).toBe(run.text);
  });

  it('streams the final aggregator and honours finalGeneration for it alone', async () => {
    w.server.reset();
    const tokens: string[] = [];
    const m = loadMixture('{"layers": 2, "proposers": {"A": 1, "B": 1}, "aggregator": "G"}', w.space);
    const run = await runMixture(m, [{ role: 'user', content: 'stream me please now' }], {
      executor: w.executor,
      generation: GEN,
      finalGeneration: { temperature: 0.1, maxTokens: 77 },
      onToken: (d) => tokens.push(d),
    });
    expect(tokens.join('')).toBe(run.text);
    const agg = w.server.calls.find((c) => c.body.model === 'G')!.body;
    expect(agg.temperature).toBe(0.1);
    expect(agg.max_tokens ?? agg.max_completion_tokens).toBe(77);
    for (const c of w.server.calls.filter((c) => c.body.model !== 'G')) expect(c.body.temperature).toBe(0.7);
    // A cache hit still delivers the text to onToken.
    const again: string[] = [];
    await runMixture(m, [{ role: 'user', content: 'stream me please now' }], {
      executor: w.executor,
      generation: GEN,
      finalGeneration: { temperature: 0.1, maxTokens: 77 },
      onToken: (d) => again.push(d),
    });
    expect(again.join('')).toBe(run.text);
  });
});

describe('LLM-ranker and summarizer variants', () => {
  let w: World;
  // The ranker (G) answers with a scripted choice; the summarizer (S) with a fixed digest.
  let rankReply = '2';
  beforeAll(async () => {
    w = await startWorld((body) => {
      const sys = body.messages.find((m: any) => m.role === 'system')?.content ?? '';
      if (body.model === 'G' && sys.includes('number of the best response')) return { text: rankReply };
      if (body.model === 'S') return { text: `digest of ${(sys.match(/\[Response \d+\]/g) ?? []).length} responses (seed ${body.seed})` };
      return {};
    });
  });
  afterAll(async () => {
    await w.close();
  });
  const rankMix = () => parseMixtureObject({ layers: 2, proposers: { A: 1, B: 1, C: 1 }, aggregator: 'G', mode: 'rank' }, w.space);

  it('returns the chosen response verbatim', async () => {
    w.server.reset();
    rankReply = 'The best one is Response 2.';
    const tokens: string[] = [];
    const run = await runMixture(rankMix(), [{ role: 'user', content: 'rank these' }], { executor: w.executor, generation: GEN, onToken: (d) => tokens.push(d) });
    const b = w.server.calls.find((c) => c.body.model === 'B')!.body;
    expect(run.text).toBe(defaultAnswer(b));
    expect(tokens.join('')).toBe(run.text);
    const rank = run.calls.at(-1)!;
    expect(rank).toMatchObject({ role: 'aggregator', model: 'G', rankChoice: 2 });
    expect(rank.rankFallback).toBeUndefined();
    expect(systemOf(w.server.calls.find((c) => c.body.model === 'G')!.body)).toContain('[Response 3]');
  });

  it('falls back to response 1 when the choice cannot be parsed, and says so in the trace', async () => {
    w.server.reset();
    rankReply = 'They are all lovely.';
    const run = await runMixture(rankMix(), [{ role: 'user', content: 'rank these, unparseable' }], { executor: w.executor, generation: GEN });
    expect(run.text).toBe(defaultAnswer(w.server.calls.find((c) => c.body.model === 'A')!.body));
    expect(run.calls.at(-1)).toMatchObject({ rankChoice: 1, rankFallback: true });
  });

  it('condenses each proposer layer into one summary that the next layer reads as its single reference', async () => {
    w.server.reset();
    const m = parseMixtureObject({ layers: 3, proposers: { A: 1, B: 1, C: 1 }, summarizer: 'S', aggregator: 'G' }, w.space);
    const run = await runMixture(m, [{ role: 'user', content: 'summarize between layers' }], { executor: w.executor, generation: GEN });
    expect(run.calls.map((c) => `${c.layer}:${c.role}:${c.model}`)).toEqual([
      '1:proposer:A',
      '1:proposer:B',
      '1:proposer:C',
      '1:summarizer:S',
      '2:proposer:A',
      '2:proposer:B',
      '2:proposer:C',
      '2:summarizer:S',
      '3:aggregator:G',
    ]);
    const layer2 = w.server.calls.filter((c) => ['A', 'B', 'C'].includes(c.body.model) && c.body.messages[0].role === 'system');
    expect(layer2).toHaveLength(3);
    for (const c of layer2) {
      expect(systemOf(c.body)).toContain('[Response 1]\ndigest of 3 responses');
      expect(systemOf(c.body)).not.toContain('[Response 2]');
    }
    const agg = w.server.calls.find((c) => c.body.model === 'G')!.body;
    expect(systemOf(agg)).toContain('[Response 1]\ndigest of 3 responses');
    expect(systemOf(agg)).not.toContain('[Response 2]');
  });
});

describe('failures', () => {
  let w: World;
  let failing = new Set<string>();
  beforeAll(async () => {
    // 400 is not retried, so failures are immediate.
    w = await startWorld((body) => (failing.has(body.model) ? { status: 400 } : {}));
  });
  afterAll(async () => {
    await w.close();
  });
  const mix = () => loadMixture('{"layers": 2, "proposers": {"A": 1, "B": 1}, "aggregator": "G"}', w.space);

  it('a failed proposer is recorded and the layer goes on with the others', async () => {
    w.server.reset();
    failing = new Set(['B']);
    const run = await runMixture(mix(), [{ role: 'user', content: 'B fails' }], { executor: w.executor, generation: GEN });
    const b = run.calls.find((c) => c.model === 'B')!;
    expect(b.error).toMatch(/B/);
    expect(b.finishReason).toBe('error');
    const sys = systemOf(w.server.calls.find((c) => c.body.model === 'G')!.body);
    expect(sys).toContain('[Response 1]\n[A] answer');
    expect(sys).not.toContain('[Response 2]');
    expect(runTotals(run.calls).failed).toBe(1);
  });

  it('every proposer failing, or the aggregator failing, throws MixtureRunError with the partial trace', async () => {
    failing = new Set(['A', 'B']);
    const e1 = await runMixture(mix(), [{ role: 'user', content: 'all fail' }], { executor: w.executor, generation: GEN }).catch((e) => e);
    expect(e1).toBeInstanceOf(MixtureRunError);
    expect(e1.reason).toBe('all-proposers-failed');
    expect(e1.layer).toBe(1);
    expect(e1.calls).toHaveLength(2);
    failing = new Set(['G']);
    const e2 = await runMixture(mix(), [{ role: 'user', content: 'aggregator fails' }], { executor: w.executor, generation: GEN }).catch((e) => e);
    expect(e2).toBeInstanceOf(MixtureRunError);
    expect(e2.reason).toBe('aggregator-failed');
    expect(e2.layer).toBe(2);
    expect(e2.calls.map((c: any) => [c.model, !!c.error])).toEqual([
      ['A', false],
      ['B', false],
      ['G', true],
    ]);
    expect(e2.message).toMatch(/aggregator/);
  });

  it('a budget refusal stops the whole run with reason "budget" and the BudgetExceeded as cause', async () => {
    failing = new Set();
    const ex = await openExecutor({ space: w.space, dbPath: join(w.dir, 'budget.sqlite'), budgetUsd: 1e-9 });
    try {
      const e = await runMixture(mix(), [{ role: 'user', content: 'too expensive' }], { executor: ex, generation: GEN }).catch((e) => e);
      expect(e).toBeInstanceOf(MixtureRunError);
      expect(e.reason).toBe('budget');
      expect(e.cause).toBeInstanceOf(BudgetExceeded);
      expect(e.message).toMatch(/budget exceeded/);
      expect(e.calls.filter((c: any) => c.layer === 2)).toHaveLength(0);
    } finally {
      await ex.close();
    }
  });

  it('an abort signal stops the run with reason "aborted"', async () => {
    failing = new Set();
    const ac = new AbortController();
    ac.abort();
    const e = await runMixture(mix(), [{ role: 'user', content: 'aborted' }], { executor: w.executor, generation: GEN, signal: ac.signal }).catch((e) => e);
    expect(e).toBeInstanceOf(MixtureRunError);
    expect(e.reason).toBe('aborted');
  });
});
