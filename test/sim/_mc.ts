// Text-level Monte-Carlo: runs mixtures through the in-process sim provider with a tiny engine and judges
// written to the protocols of docs/architecture.md, so tests can compare it with the analytic truth.
import type { Mixture } from '../../src/config/mixture.js';
import type { SearchSpace } from '../../src/config/space.js';
import { findModel } from '../../src/config/space.js';
import type { ValidationItem } from '../../src/eval/types.js';
import type { ChatProvider } from '../../src/providers/types.js';

const upstream = (space: SearchSpace, id: string) => {
  const m = findModel(space, id)!;
  return m.upstream ?? m.id;
};

/** Numbered references in the system message, the user's prompt as the user message (the engine's shape). */
export function aggregatorMessages(prompt: string, refs: string[]) {
  const list = refs.map((r, i) => `(${i + 1}) ${r.trim()}`).join('\n\n');
  return [
    { role: 'system' as const, content: `Synthesize these ${refs.length} responses into a single, high-quality answer.\n\n${list}` },
    { role: 'user' as const, content: prompt },
  ];
}

export async function runMixture(p: ChatProvider, space: SearchSpace, mix: Mixture, prompt: string, temperature: number, rep: number): Promise<string> {
  let refs: string[] = [];
  for (const layer of mix.proposerLayers) {
    const next: string[] = [];
    for (const [id, n] of Object.entries(layer)) {
      for (let s = 0; s < n; s++) {
        const messages = refs.length ? aggregatorMessages(prompt, refs) : [{ role: 'user' as const, content: prompt }];
        // `rep` perturbs the request (as another run would) so repeated runs are independent draws.
        const r = await p.complete({ model: upstream(space, id), messages, temperature, seed: s + 1000 * rep });
        next.push(r.text);
      }
    }
    refs = next;
  }
  const messages = refs.length ? aggregatorMessages(prompt, refs) : [{ role: 'user' as const, content: prompt }];
  return (await p.complete({ model: upstream(space, mix.aggregator), messages, temperature, seed: 1000 * rep })).text;
}

export function alpacaJudgePrompt(instruction: string, first: string, second: string): string {
  return `Compare two outputs for the instruction below and name the better one.\n\nInstruction: ${instruction}\n\nOutput "m":\n${first}\n\nOutput "M":\n${second}\n\nAnswer with the identifier of the better output only: m or M.`;
}

export function arenaJudgeMessages(question: string, a: string, b: string) {
  return [
    { role: 'system' as const, content: 'Judge the two answers. End with one verdict: [[A>>B]], [[A>B]], [[A=B]], [[B>A]] or [[B>>A]].' },
    { role: 'user' as const, content: `<|User Prompt|>\n${question}\n\n<|The Start of Assistant A's Answer|>\n${a}\n<|The End of Assistant A's Answer|>\n\n<|The Start of Assistant B's Answer|>\n${b}\n<|The End of Assistant B's Answer|>` },
  ];
}

const OUT: Record<string, [number, number]> = { 'A>>B': [0, 3], 'A>B': [0, 1], 'A=B': [0.5, 1], 'B>A': [1, 1], 'B>>A': [1, 3] };

/** Preference for the candidate by the item's protocol; AlpacaEval averages both orders (as the truth does). */
export async function judgePreference(p: ChatProvider, judge: string, item: ValidationItem, cand: string): Promise<number> {
  if (item.source === 'alpaca_eval') {
    let s = 0;
    for (const candSecond of [true, false]) {
      const [first, second] = candSecond ? [item.reference, cand] : [cand, item.reference];
      const r = await p.complete({ model: judge, messages: [{ role: 'user', content: alpacaJudgePrompt(item.prompt, first, second) }], temperature: 0, maxTokens: 2, logprobs: true, topLogprobs: 5 });
      const top = r.logprobs![0]!.top!;
      const pm = Math.exp(top.find((t) => t.token === 'm')!.logprob);
      const pM = Math.exp(top.find((t) => t.token === 'M')!.logprob);
      s += (candSecond ? pM : pm) / (pm + pM);
    }
    return s / 2;
  }
  let num = 0;
  let den = 0;
  for (const candB of [true, false]) {
    const [a, b] = candB ? [item.reference, cand] : [cand, item.reference];
    const r = await p.complete({ model: judge, messages: arenaJudgeMessages(item.prompt, a, b), temperature: 0 });
    const v = /\[\[(A>>B|A>B|A=B|B>A|B>>A)\]\]/.exec(r.text)![1]!;
    const [outB, w] = OUT[v]!;
    num += w * (candB ? outB : 1 - outB);
    den += w;
  }
  return num / den;
}

/** Mean preference per item over `reps` independent runs. */
export async function monteCarlo(p: ChatProvider, space: SearchSpace, mix: Mixture, items: ValidationItem[], reps: number): Promise<number[]> {
  const judge = upstream(space, space.judge!.model!);
  const out: number[] = [];
  for (const item of items) {
    let s = 0;
    for (let r = 0; r < reps; r++) s += await judgePreference(p, judge, item, await runMixture(p, space, mix, item.prompt, space.generation.temperature, r));
    out.push(s / reps);
  }
  return out;
}
