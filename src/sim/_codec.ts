import { mix } from './_hash.js';

// Every statement a simulated model makes carries one pseudo-word that names it: a capitalized word of
// 7 consonant-vowel syllables ("Kelamirokarile"). It encodes an 18-bit prompt key, a 6-bit item
// (point, misconception or answer marker) and a 4-bit check, so the sim recognizes statements in any
// text it is later shown (references inside an aggregator prompt, answers inside a judge prompt),
// whatever template wraps them, without keeping any state.

const CONS = ['k', 'l', 'm', 'r'] as const;
const VOWELS = ['a', 'e', 'i', 'o'] as const;
const SYLLABLES: string[] = [];
for (const c of CONS) for (const v of VOWELS) SYLLABLES.push(c + v);
const SYL_INDEX = new Map(SYLLABLES.map((s, i) => [s, i]));

export const KEY_BITS = 18;
export const KEY_MASK = (1 << KEY_BITS) - 1;

/** Items 0..39: points; 40..55: misconceptions; 60/61: the answer's start and end markers. */
export const MIS_BASE = 40;
export const MAX_POINTS = 40;
export const MAX_MIS = 16;
export const START_MARK = 60;
export const END_MARK = 61;

const cache = new Map<number, string>();

export function encodeToken(key: number, item: number): string {
  const id = ((key & KEY_MASK) << 6) | (item & 63);
  const hit = cache.get(id);
  if (hit !== undefined) return hit;
  const check = mix(id, 0x5eed) & 15;
  const bits = id * 16 + check; // 28 bits, below 2^31
  let s = '';
  for (let i = 6; i >= 0; i--) s += SYLLABLES[Math.floor(bits / 16 ** i) % 16];
  const tok = s[0]!.toUpperCase() + s.slice(1);
  if (cache.size < 200_000) cache.set(id, tok);
  return tok;
}

/** Decode a candidate word; undefined when it is not one of ours (bad syllable or check). */
export function decodeToken(word: string): { key: number; item: number } | undefined {
  if (word.length !== 14) return undefined;
  let bits = 0;
  const lower = word.toLowerCase();
  for (let i = 0; i < 14; i += 2) {
    const v = SYL_INDEX.get(lower.slice(i, i + 2));
    if (v === undefined) return undefined;
    bits = bits * 16 + v;
  }
  const check = bits % 16;
  const id = Math.floor(bits / 16);
  if ((mix(id, 0x5eed) & 15) !== check) return undefined;
  return { key: id >>> 6, item: id & 63 };
}

export const TOKEN_RE = /\b[KLMR][aeio](?:[klmr][aeio]){6}\b/g;

export interface FoundToken {
  key: number;
  item: number;
  index: number;
}

/** All statement tokens in a text, in order of appearance. */
export function findTokens(text: string): FoundToken[] {
  const out: FoundToken[] = [];
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(text); m; m = TOKEN_RE.exec(text)) {
    const d = decodeToken(m[0]);
    if (d) out.push({ ...d, index: m.index });
  }
  return out;
}
