import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken, findTokens, MIS_BASE, START_MARK } from '../../src/sim/_codec.js';
import { countSentences, statementSentence } from '../../src/sim/_text.js';
import { ARENA_MIN_WORDS, promptKey, promptKind, promptTopic, promptWorld, worldFromKey } from '../../src/sim/_world.js';

describe('claim tokens', () => {
  it('round-trip every (key, item) and carry a check that rejects look-alikes', () => {
    for (let k = 0; k < 2000; k++) {
      const key = (k * 2654435761) & 0x3ffff;
      const item = k % 64;
      expect(decodeToken(encodeToken(key, item))).toEqual({ key, item });
    }
    let accepted = 0;
    const syl = ['ka', 'ke', 'ki', 'ko', 'la', 'le', 'li', 'lo', 'ma', 'me', 'mi', 'mo', 'ra', 're', 'ri', 'ro'];
    for (let k = 0; k < 2000; k++) {
      let w = '';
      for (let i = 0; i < 7; i++) w += syl[(k * 7 + i * 13 + ((k * i) % 5)) % 16];
      if (decodeToken(w[0]!.toUpperCase() + w.slice(1))) accepted++;
    }
    expect(accepted / 2000).toBeLessThan(0.1); // a 4-bit check: about 1 in 16 random words pass
    expect(decodeToken('Hello')).toBeUndefined();
  });

  it('are found in text, in order, whatever surrounds them', () => {
    const s = `<answer>${statementSentence(77, 3, 1)} x ${statementSentence(77, MIS_BASE + 1, 2)}</answer>"""${encodeToken(77, START_MARK)}"""`;
    expect(findTokens(s).map((t) => t.item)).toEqual([3, MIS_BASE + 1, START_MARK]);
  });
});

describe('prompts', () => {
  it('kind: Arena-Hard-style from 40 words', () => {
    expect(promptKind(Array(ARENA_MIN_WORDS - 1).fill('word').join(' '))).toBe('alpaca');
    expect(promptKind(Array(ARENA_MIN_WORDS).fill('word').join(' '))).toBe('arena');
  });

  it('topic by keyword rules, key by normalized text', () => {
    expect(promptTopic('Write a Python function that sorts a list')).toBe('code');
    expect(promptTopic('Prove that there are infinitely many primes')).toBe('math');
    expect(promptTopic('Write a poem about the sea')).toBe('writing');
    expect(promptKey('  Hello   World ')).toBe(promptKey('hello world'));
  });

  it('hidden facts: 6–14 points with integer weights 3–10, 2–4 misconceptions with weights 4–10', () => {
    for (let k = 0; k < 300; k++) {
      const w = worldFromKey(0, k);
      expect(w.pointWeights.length).toBeGreaterThanOrEqual(6);
      expect(w.pointWeights.length).toBeLessThanOrEqual(14);
      expect(w.misWeights.length).toBeGreaterThanOrEqual(2);
      expect(w.misWeights.length).toBeLessThanOrEqual(4);
      for (const x of w.pointWeights) expect(Number.isInteger(x) && x >= 3 && x <= 10).toBe(true);
      for (const x of w.misWeights) expect(Number.isInteger(x) && x >= 4 && x <= 10).toBe(true);
    }
    expect(promptWorld(0, 'a').pointWeights).toEqual(worldFromKey(0, promptKey('a')).pointWeights);
    expect(worldFromKey(1, 5)).not.toEqual(worldFromKey(0, 5));
  });

  it('counts sentences by terminators', () => {
    expect(countSentences('One. Two! Three? Four')).toBe(3);
    expect(countSentences('no terminator')).toBe(1);
    expect(countSentences('  ')).toBe(0);
  });
});
