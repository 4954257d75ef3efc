const cache = new Map<string, string>();

/**
 * Portable `?` placeholders to PostgreSQL's `$1, $2, …`, leaving `?` inside string literals, quoted identifiers
 * and comments alone. Translations are cached: the stores use a fixed set of statements.
 */
export function numberPlaceholders(sql: string): string {
  const hit = cache.get(sql);
  if (hit !== undefined) return hit;
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end + 1);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length - 1 : end;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (c === '?') out += `$${++n}`;
    else out += c;
  }
  if (cache.size < 10_000) cache.set(sql, out);
  return out;
}

/** Index of the quote closing the one at `start` (a doubled quote is an escaped one). */
function closing(sql: string, start: number, q: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) i++;
      else return i;
    }
  }
  return sql.length - 1;
}
