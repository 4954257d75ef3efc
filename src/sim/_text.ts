import { mix } from './_hash.js';
import { encodeToken, END_MARK, MIS_BASE, START_MARK } from './_codec.js';

// Pseudo-text. A point's sentence has fixed content words (from the prompt key and the item), so every
// model that states a point says recognizably the same thing; openers and filler vary by sample.
// No sentence contains a '.', '!' or '?' before its end, so counting sentences is exact on sim text.

const NOUNS = ['approach', 'result', 'method', 'factor', 'detail', 'step', 'value', 'principle', 'pattern', 'constraint', 'estimate', 'structure', 'signal', 'case', 'rule', 'measure', 'source', 'limit', 'model', 'process', 'choice', 'outcome', 'layer', 'setting', 'context', 'example', 'tradeoff', 'baseline', 'boundary', 'function', 'record', 'theme'];
const VERBS = ['depends on', 'determines', 'improves', 'reduces', 'requires', 'explains', 'supports', 'limits', 'shapes', 'follows from', 'changes', 'balances', 'protects', 'reveals', 'matches', 'drives'];
const ADJS = ['careful', 'consistent', 'clear', 'practical', 'robust', 'simple', 'precise', 'useful', 'balanced', 'reliable', 'direct', 'general', 'specific', 'gradual', 'careful', 'complete', 'small', 'large', 'stable', 'early', 'late', 'common', 'rare', 'central'];
const OPENERS = ['', '', '', 'Notably, ', 'In practice, ', 'Importantly, ', 'Also, ', 'Note that ', 'In short, ', 'Keep in mind that ', 'Generally, ', 'Above all, '];
const TAILS = ['', '', ' in most cases', ' over time', ' for this task', ' in this setting', ' when applied well', ' as a rule'];
const PREPS = ['for', 'with', 'across', 'within', 'around', 'beyond', 'under', 'toward'];
const GREETINGS = ['Here is a clear answer', 'Here is a careful response', 'Below is a structured answer', 'Here is what you need', 'Here is a complete reply', 'Happy to help with this'];
const CLOSINGS = ['I hope these notes help', 'I hope this overview is useful', 'Let me know if you want more on these notes', 'Feel free to ask for more detail on these notes'];

function pick<T>(arr: readonly T[], h: number): T {
  return arr[h % arr.length]!;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The sentence stating item `item` (point j, or MIS_BASE + i) of prompt `key`; `v` varies the phrasing. */
export function statementSentence(key: number, item: number, v: number): string {
  const h = mix(key, item, 0xc0de);
  const noun = pick(NOUNS, h);
  const verb = pick(VERBS, h >>> 5);
  const adj = pick(ADJS, h >>> 9);
  const obj = pick(NOUNS, h >>> 14);
  const prep = pick(PREPS, h >>> 19);
  const obj2 = pick(NOUNS, h >>> 23);
  const opener = pick(OPENERS, v);
  const tail = pick(TAILS, v >>> 8);
  return cap(`${opener}the ${encodeToken(key, item)} ${noun} ${verb} the ${adj} ${obj} ${prep} each ${obj2}${tail}.`);
}

export function misSentence(key: number, i: number, v: number): string {
  return statementSentence(key, MIS_BASE + i, v);
}

/** A sentence with no claim in it: padding that only makes an answer longer. */
export function fillerSentence(v: number): string {
  const h = mix(v, 0xf111);
  const opener = pick(OPENERS, h);
  return cap(
    `${opener}a ${pick(ADJS, h >>> 4)} ${pick(NOUNS, h >>> 9)} ${pick(VERBS, h >>> 14)} the ${pick(NOUNS, h >>> 18)} ${pick(PREPS, h >>> 23)} the ${pick(NOUNS, h >>> 26)}.`,
  );
}

export function startSentence(key: number, v: number): string {
  return `${pick(GREETINGS, v)}, following the ${encodeToken(key, START_MARK)} outline.`;
}

export function endSentence(key: number, v: number): string {
  return `${pick(CLOSINGS, v)} on ${encodeToken(key, END_MARK)}.`;
}

/** Join sentences into paragraphs of two to four sentences. */
export function layout(sentences: string[], v: number): string {
  const out: string[] = [];
  let i = 0;
  let k = 0;
  while (i < sentences.length) {
    const size = 2 + (mix(v, k++) % 3);
    out.push(sentences.slice(i, i + size).join(' '));
    i += size;
  }
  return out.join('\n\n');
}

const SENTENCE_END = /[.!?]+(?=\s|$)/g;

/** Sentences in a text (terminators followed by space or end); at least 1 for non-empty text. */
export function countSentences(text: string): number {
  if (!text.trim()) return 0;
  let n = 0;
  SENTENCE_END.lastIndex = 0;
  while (SENTENCE_END.exec(text)) n++;
  return Math.max(1, n);
}
