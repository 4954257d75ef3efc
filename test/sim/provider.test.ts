import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSimProvider, simComplete } from '../../src/sim/index.js';
import { ProviderError } from '../../src/providers/errors.js';
import { findTokens } from '../../src/sim/_codec.js';
import { countSentences } from '../../src/sim/_text.js';
import { ROOT } from '../helpers/cli.js';
import { aggregatorMessages, alpacaJudgePrompt, arenaJudgeMessages } from './_mc.js';

const Q = 'Explain why the sky looks blue during the day but red at sunset.';
const P = createSimProvider({});
const ask = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  P.complete({ model, messages: [{ role: 'user', content }], temperature: 0.7, ...extra });
const claims = (text: string) =>
  findTokens(text)
    .filter((t) => t.item < 60)
    .map((t) => t.item)
    .sort((a, b) => a - b);

describe('sim provider: answers', () => {
  it('answers with real text and usage (≈ 4 characters per token)', async () => {
    const r = await ask('sim-qwen1.5-110b-chat', Q, { seed: 0 });
    expect(r.text.length).toBeGreaterThan(300);
    expect(r.text).toMatch(/^[A-Z].*\.$/s);
    expect(r.finishReason).toBe('stop');
    expect(r.usage!.completionTokens).toBe(Math.ceil(r.text.length / 4));
    expect(r.usage!.promptTokens).toBe(Math.ceil(Q.length / 4) + 4);
  });

  it('is deterministic: same world, same request → byte-identical text', async () => {
    const a = await ask('sim-llama-3-70b-instruct', Q, { seed: 3 });
    const b = await createSimProvider({ worldSeed: 0 }).complete({ model: 'sim-llama-3-70b-instruct', messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: 3 });
    expect(b.text).toBe(a.text);
    const other = await createSimProvider({ worldSeed: 7 }).complete({ model: 'sim-llama-3-70b-instruct', messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: 3 });
    expect(other.text).not.toBe(a.text);
  });

  it('temperature 0 gives one answer for any seed; temperature > 0 varies by seed', async () => {
    const t0 = await Promise.all([0, 1, 2].map((seed) => ask('sim-dbrx-instruct', Q, { temperature: 0, seed })));
    expect(new Set(t0.map((r) => r.text)).size).toBe(1);
    const hot = await Promise.all([0, 1, 2, 3].map((seed) => ask('sim-dbrx-instruct', Q, { seed })));
    expect(new Set(hot.map((r) => r.text)).size).toBe(4);
  });

  it('samples of one model share its knowledge: they agree more with each other than with another model', async () => {
    const prompts = readFileSync(resolve(ROOT, 'validation-sets/sim-100.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .slice(0, 30)
      .map((l: string) => JSON.parse(l).prompt as string);
    let same = 0;
    let cross = 0;
    const jac = (a: number[], b: number[]) => {
      const A = new Set(a);
      const inter = b.filter((x) => A.has(x)).length;
      return inter / Math.max(1, new Set([...a, ...b]).size);
    };
    for (const p of prompts) {
      const a0 = claims((await ask('sim-qwen1.5-72b-chat', p, { seed: 0 })).text);
      const a1 = claims((await ask('sim-qwen1.5-72b-chat', p, { seed: 1 })).text);
      const b0 = claims((await ask('sim-mixtral-8x22b-instruct', p, { seed: 0 })).text);
      same += jac(a0, a1);
      cross += jac(a0, b0);
    }
    expect(same / prompts.length).toBeGreaterThan(cross / prompts.length + 0.1);
  });

  it('streams through onToken: the deltas join to the text', async () => {
    const deltas: string[] = [];
    const r = await P.complete({ model: 'sim-wizardlm-2-8x22b', messages: [{ role: 'user', content: Q }], temperature: 0.7, seed: 1 }, { onToken: (d) => deltas.push(d) });
    expect(r.text).toBe((await ask('sim-wizardlm-2-8x22b', Q, { seed: 1 })).text);
    expect(deltas.length).toBeGreaterThan(20);
    expect(deltas.join('')).toBe(r.text);
  });

  it('truncates at maxTokens with finishReason length', async () => {
    const r = await ask('sim-qwen1.5-110b-chat', Q, { maxTokens: 10 });
    expect(r.finishReason).toBe('length');
    expect(r.usage!.completionTokens).toBeLessThanOrEqual(10);
  });

  it('rejects an unknown model like a 404, not retryable', async () => {
    const e = await ask('gpt-9', Q).catch((x) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.status).toBe(404);
    expect(e.retryable).toBe(false);
  });

  it('fails a deterministic fraction of calls with retryable 429/500 errors', async () => {
    const run = async () => {
      const p = createSimProvider({ failRate: 0.3 });
      const out: string[] = [];
      for (let i = 0; i < 60; i++) {
        try {
          await p.complete({ model: 'sim-dbrx-instruct', messages: [{ role: 'user', content: 'hi' }] });
          out.push('ok');
        } catch (e) {
          expect(e).toBeInstanceOf(ProviderError);
          expect((e as ProviderError).retryable).toBe(true);
          out.push(String((e as ProviderError).status));
        }
      }
      return out;
    };
    const a = await run();
    expect(await run()).toEqual(a);
    const fails = a.filter((x) => x !== 'ok').length;
    expect(fails).toBeGreaterThan(8);
    expect(fails).toBeLessThan(30);
    expect(a).toContain('429');
    expect(a).toContain('500');
  });

  it('honours an abort signal during simulated latency', async () => {
    const p = createSimProvider({ latencyMs: 10_000 });
    const ac = new AbortController();
    const pending = p.complete({ model: 'sim-dbrx-instruct', messages: [{ role: 'user', content: Q }] }, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toBeTruthy();
  });
});

describe('sim provider: aggregation', () => {
  const refsFor = async (p: string) =>
    Promise.all(['sim-qwen1.5-110b-chat', 'sim-wizardlm-2-8x22b', 'sim-llama-3-70b-instruct'].map(async (m) => (await ask(m, p, { seed: 0 })).text));

  it('recognizes the references whatever the template, and writes a longer answer', async () => {
    const refs = await refsFor(Q);
    const numbered = await P.complete({ model: 'sim-qwen1.5-110b-chat', messages: aggregatorMessages(Q, refs), temperature: 0 });
    const xml = await P.complete({
      model: 'sim-qwen1.5-110b-chat',
      messages: [
        { role: 'system', content: `Merge these answers.\n${refs.map((r) => `<answer>\n${r}\n</answer>`).join('\n')}` },
        { role: 'user', content: Q },
      ],
      temperature: 0,
    });
    // At temperature 0 the claims depend only on what was recognized, not on the wrapping.
    expect(claims(xml.text)).toEqual(claims(numbered.text));
    const single = await ask('sim-qwen1.5-110b-chat', Q, { temperature: 0 });
    expect(countSentences(numbered.text)).toBeGreaterThan(countSentences(single.text));
    // Points stated by several references are kept.
    const union = new Set(refs.flatMap((r) => claims(r).filter((i) => i < 40)));
    const kept = claims(numbered.text).filter((i) => union.has(i));
    expect(kept.length).toBeGreaterThan(0);
  });

  it('answers a ranking request with a response number and a summarizing request with a digest', async () => {
    const refs = await refsFor(Q);
    const list = refs.map((r, i) => `[Response ${i + 1}]\n${r}`).join('\n\n');
    const rank = await P.complete({ model: 'sim-qwen1.5-110b-chat', messages: [{ role: 'system', content: `Reply with the number of the best response only.\n\n${list}` }, { role: 'user', content: Q }], temperature: 0 });
    expect(rank.text).toMatch(/^[123]$/);
    const sum = await P.complete({ model: 'sim-qwen1.5-72b-chat', messages: [{ role: 'system', content: `Write one concise digest of these responses.\n\n${list}` }, { role: 'user', content: Q }], temperature: 0.7 });
    const union = new Set(refs.flatMap(claims));
    expect(new Set(claims(sum.text))).toEqual(union);
    expect(countSentences(sum.text)).toBeLessThan(refs.map(countSentences).reduce((a, b) => a + b, 0));
  });
});

describe('sim judge', () => {
  const J = 'sim-gpt-4o-mini-2024-07-18';
  const weakStrong = async () => {
    const weak = (await ask('sim-dbrx-instruct', Q, { temperature: 0 })).text;
    const strong = (await P.complete({ model: 'sim-qwen1.5-110b-chat', messages: aggregatorMessages(Q, await Promise.all(['sim-wizardlm-2-8x22b', 'sim-llama-3-70b-instruct', 'sim-qwen1.5-110b-chat'].map(async (m) => (await ask(m, Q, { seed: 0 })).text))), temperature: 0 })).text;
    return { weak, strong };
  };

  it('AlpacaEval protocol: one token m or M with logprobs for both', async () => {
    const { weak, strong } = await weakStrong();
    const r = await P.complete({ model: J, messages: [{ role: 'user', content: alpacaJudgePrompt(Q, weak, strong) }], temperature: 0, maxTokens: 2, logprobs: true, topLogprobs: 5 });
    expect(r.text).toMatch(/^[mM]$/);
    const top = r.logprobs![0]!.top!;
    expect(top.map((t) => t.token)).toEqual(expect.arrayContaining(['m', 'M']));
    expect(top).toHaveLength(5);
    const pm = Math.exp(top.find((t) => t.token === 'm')!.logprob);
    const pM = Math.exp(top.find((t) => t.token === 'M')!.logprob);
    expect(pm + pM).toBeCloseTo(1, 4);
    expect(r.text).toBe(pM > pm ? 'M' : 'm');
  });

  it('follows the official AlpacaEval template file', async () => {
    const tpl = readFileSync(resolve(ROOT, '../shared/data/alpaca_eval/judge_prompt_alpaca_eval_clf.txt'), 'utf8');
    const { weak, strong } = await weakStrong();
    const fill = (a: string, b: string) => tpl.replace('{instruction}', Q).replace('{output_1}', a).replace('{output_2}', b);
    const prob = async (a: string, b: string) => {
      const r = await P.complete({ model: J, messages: [{ role: 'user', content: fill(a, b) }], temperature: 0, maxTokens: 1, logprobs: true, topLogprobs: 5 });
      const top = r.logprobs![0]!.top!;
      return Math.exp(top.find((t) => t.token === 'M')!.logprob);
    };
    // The stronger answer is preferred in both positions.
    expect(await prob(weak, strong)).toBeGreaterThan(0.5);
    expect(await prob(strong, weak)).toBeLessThan(0.5);
  });

  it('Arena-Hard protocol with the official system prompt: an assessment, then exactly one verdict', async () => {
    const cfg = readFileSync(resolve(ROOT, '../shared/data/arena-hard-v0.1/legacy_format_2024/judge_config.yaml'), 'utf8');
    const { parse } = await import('yaml');
    const { system_prompt, prompt_template } = parse(cfg) as { system_prompt: string; prompt_template: string[] };
    const { weak, strong } = await weakStrong();
    const game = async (a: string, b: string) => {
      const user = prompt_template[0]!.replace('{question_1}', Q).replace('{answer_1}', a).replace('{answer_2}', b);
      const r = await P.complete({ model: J, messages: [{ role: 'system', content: system_prompt }, { role: 'user', content: user }], temperature: 0 });
      const verdicts = r.text.match(/\[\[(A>>B|A>B|A=B|B>A|B>>A)\]\]/g) ?? [];
      expect(verdicts).toHaveLength(1);
      expect(r.text.length).toBeGreaterThan(60);
      return verdicts[0]!;
    };
    expect(['[[B>A]]', '[[B>>A]]']).toContain(await game(weak, strong));
    expect(['[[A>B]]', '[[A>>B]]']).toContain(await game(strong, weak));
    // Our own template wording also works.
    const own = await P.complete({ model: J, messages: arenaJudgeMessages(Q, weak, strong), temperature: 0 });
    expect(own.text).toMatch(/\[\[B>>?A\]\]$/);
  });

  it('as MoA judge, weighs other judges\' verdicts given as references', async () => {
    const { weak, strong } = await weakStrong();
    // A close call: the same answer twice, so only the peers' verdicts can move the decision.
    const user = arenaJudgeMessages(Q, weak, weak)[1]!.content + '\n\nEnd with one verdict: [[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]].';
    const peers = await Promise.all(['sim-qwen1.5-110b-chat', 'sim-llama-3-70b-instruct', 'sim-wizardlm-2-8x22b'].map(async (m) => (await P.complete({ model: m, messages: arenaJudgeMessages(Q, weak, strong), temperature: 0 })).text));
    const withPeers = await P.complete({ model: J, messages: [{ role: 'system', content: `Evaluations from other judges:\n\n${peers.map((p, i) => `[Response ${i + 1}]\n${p}`).join('\n\n')}` }, { role: 'user', content: user }], temperature: 0 });
    expect(withPeers.text).toMatch(/\[\[B>>?A\]\]$/);
  });

  it('a question that merely quotes "m" and "M" is answered, not judged', async () => {
    const r = await ask('sim-dbrx-instruct', 'What is the difference between "m" and "M" in SI prefixes?');
    expect(r.text.length).toBeGreaterThan(100);
  });

  it('works through simComplete directly (the HTTP server shares it)', () => {
    const c = simComplete({ model: J, messages: [{ role: 'user', content: alpacaJudgePrompt(Q, 'A short answer.', 'Another short answer.') }], temperature: 0, logprobs: true, topLogprobs: 2 });
    expect(c.text).toMatch(/^[mM]$/);
    expect(c.logprobs![0]!.top).toHaveLength(2);
  });
});
