import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Put a benchmark's section into a markdown file: the section starting `## <heading>` is replaced, up to the next
 * `## ` heading that does not itself start with `heading`; without one, the section goes after the section starting
 * `## <after>` when given and present, else at the end. `section` is whole lines (it ends with a newline).
 */
export function writeDocSection(file: string, heading: string, section: string, opts: { after?: string } = {}): void {
  const doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = doc.indexOf(`## ${heading}`);
  const end = (from: number) => {
    const rest = doc.slice(from + 1);
    const next = rest.search(new RegExp(`\\n## (?!${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`));
    return next >= 0 ? from + 1 + next + 1 : doc.length;
  };
  let at: number;
  let to: number;
  if (start >= 0) [at, to] = [start, end(start)];
  else {
    const prev = opts.after === undefined ? -1 : doc.indexOf(`## ${opts.after}`);
    at = to = prev >= 0 ? end(prev) : doc.length;
  }
  const before = doc.slice(0, at).trimEnd();
  const after = doc.slice(to);
  writeFileSync(file, (before ? before + '\n\n' : '') + section.trimEnd() + '\n' + (after ? '\n' + after : ''));
}
