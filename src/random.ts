import { createHash } from 'node:crypto';

// Seeded randomness and hashing shared by sampling (validation sets), bootstraps, judges' orders and the search.

/**
 * mulberry32: a small, fast 32-bit PRNG. Chosen because it is trivial to re-implement in any language,
 * so a manifest's sampling can be reproduced outside this project. Returns floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from any parts: the first 4 bytes of SHA-256 of their `:`-joined text. */
export function hashSeed(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join(':')).digest().readUInt32BE(0);
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The first `n` elements of a seeded Fisher–Yates shuffle (the rest are never drawn). */
export function sampleWithoutReplacement<T>(items: readonly T[], n: number, rand: () => number): T[] {
  const a = items.slice();
  const k = Math.min(n, a.length);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}
