import { InputError } from '../config/input-error.js';
import type { Catalog, CatalogEntry } from './read-catalog.js';

export interface Selection {
  /** Exact catalog ids (`--model`, repeatable). */
  models?: string[];
  /** Globs on catalog ids, case-insensitive: `*` any run of characters (slashes too), `?` one (`--match`). */
  match?: string[];
}

/** The catalog entries a selection names, in catalog order; every --model must exist and every --match hit. */
export function selectEntries(catalog: Catalog, sel: Selection): CatalogEntry[] {
  const chosen = new Set<CatalogEntry>();
  for (const id of sel.models ?? []) {
    const e = catalog.byId.get(id);
    if (!e) throw new InputError(`--model "${id}" is not in the catalog (${catalog.entries.length} models)${suggest(catalog, id)}`, { file: catalog.source, field: '--model' });
    chosen.add(e);
  }
  for (const pattern of sel.match ?? []) {
    const re = globRegExp(pattern);
    const hits = catalog.entries.filter((e) => re.test(e.id));
    if (!hits.length) throw new InputError(`--match "${pattern}" matches no model in the catalog (${catalog.entries.length} models)`, { file: catalog.source, field: '--match' });
    hits.forEach((e) => chosen.add(e));
  }
  return catalog.entries.filter((e) => chosen.has(e));
}

export function globRegExp(pattern: string): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Up to three ids that differ only in case, or contain the asked id's last part. */
function suggest(catalog: Catalog, id: string): string {
  const want = id.toLowerCase();
  const tail = want.split('/').pop()!;
  const close = catalog.entries.filter((e) => e.id.toLowerCase() === want || (tail.length >= 3 && e.id.toLowerCase().includes(tail))).slice(0, 3);
  return close.length ? `; did you mean ${close.map((e) => `"${e.id}"`).join(', ')}?` : '';
}
