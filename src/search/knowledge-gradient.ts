import { normalCdf, normalPdf } from './acquisition.js';

/**
 * Knowledge gradient over a finite set: E[maxᵢ (aᵢ + bᵢ·Z)] − maxᵢ aᵢ for Z ~ N(0, 1), exactly (Frazier, Powell &
 * Dayanik 2009): sort the lines by slope, keep their upper envelope, and sum (b₊ − b)·f(−|c|) over its breakpoints c,
 * with f(z) = z·Φ(z) + φ(z). `a` are posterior means, `b` how much one measurement would move each of them.
 */
export function knowledgeGradient(a: readonly number[], b: readonly number[]): number {
  const order = a.map((_, i) => i).sort((i, j) => b[i]! - b[j]! || a[i]! - a[j]!);
  // Equal slopes: only the highest line can be on the envelope.
  const lines: Array<{ a: number; b: number }> = [];
  for (const i of order) {
    const l = { a: a[i]!, b: b[i]! };
    if (lines.length && Math.abs(lines.at(-1)!.b - l.b) < 1e-12) lines[lines.length - 1] = l;
    else lines.push(l);
  }
  const env: Array<{ a: number; b: number; c: number }> = [];
  for (const l of lines) {
    for (;;) {
      const top = env.at(-1);
      if (!top) {
        env.push({ ...l, c: -Infinity });
        break;
      }
      const z = (top.a - l.a) / (l.b - top.b); // where l overtakes top
      if (z <= top.c) env.pop();
      else {
        env.push({ ...l, c: z });
        break;
      }
    }
  }
  let kg = 0;
  for (let i = 1; i < env.length; i++) {
    const z = -Math.abs(env[i]!.c);
    kg += (env[i]!.b - env[i - 1]!.b) * (z * normalCdf(z) + normalPdf(z));
  }
  return Math.max(0, kg);
}
