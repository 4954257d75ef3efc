import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpace } from '../../src/config/index.js';
import { InputError } from '../../src/config/input-error.js';
import { openExecutor, type CachingExecutor } from '../../src/executor/index.js';
import {
  alpacaProbability,
  arenaGameScore,
  candidateShownFirst,
  combineGames,
  createJudge,
  loadJudgeTemplate,
  parseAlpacaLabel,
  parseArenaVerdict,
} from '../../src/eval/index.js';
import type { ValidationItem } from '../../src/eval/types.js';
import { startOpenAIServer, type FakeHandler, type FakeServer } from '../helpers/openai-server.js';
import { HAVE_SHARED, shared } from './_data.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-judge-'));

describe('protocol parsing', () => {
  it('reads the preference from the first token logprobs of m and M', () => {
    const lp = [{ token: 'M', logprob: Math.log(0.6), top: [{ token: 'M', logprob: Math.log(0.6) }, { token: 'm', logprob: Math.log(0.2) }, { token: 'The', logprob: -3 }] }];
    expect(alpacaProbability(lp, 'm')).toBeCloseTo(0.25, 12);
    expect(alpacaProbability(lp, 'M')).toBeCloseTo(0.75, 12);
    // A label missing from the top logprobs has probability 0; a first token with neither label → text fallback.
    expect(alpacaProbability([{ token: 'M', logprob: -0.01, top: [{ token: 'M', logprob: -0.01 }] }], 'm')).toBe(0);
    expect(alpacaProbability([{ token: 'The', logprob: -0.1, top: [{ token: 'The', logprob: -0.1 }] }], 'm')).toBeUndefined();
    expect(alpacaProbability(undefined, 'm')).toBeUndefined();
  });

  it('reads a label from text, case-sensitively', () => {
    expect(parseAlpacaLabel('m')).toBe('m');
    expect(parseAlpacaLabel(' "M"\n')).toBe('M');
    expect(parseAlpacaLabel('Model identifier: m')).toBe('m');
    expect(parseAlpacaLabel('Output M is more complete and accurate.\n\nM')).toBe('M');
    expect(parseAlpacaLabel('Both are fine')).toBeUndefined();
    expect(parseAlpacaLabel('maybe')).toBeUndefined();
  });

  it('takes the last [[X]] verdict and scores games 3/1 as Arena-Hard does', () => {
    expect(parseArenaVerdict('A is [[A>B]]... on reflection: [[B>>A]]')).toBe('B>>A');
    expect(parseArenaVerdict('My final verdict is tie: [[A=B]].')).toBe('A=B');
    expect(parseArenaVerdict('[[A<<B]]')).toBe('B>>A');
    expect(parseArenaVerdict('A is better')).toBeUndefined();
    expect(arenaGameScore('B>>A', 'B')).toEqual({ outcome: 1, weight: 3 });
    expect(arenaGameScore('A>B', 'B')).toEqual({ outcome: 0, weight: 1 });
    expect(arenaGameScore(undefined, 'A')).toEqual({ outcome: 0.5, weight: 1 });
    expect(combineGames([arenaGameScore('A=B', 'B'), arenaGameScore('B>>A', 'A')])).toBeCloseTo(0.125, 12);
    expect(combineGames([arenaGameScore('B>>A', 'B'), arenaGameScore('A>B', 'A')])).toBe(1);
  });

  it('randomizes the presentation order per prompt, seeded', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `p${i}`);
    const first = ids.filter((id) => candidateShownFirst(0, id)).length;
    expect(first).toBeGreaterThan(70);
    expect(first).toBeLessThan(130);
    expect(ids.map((id) => candidateShownFirst(0, id))).toEqual(ids.map((id) => candidateShownFirst(0, id)));
    expect(ids.map((id) => candidateShownFirst(1, id))).not.toEqual(ids.map((id) => candidateShownFirst(0, id)));
    // A replicate's judge sample keeps sample 0's order for sample 0 and draws it afresh otherwise.
    expect(ids.map((id) => candidateShownFirst(0, id, 0))).toEqual(ids.map((id) => candidateShownFirst(0, id)));
    expect(ids.map((id) => candidateShownFirst(0, id, 3))).not.toEqual(ids.map((id) => candidateShownFirst(0, id)));
  });
});

