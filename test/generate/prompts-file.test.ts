import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPrompts, promptText } from '../../src/generate/index.js';
import { errorOf } from '../helpers/input-error.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-prompts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('loadPrompts', () => {
  it('reads {"prompt"}, {"prompt", "system"} and {"messages"} lines; skips blank lines and repeated conversations', () => {
    const f = file(
      'ok.jsonl',
      [
        '{"prompt": "Why is the sea salty?"}',
        '',
        '{"prompt": "Write a haiku.", "system": "You are terse.", "id": 7}',
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Name a prime."}], "id": "conv-1"}',
        '{"prompt": "Why is the sea salty?"}',
      ].join('\n'),
    );
    const p = loadPrompts(f);
    expect(p.prompts.map((x) => [x.line, x.plain])).toEqual([
      [1, true],
      [3, false],
      [4, false],
    ]);
    expect(p.duplicates).toBe(1);
    expect(p.prompts[0]!.id).toMatch(/^p-[0-9a-f]{16}$/);
    expect(p.prompts[1]!.id).toBe('7');
    expect(p.prompts[1]!.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Write a haiku.' },
    ]);
    expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(promptText(p.prompts[0]!.messages)).toBe('Why is the sea salty?');
    expect(promptText(p.prompts[2]!.messages)).toContain('[assistant]\nHello!');
  });

  it('names file:line and the field of every bad line', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"prompt": "a"}\n{"prompt": "b"', /bad\.jsonl:2: malformed JSON/],
      ['["a"]', /bad\.jsonl:1: each line must be a JSON object/],
      ['{"promt": "a"}', /bad\.jsonl:1 \(promt\): unknown field "promt"/],
      ['{"prompt": "a", "messages": []}', /bad\.jsonl:1: give exactly one of "prompt"/],
      ['{"prompt": "  "}', /bad\.jsonl:1 \(prompt\): must be a non-empty string/],
      ['{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}', /\(messages\[1\]\.role\): the last message must be the user's/],
      ['{"messages": [{"role": "robot", "content": "a"}]}', /\(messages\[0\]\.role\): must be "system", "user" or "assistant"/],
      ['{"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "b"}, {"role": "user", "content": "c"}]}', /a system message may only come first/],
      ['{"prompt": "a", "id": "x"}\n{"prompt": "b", "id": "x"}', /bad\.jsonl:2 \(id\): duplicate id "x" \(first on line 1\)/],
      ['\n\n', /bad\.jsonl \(--prompts\): no prompts in the file/],
    ];
    for (const [text, re] of cases) expect(errorOf(() => loadPrompts(file('bad.jsonl', text))).message).toMatch(re);
    expect(errorOf(() => loadPrompts(join(dir, 'missing.jsonl'))).message).toMatch(/missing\.jsonl \(--prompts\): prompts file not found/);
  });
});
