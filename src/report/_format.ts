/** Number and text formatting shared by the HTML, Markdown and CSV writers. */

export function fmtScore(x: number | undefined | null): string {
  return x === undefined || x === null || !Number.isFinite(x) ? '–' : x.toFixed(1);
}

export function fmtCi(ci: [number, number] | undefined): string {
  return ci ? `${ci[0].toFixed(1)}–${ci[1].toFixed(1)}` : '–';
}

export function fmtSigned(x: number): string {
  return (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(1);
}

/** USD with enough digits to tell small per-query costs apart. */
export function fmtUsd(x: number | undefined | null): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return '–';
  if (x === 0) return '$0';
  if (Math.abs(x) >= 100) return `$${x.toFixed(0)}`;
  if (Math.abs(x) >= 1) return `$${x.toFixed(2)}`;
  return `$${Number(x.toPrecision(3))}`;
}

export function fmtTflops(x: number | undefined | null): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return 'unknown';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function fmtMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Markdown table cells: pipes would split the cell. */
export function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** RFC 4180 field: quoted when it holds a comma, quote or newline. */
export function csvField(v: unknown): string {
  if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
