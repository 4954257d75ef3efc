/**
 * A small XML well-formedness check (tags balanced and properly nested, attributes quoted, entities known),
 * enough for vega's SVG output without pulling an XML parser into the project.
 */
export function checkWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[[\s\S]*?\]\]>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = tag.exec(xml))) {
    checkText(xml.slice(last, m.index), stack.length === 0);
    last = tag.lastIndex;
    if (!m[2]) continue; // comment, declaration, CDATA
    const [, close, name, attrs, selfClose] = m;
    checkAttrs(attrs!);
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}> at offset ${m.index}`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
  }
  checkText(xml.slice(last), stack.length === 0);
  if (stack.length) throw new Error(`unclosed <${stack[stack.length - 1]}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

function checkText(text: string, outside: boolean): void {
  if (text.includes('<')) throw new Error(`stray "<" near: ${text.slice(text.indexOf('<'), text.indexOf('<') + 40)}`);
  if (outside && text.trim()) throw new Error(`text outside the root element: ${text.trim().slice(0, 40)}`);
  const bad = text.match(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
  if (bad) throw new Error(`bad entity near: ${text.slice(bad.index!, bad.index! + 20)}`);
}

function checkAttrs(attrs: string): void {
  const names = new Set<string>();
  for (const a of attrs.matchAll(/([\w:.-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    if (names.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]}`);
    names.add(a[1]!);
    checkText(a[3] ?? a[4] ?? '', false);
  }
}

/** `<path>` elements (one per symbol) inside the mark group named `name`. */
export function countSymbols(svg: string, name: string): number {
  const start = svg.indexOf(`class="mark-symbol role-mark ${name}_marks"`);
  if (start < 0) return 0;
  // the group's items are <path> siblings up to its closing </g>
  const body = svg.slice(start, svg.indexOf('</g>', start));
  return (body.match(/<path /g) ?? []).length;
}
