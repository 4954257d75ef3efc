// Every bad-input message is one line that names the file, the line and the field, in words a user can act on.
// In-process (no subprocess): the CLI prints these messages as they are, prefixed with `moa-search: `.
import { describe, expect, it } from 'vitest';
import { InputError, loadMixture, parseSpace } from '../../src/config/index.js';
import { resolveJudge } from '../../src/eval/index.js';

const SPACE = `providers:
  local: { baseURL: "http://127.0.0.1:1/v1", keyless: true }
models:
  - { id: A, provider: local, price: { input: 1, output: 2 }, maxCopies: 2 }
`;
const space = parseSpace(SPACE, 'space.yaml');

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const msg = (e as InputError).message;
    expect(msg.split('\n')).toHaveLength(1);
    return msg;
  }
  throw new Error('expected an InputError');
}

describe('bad-input messages', () => {
  it('a missing field says "required" and what it should be, not a type error about undefined', () => {
    expect(messageOf(() => loadMixture('{"layers": 2,\n "proposers": {"A": 1}}', space))).toBe('--mixture:1 (aggregator): required (string)');
    expect(messageOf(() => loadMixture('{"aggregator": "A"}', space))).toBe('--mixture:1 (layers): required (number or array)');
    expect(messageOf(() => parseSpace(SPACE.replace(', price: { input: 1, output: 2 }', ''), 'nop.yaml'))).toBe('nop.yaml:4 (models[0].price): required (object)');
  });

  it('a value of the wrong kind for a union names the forms it may take', () => {
    expect(messageOf(() => loadMixture('{"layers": "two", "aggregator": "A"}', space))).toBe('--mixture:1 (layers): expected number or array');
    expect(messageOf(() => parseSpace(SPACE + 'judge: { model: A, mixture: 3 }\n', 'j.yaml'))).toBe('j.yaml:5 (judge.mixture): expected string or object');
  });

  it('a problem inside the one form that fits is reported at its own field and line', () => {
    const text = '{\n  "layers": [\n    {"A": 1},\n    {"A": 0}\n  ],\n  "aggregator": "A"\n}';
    expect(messageOf(() => loadMixture(text, space))).toBe('--mixture:4 (layers[1].A): count must be at least 1');
    expect(messageOf(() => loadMixture('{"layers": [{"A": "x"}], "aggregator": "A"}', space))).toMatch(/^--mixture:1 \(layers\[0\]\.A\): .*expected number/);
  });

  it('other zod wording is kept, with file, line and field', () => {
    expect(messageOf(() => parseSpace(SPACE.replace('input: 1', 'input: -1'), 'neg.yaml'))).toMatch(/^neg\.yaml:4 \(models\[0\]\.price\.input\): .*>=0/);
    expect(messageOf(() => loadMixture('{"layers": 9, "aggregator": "A"}', space))).toMatch(/^--mixture:1 \(layers\): .*<=8/);
  });

  it('a judge mixture in the space is blamed on judge.mixture of the space file, not on a --mixture flag', () => {
    const withJudge = (mixture: string) => parseSpace(`${SPACE}judge: { mixture: ${JSON.stringify(mixture)} }\n`, 'judged.yaml');
    expect(messageOf(() => resolveJudge(withJudge('no-such-judge.json')))).toMatch(/^judged\.yaml \(judge\.mixture\): judge mixture file not found: .*no-such-judge\.json$/);
    expect(messageOf(() => resolveJudge(withJudge('{"layers": 1, "aggregator": "Z"}')))).toMatch(/^judged\.yaml \(judge\.mixture\):1 \(aggregator\): unknown model "Z"/);
    expect(messageOf(() => resolveJudge(withJudge('{layers: 1')))).toMatch(/^judged\.yaml \(judge\.mixture\):1: malformed YAML\/JSON/);
    // The YAML flow form keeps working, as before.
    expect(resolveJudge(withJudge('{layers: 1, aggregator: A}')).mixture?.aggregator).toBe('A');
  });
});
