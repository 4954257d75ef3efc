import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * A bearer-token check whose running time does not depend on how much of the token matches:
 * both sides are hashed to equal-length digests before the constant-time comparison.
 */
export function bearerChecker(expectedKey: string): (authorization: string | undefined) => boolean {
  const expected = digest(expectedKey);
  return (authorization) => {
    const m = /^Bearer\s+(.+)$/i.exec(authorization?.trim() ?? '');
    // Hash something even when the header is absent, so every failure costs the same.
    const given = digest(m ? m[1]!.trim() : '');
    return timingSafeEqual(given, expected) && !!m;
  };
}
