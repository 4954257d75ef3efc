/**
 * A decimal number's text with the point moved `shift` places right, exactly: "0.0000018" × 10^6 → "1.8".
 * Catalog prices per token are decimal strings; multiplying the float by 1e6 would give 1.7999999999999998.
 * Returns undefined for text that is not a plain decimal number (sign, digits, point, exponent).
 */
export function shiftDecimal(text: string, shift: number): string | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (!m[2] && !m[3])) return undefined;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  const digits = int + frac;
  const point = int.length + shift + Number(exp);
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.replace(/^0+(?=\d)/, '');
  if (out.includes('.')) out = out.replace(/0+$/, '').replace(/\.$/, '');
  return (sign === '-' && /[1-9]/.test(out) ? '-' : '') + (out || '0');
}