const CAND = 'CANDIDATE-ANSWER-TEXT';
const REF = 'REFERENCE-ANSWER-TEXT';
const item = (id: string, source: string): ValidationItem => ({ id, source, prompt: `question ${id}`, reference: REF });
const userText = (body: any) => body.messages.map((m: any) => m.content).join('\n');
/** Which label the candidate has in an AlpacaEval-protocol request. */
const candLabel = (body: any) => (userText(body).indexOf(CAND) < userText(body).indexOf(REF) ? 'm' : 'M');
/** Which assistant the candidate is in an Arena-Hard-protocol request. */
const candPos = (body: any) => (userText(body).indexOf(CAND) < userText(body).indexOf(REF) ? 'A' : 'B');

describe('judge against a loopback chat-completions server', () => {
  let server: FakeServer;
  let handler: FakeHandler = () => ({});
  let n = 0;
  const executors: CachingExecutor[] = [];
  beforeAll(async () => {
    server = await startOpenAIServer({ handler: (b, c, k) => handler(b, c, k) });
  });
  afterAll(async () => {
    for (const e of executors) await e.close();
    await server.close();
  });

  /** A fresh space + executor (private in-memory cache) for each scenario. */
  async function setup(judgeYaml = 'judge: { model: J }') {
    const space = parseSpace(
      `providers:\n  local: { baseURL: "${server.url}", keyless: true, maxRetries: 0 }\nmodels:\n  - { id: J, provider: local, price: { input: 1, output: 1 }, roles: [judge] }\n${judgeYaml}\n`,
      join(dir, `space-${n++}.yaml`),
    );
    const executor = await openExecutor({ space });
    executors.push(executor);
    server.reset();
    return { space, executor, get judge() {
      return createJudge({ space, executor });
    } };
  }

  it('AlpacaEval with logprobs: the candidate label probability, mapped back from the random order', async () => {
    const { judge } = await setup();
    handler = (body) => ({
      text: 'M',
      logprobs: [{ token: 'M', logprob: Math.log(0.7), top_logprobs: [{ token: 'M', logprob: Math.log(0.7) }, { token: 'm', logprob: Math.log(0.3) }] }],
    });
    const seen = new Set<string>();
    for (const id of ['a1', 'a2', 'a3', 'a4', 'a5', 'a6']) {
      const v = await judge.judge(item(id, 'alpaca_eval'), CAND);
      const body = server.calls.at(-1)!.body;
      expect(body).toMatchObject({ logprobs: true, top_logprobs: 5, temperature: 0 });
      expect(body.max_tokens).toBeLessThanOrEqual(5);
      const label = candLabel(body);
      seen.add(label);
      expect(label).toBe(candidateShownFirst(0, id) ? 'm' : 'M');
      expect(v.preference).toBeCloseTo(label === 'M' ? 0.7 : 0.3, 9);
      expect(v).toMatchObject({ protocol: 'alpaca_eval', via: 'logprobs', unparsed: 0, retries: 0 });
    }
    expect(seen.size).toBe(2);
    expect(server.count()).toBe(6);
  });

  it('AlpacaEval without logprobs: 1 or 0 from the text', async () => {
    const { judge } = await setup();
    handler = (body) => ({ text: candLabel(body) });
    const v = await judge.judge(item('t1', 'alpaca_eval'), CAND);
    expect(v).toMatchObject({ preference: 1, via: 'text' });
    handler = (body) => ({ text: candLabel(body) === 'm' ? 'M' : 'm' });
    expect((await judge.judge(item('t2', 'alpaca_eval'), CAND)).preference).toBe(0);
  });

  it('an unparseable answer is retried once with another sample, then scored 0.5 and counted', async () => {
    const { judge, executor } = await setup();
    handler = () => ({ text: 'Both outputs have merit.' });
    const v = await judge.judge(item('u1', 'alpaca_eval'), CAND);
    expect(v).toMatchObject({ preference: 0.5, unparsed: 1, retries: 1, via: 'unparsed' });
    expect(server.count()).toBe(2);
    expect(server.calls.map((c) => c.body.seed)).toEqual([0, 1]);
    // Retry succeeds: the second sample's answer is used.
    handler = (body) => (body.seed === 1 ? { text: candLabel(body) } : { text: '???' });
    expect(await judge.judge(item('u2', 'alpaca_eval'), CAND)).toMatchObject({ preference: 1, unparsed: 0, retries: 1 });
    // Judging again is served from the cache: no new calls, same verdict.
    const before = server.count();
    expect(await judge.judge(item('u1', 'alpaca_eval'), CAND)).toMatchObject({ preference: 0.5, unparsed: 1 });
    expect(server.count()).toBe(before);
    expect(executor.spend().byAccount.judge).toBeGreaterThan(0);
    expect(executor.spend().byAccount.mixture ?? 0).toBe(0);
  });

  it('Arena-Hard: two games with positions swapped, strong verdicts weigh 3', async () => {
    const { judge } = await setup();
    // The candidate wins clearly as B and slightly as A.
    handler = (body) => ({ text: `Assessment... Final verdict: ${candPos(body) === 'B' ? '[[B>>A]]' : '[[A>B]]'}` });
    const v = await judge.judge(item('h1', 'arena_hard'), CAND);
    expect(v).toMatchObject({ protocol: 'arena_hard', preference: 1, unparsed: 0, via: 'verdicts' });
    expect(server.calls.map((c) => candPos(c.body)).sort()).toEqual(['A', 'B']);
    expect(server.calls[0]!.body.logprobs).toBeFalsy();
    // Tie in game 1, reference wins clearly in game 2: (1·0.5 + 3·0) / 4.
    handler = (body) => ({ text: candPos(body) === 'B' ? 'Even. [[A=B]]' : 'B is far better [[B>>A]]' });
    expect((await judge.judge(item('h2', 'arena_hard'), CAND)).preference).toBeCloseTo(0.125, 12);
  });

  it('Arena-Hard: a game still unparseable after its retry is a tie of weight 1, counted', async () => {
    const { judge } = await setup();
    handler = (body) => (candPos(body) === 'B' ? { text: 'no verdict here' } : { text: '[[A>>B]]' });
    const v = await judge.judge(item('h3', 'arena_hard'), CAND);
    // Game 1 unparsed: tie weight 1; game 2: candidate (A) wins strongly, weight 3 → (0.5 + 3) / 4.
    expect(v).toMatchObject({ preference: 0.875, unparsed: 1, retries: 1 });
    expect(server.count()).toBe(3);
  });

  it('the criteria-selection step runs once per prompt and its list reaches both games', async () => {
    const { judge } = await setup('judge: { model: J, criteria: true }');
    handler = (body) => {
      const t = userText(body);
      if (t.includes('List the criteria')) return { text: '- CRITERION-X: correct units' };
      return { text: candPos(body) === 'B' ? '[[B>A]]' : '[[A>B]]' };
    };
    const v = await judge.judge(item('c1', 'arena_hard'), CAND);
    expect(v.preference).toBe(1);
    expect(server.count()).toBe(3);
    expect(userText(server.calls[0]!.body)).toContain('question c1');
    for (const c of server.calls.slice(1)) expect(c.body.messages.at(-1).content).toMatch(/weigh these criteria in particular:\n- CRITERION-X: correct units$/);
    expect(v.calls).toHaveLength(3);
  });

  it('a missing judge is an InputError naming judge in the space file', async () => {
    const { space, executor } = await setup('');
    expect(() => createJudge({ space, executor })).toThrow(InputError);
    expect(() => createJudge({ space, executor })).toThrow(/space-\d+\.yaml \(judge\): no judge/);
  });

  it.skipIf(!HAVE_SHARED)('the official AlpacaEval and Arena-Hard template files load and drive the judge', async () => {
    const ae = loadJudgeTemplate(shared('alpaca_eval/judge_prompt_alpaca_eval_clf.txt'), 'alpaca_eval');
    expect(ae.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(ae.messages[1]!.content).toContain('"""{instruction}"""');
    const ah = loadJudgeTemplate(shared('arena-hard-v0.1/legacy_format_2024/judge_config.yaml'), 'arena_hard');
    expect(ah.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(ah.messages[0]!.content).toMatch(/^Please act as an impartial judge/);
    expect(ah.messages[1]!.content).toMatch(/^<\|User Prompt\|>\n\{question_1\}/);
    const { judge } = await setup(
      `judge:\n  model: J\n  templates:\n    alpaca_eval: ${JSON.stringify(shared('alpaca_eval/judge_prompt_alpaca_eval_clf.txt'))}\n    arena_hard: ${JSON.stringify(shared('arena-hard-v0.1/legacy_format_2024/judge_config.yaml'))}`,
    );
    handler = (body) => ({ text: userText(body).includes('[[A>>B]]') ? `[[${candPos(body)}>>${candPos(body) === 'A' ? 'B' : 'A'}]]` : candLabel(body) });
    expect((await judge.judge(item('o1', 'alpaca_eval'), CAND)).preference).toBe(1);
    const sent = server.calls[0]!.body.messages;
    expect(sent[0].content).toMatch(/^You are a highly efficient assistant/);
    expect(sent[1].content).toContain(`"instruction": """question o1"""`);
    expect((await judge.judge(item('o2', 'arena_hard'), CAND)).preference).toBe(1);
    expect(server.calls[1]!.body.messages[1].content).toContain("<|The Start of Assistant A's Answer|>");
  });

  it('rejects a template file without the protocol placeholders', () => {
    const f = join(dir, 'bad.txt');
    writeFileSync(f, 'Compare {output_1} and {output_2}.');
    expect(() => loadJudgeTemplate(f, 'alpaca_eval')).toThrow(/bad\.txt \(judge\.templates\.alpaca_eval\): template lacks the \{instruction\} placeholder/);
  });
});

describe.skipIf(!HAVE_SHARED)('logprob parsing on real GPT-4 Turbo judge completions', () => {
  it("gives each AlpacaEval annotation's preference, up to the hidden presentation order", async () => {
    const { readFileSync } = await import('node:fs');
    type Raw = { raw_completion: { logprobs?: { content: Array<{ token: string; logprob: number; top_logprobs: Array<{ token: string; logprob: number }> }> } } | null; preference: number };
    const rows = JSON.parse(readFileSync(shared('alpaca_eval/proxy_annotations/claude-2.json'), 'utf8')) as Raw[];
    let asShown = 0;
    let swapped = 0;
    for (const r of rows) {
      const c = r.raw_completion?.logprobs?.content;
      if (!c) continue;
      const lp = c.map((t) => ({ token: t.token, logprob: t.logprob, top: t.top_logprobs.map(({ token, logprob }) => ({ token, logprob })) }));
      const pM = alpacaProbability(lp, 'M')!;
      const want = r.preference - 1;
      if (Math.abs(pM - want) < 1e-4) asShown++;
      else if (Math.abs(1 - pM - want) < 1e-4) swapped++;
    }
    // AlpacaEval randomizes the order too, so about half the rows are swapped; every row must be one or the other.
    expect(asShown + swapped).toBe(rows.filter((r) => r.raw_completion?.logprobs).length);
    expect(Math.min(asShown, swapped)).toBeGreaterThan(300);
  });
});
