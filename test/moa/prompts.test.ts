import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, loadMixture, parseSpace } from '../../src/config/index.js';
import { aggregateMessages, injectSystem, loadTemplates, parseRankChoice, renderTemplate, BUILTIN_TEMPLATES } from '../../src/moa/index.js';
import { spaceYaml, tempDir } from './_space.js';

describe('templates', () => {
  it('numbers the responses and fills {{n}}', () => {
    const out = renderTemplate('There are {{n}}:\n{{responses}}\nend', ['first\n', '  second']);
    expect(out).toBe('There are 2:\n[Response 1]\nfirst\n\n[Response 2]\nsecond\nend');
  });

  it('leaves placeholders that appear inside a response untouched', () => {
    expect(renderTemplate('{{responses}}', ['I wrote {{n}} and {{responses}}'])).toBe('[Response 1]\nI wrote {{n}} and {{responses}}');
  });

  it('every built-in template shows the responses and asks what the paper asks', () => {
    for (const t of Object.values(BUILTIN_TEMPLATES)) expect(t).toContain('{{responses}}');
    expect(BUILTIN_TEMPLATES.aggregate).toMatch(/critical/);
    expect(BUILTIN_TEMPLATES.aggregate).toMatch(/errors|bias/);
    expect(BUILTIN_TEMPLATES.aggregate).toMatch(/not copy/);
    expect(BUILTIN_TEMPLATES.rank).toMatch(/number of the best response/);
  });

  it('appends to an existing system message and never adds a second one', () => {
    const msgs = injectSystem(
      [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'U' },
      ],
      'X',
    );
    expect(msgs).toEqual([
      { role: 'system', content: 'S\n\nX' },
      { role: 'user', content: 'U' },
    ]);
    expect(injectSystem([{ role: 'user', content: 'U' }], 'X')).toEqual([
      { role: 'system', content: 'X' },
      { role: 'user', content: 'U' },
    ]);
  });

  it('loads user template files from a mixture and rejects one without {{responses}}', () => {
    const dir = tempDir('moa-prompts-');
    const space = parseSpace(spaceYaml('http://127.0.0.1:9/v1'), join(dir, 'space.yaml'));
    writeFileSync(join(dir, 'agg.txt'), 'Merge these {{n}} drafts:\n{{responses}}');
    writeFileSync(join(dir, 'bad.txt'), 'Merge the drafts please.');
    writeFileSync(join(dir, 'ok.json'), JSON.stringify({ layers: 2, proposers: { A: 1 }, aggregator: 'G', prompts: { aggregate: 'agg.txt' } }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ layers: 2, proposers: { A: 1 }, aggregator: 'G', prompts: { summarize: 'bad.txt' } }));
    const t = loadTemplates(loadMixture(join(dir, 'ok.json'), space).prompts);
    expect(aggregateMessages([{ role: 'user', content: 'q' }], ['r1'], t)[0]!.content).toBe('Merge these 1 drafts:\n[Response 1]\nr1');
    expect(t.rank).toBe(BUILTIN_TEMPLATES.rank);
    let err: unknown;
    try {
      loadTemplates(loadMixture(join(dir, 'bad.json'), space).prompts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/bad\.txt.*prompts\.summarize.*\{\{responses\}\}/);
    writeFileSync(join(dir, 'typo.txt'), '{{responses}} {{question}}');
    expect(() => loadTemplates({ aggregate: join(dir, 'typo.txt') })).toThrow(/typo\.txt.*unknown placeholder \{\{question\}\}/);
  });
});

describe('parseRankChoice', () => {
  it.each([
    ['2', 2],
    [' 3.\n', 3],
    ['**1**', 1],
    ['Response 3', 3],
    ['The best is response #2 because it is complete.', 2],
    ['I pick [Response 2]', 2],
    ['Best: 4', 4],
    ['Among the 3 responses, response 1 is best', 1],
    ['Response 2 is better than Response 1.', 2],
    ['After comparing response 1 and response 3, the best is response 3.', 3],
    ['Response 4 is the strongest answer; response 2 is close.', 4],
  ])('%j → %d', (text, n) => {
    expect(parseRankChoice(text, 4)).toBe(n);
  });

  it.each([['none of them'], ['7'], ['2 or 3'], ['0'], ['']])('%j → undefined', (text) => {
    expect(parseRankChoice(text, 4)).toBeUndefined();
  });
});
