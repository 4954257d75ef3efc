import { isMap, isScalar, isSeq, LineCounter, parse, parseDocument, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { InputError } from '../config/input-error.js';
import type { ImportPlan, ModelChange } from './plan-import.js';

// Applies an import plan to the space file's text. The yaml library's Document API finds every node and its
// exact source range; the changes are spliced into the original text at those ranges, so every byte the import
// does not change — comments, blank lines, quoting, flow or block style, indentation — stays as the user wrote it
// (re-printing the whole document would normalize all of them). JSON space files get JSON text.

interface Edit {
  at: number;
  end: number;
  text: string;
  order: number;
}

type Value = string | number | Value[] | Array<[string, Value]>;

export function applyPlan(text: string, file: string, plan: ImportPlan, modelIndex: (spaceId: string) => number): string {
  const doc = parseDocument(text, { lineCounter: new LineCounter(), keepSourceTokens: false });
  const ed = new Editor(text, file, isJson(text));
  const models = doc.get('models', true);
  if (!isSeq(models)) throw new InputError('models is not a list', { file, field: 'models' });
  for (const c of plan.changes) {
    if (c.kind === 'update') updateModel(ed, models.items[modelIndex(c.spaceId)] as Node, c);
    if (c.kind === 'add') ed.insertItem(models, anchorIndex(models, c, plan.provider), modelFields(c, plan.provider));
  }
  const { before, after } = plan.aggregators;
  if (after && after.join('\n') !== (before ?? []).join('\n')) setAggregators(ed, doc, before, after);
  return ed.apply();
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function modelFields(c: Extract<ModelChange, { kind: 'add' }>, provider: string): Array<[string, Value]> {
  const m = c.model;
  const fields: Array<[string, Value]> = [
    ['id', m.id],
    ['provider', provider],
    ['price', [['input', m.price.input], ['output', m.price.output]]],
  ];
  if (m.contextWindow !== undefined) fields.push(['contextWindow', m.contextWindow]);
  if (m.params) fields.push(['params', [['total', m.params.total]]]);
  fields.push(['roles', c.roles]);
  if (c.maxCopies !== undefined) fields.push(['maxCopies', c.maxCopies]);
  return fields;
}

/** Where a new model goes: after the last model of the same provider with the same roles (proposers stay together). */
function anchorIndex(models: YAMLSeq, c: Extract<ModelChange, { kind: 'add' }>, provider: string): number {
  const js = models.toJSON() as Array<{ provider?: string; roles?: string[] }>;
  const sameRoles = (r?: string[]) => JSON.stringify([...(r ?? ['proposer', 'aggregator'])].sort()) === JSON.stringify([...c.roles].sort());
  const last = (pred: (m: (typeof js)[number]) => boolean) => js.map((m, i) => (pred(m) ? i : -1)).reduce((a, b) => Math.max(a, b), -1);
  const i = last((m) => m.provider === provider && sameRoles(m.roles));
  if (i >= 0) return i;
  const j = last((m) => m.provider === provider);
  return j >= 0 ? j : js.length - 1;
}

function updateModel(ed: Editor, item: Node, c: Extract<ModelChange, { kind: 'update' }>): void {
  if (!isMap(item)) throw new InputError(`model "${c.spaceId}" is not a mapping`, { file: ed.file, field: 'models' });
  for (const f of c.fields) {
    if (f.field === 'price.input' || f.field === 'price.output') ed.setScalar(item.getIn(f.field.split('.'), true) as Node, f.to);
    else if (f.field === 'contextWindow') ed.setOrAdd(item, 'contextWindow', f.to);
    else {
      const params: unknown = item.get('params', true);
      if (isMap(params)) ed.setScalar(params.get('total', true) as Node, f.to);
      else ed.addKey(item, 'params', [['total', f.to]]);
    }
  }
}

function setAggregators(ed: Editor, doc: Document, before: string[] | undefined, after: string[]): void {
  const seq = doc.getIn(['search', 'aggregators'], true);
  if (before && isSeq(seq)) {
    for (const id of after.filter((a) => !before.includes(a))) ed.appendItem(seq, id);
    return;
  }
  const search = doc.get('search', true);
  if (isMap(search)) ed.addKey(search, 'aggregators', after);
  else if (isMap(doc.contents)) ed.addKey(doc.contents, 'search', [['aggregators', after]]);
  else throw new InputError('the space is not a mapping', { file: ed.file });
}

class Editor {
  private edits: Edit[] = [];

  constructor(
    private readonly text: string,
    readonly file: string,
    private readonly json: boolean,
  ) {}

  apply(): string {
    let out = this.text;
    // From the end, so earlier offsets stay valid; at one offset, later edits first so plan order is kept.
    for (const e of [...this.edits].sort((a, b) => b.at - a.at || b.order - a.order)) out = out.slice(0, e.at) + e.text + out.slice(e.end);
    return out;
  }

  private push(at: number, end: number, text: string): void {
    this.edits.push({ at, end, text, order: this.edits.length });
  }

  setScalar(node: Node | undefined, value: number): void {
    if (!isScalar(node) || !node.range) throw new InputError('expected a number to update', { file: this.file });
    this.push(node.range[0], node.range[1], this.scalar(value));
  }

  setOrAdd(map: YAMLMap, key: string, value: number): void {
    const node = map.get(key, true) as Node | undefined;
    if (node) this.setScalar(node, value);
    else this.addKey(map, key, value);
  }

  /** A new key at the end of a mapping: `, key: value` in a flow mapping, a new line in a block one. */
  addKey(map: YAMLMap, key: string, value: Value): void {
    const last = map.items.at(-1);
    const lastEnd = (last?.value as Node | null)?.range?.[1] ?? (last?.key as Node | null)?.range?.[1];
    if (map.flow) {
      if (lastEnd === undefined) return this.push(map.range![0] + 1, map.range![0] + 1, `${this.key(key)}: ${this.flow(value)}`);
      return this.push(lastEnd, lastEnd, `, ${this.key(key)}: ${this.flow(value)}`);
    }
    const indent = this.column(map.range![0]);
    this.insertLines(this.lineAfter(map), [`${' '.repeat(indent)}${this.key(key)}: ${this.flow(value)}`]);
  }

  /** A new entry after `models.items[after]`: a block item in the sibling's indentation, or a flow item. */
  insertItem(seq: YAMLSeq, after: number, fields: Array<[string, Value]>): void {
    const anchor = seq.items[after] as Node;
    if (seq.flow) return this.push(anchor.range![1], anchor.range![1], `, ${this.flow(fields)}`);
    const keyCol = this.column(anchor.range![0]);
    const dashCol = this.dashColumn(anchor.range![0]);
    const gap = Math.max(1, keyCol - dashCol - 1);
    const pad = ' '.repeat(dashCol + 1 + gap);
    const lines = fields.map(([k, v], i) => `${i === 0 ? `${' '.repeat(dashCol)}-${' '.repeat(gap)}` : pad}${this.key(k)}: ${this.flow(v)}`);
    this.insertLines(this.lineAfter(anchor), lines);
  }

  /** One more scalar at the end of a list (search.aggregators). */
  appendItem(seq: YAMLSeq, value: string): void {
    const last = seq.items.at(-1) as Node | undefined;
    if (seq.flow || !last) {
      const at = last?.range?.[1] ?? seq.range![0] + 1;
      return this.push(at, at, `${last ? ', ' : ''}${this.scalar(value)}`);
    }
    this.insertLines(this.lineAfter(last), [`${' '.repeat(this.dashColumn(last.range![0]))}- ${this.scalar(value)}`]);
  }

  private insertLines(at: number, lines: string[]): void {
    const lead = at > 0 && this.text[at - 1] !== '\n' ? '\n' : '';
    this.push(at, at, lead + lines.map((l) => `${l}\n`).join(''));
  }

  /** Start of the line after a block node's last line (its trailing comment included). */
  private lineAfter(node: Node): number {
    const end = Math.max(node.range![1], node.range![2]);
    if (end > 0 && this.text[end - 1] === '\n') return end;
    const nl = this.text.indexOf('\n', end);
    return nl < 0 ? this.text.length : nl + 1;
  }

  private column(offset: number): number {
    return offset - (this.text.lastIndexOf('\n', offset - 1) + 1);
  }

  private dashColumn(itemStart: number): number {
    const lineStart = this.text.lastIndexOf('\n', itemStart - 1) + 1;
    const dash = this.text.slice(lineStart, itemStart).lastIndexOf('-');
    return dash >= 0 ? dash : this.column(itemStart);
  }

  private key(k: string): string {
    return this.json ? JSON.stringify(k) : k;
  }

  private scalar(v: string | number): string {
    if (typeof v === 'number') return String(v);
    if (this.json) return JSON.stringify(v);
    // Plain when the text reads back as the same string in any context, else double-quoted (valid YAML).
    return /^[A-Za-z0-9_][\w.\/@+:-]*$/.test(v) && !v.endsWith(':') && parse(v) === v ? v : JSON.stringify(v);
  }

  private flow(v: Value): string {
    if (!Array.isArray(v)) return this.scalar(v);
    if (v.length && Array.isArray(v[0])) {
      const pairs = (v as Array<[string, Value]>).map(([k, x]) => `${this.key(k)}: ${this.flow(x)}`).join(', ');
      return this.json ? `{${pairs}}` : `{ ${pairs} }`;
    }
    return `[${(v as Value[]).map((x) => this.flow(x)).join(', ')}]`;
  }
}
