import { existsSync, readFileSync } from 'node:fs';
import { createPatch } from 'diff';
import { InputError } from '../config/input-error.js';
import {
  catalogRequest,
  checkWritable,
  fetchCatalog,
  FORMAT_LABEL,
  loadSpaceForEdit,
  parseRoles,
  prepareImport,
  resolveProvider,
  writeAtomically,
  type ImportPlan,
  type ModelChange,
  type PreparedImport,
} from '../catalog/index.js';

export interface ModelsImportOptions {
  space: string;
  fromUrl?: string | boolean;
  provider?: string;
  model?: string[];
  match?: string[];
  roles: string;
  maxCopies?: number;
  searchAggregator?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** `moa-search models import`: validate everything, then fetch or read the catalog, plan, print, write. */
export async function runModelsImport(catalogFile: string | undefined, opts: ModelsImportOptions): Promise<void> {
  if (catalogFile !== undefined && opts.fromUrl !== undefined) throw new InputError('give a catalog file or --from-url, not both', { field: '--from-url' });
  if (catalogFile === undefined && opts.fromUrl === undefined) throw new InputError('give a catalog file, or --from-url to fetch the provider\'s model list', { field: 'catalog' });
  const roles = parseRoles(opts.roles);
  const loaded = loadSpaceForEdit(opts.space);
  const provider = resolveProvider(loaded.space, opts.provider);
  if (!opts.dryRun) checkWritable(loaded.file);

  let text: string;
  let source: string;
  if (catalogFile !== undefined) {
    if (!existsSync(catalogFile)) throw new InputError('catalog file not found', { file: catalogFile });
    text = readFileSync(catalogFile, 'utf8');
    source = catalogFile;
  } else {
    const req = catalogRequest(loaded.space, provider, typeof opts.fromUrl === 'string' ? opts.fromUrl : undefined);
    if (!opts.json) process.stderr.write(`fetching ${req.source} …\n`);
    text = await fetchCatalog(req);
    source = req.source;
  }

  const prepared = prepareImport(loaded, text, source, {
    provider,
    models: opts.model,
    match: opts.match,
    roles,
    maxCopies: opts.maxCopies,
    searchAggregator: opts.searchAggregator,
  });
  const changed = prepared.after !== prepared.before;
  if (changed && !opts.dryRun) writeAtomically(prepared.spaceFile, prepared.after);
  process.stdout.write(opts.json ? JSON.stringify(asJson(prepared, changed, !!opts.dryRun), null, 2) + '\n' : formatImport(prepared, changed, !!opts.dryRun));
}

const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 6 });
const idOf = (c: ModelChange) => (c.kind === 'add' ? c.model.id : c.spaceId);

function describe(c: ModelChange): string {
  if (c.kind === 'unchanged') return `  = unchanged ${c.spaceId}`;
  if (c.kind === 'update') {
    const f = c.fields.map((x) => `${x.field} ${x.from === undefined ? '(none)' : n(x.from)} → ${n(x.to)}`).join(', ');
    return `  ~ updated   ${c.spaceId}: ${f}`;
  }
  const m = c.model;
  const parts = [`price ${n(m.price.input)} / ${n(m.price.output)} USD per 1M tokens`];
  parts.push(m.contextWindow !== undefined ? `context ${n(m.contextWindow)}` : 'context window not given');
  if (m.params) parts.push(`${n(m.params.total)}B parameters`);
  parts.push(`roles ${c.roles.join(', ')}`);
  if (c.maxCopies !== undefined) parts.push(`maxCopies ${c.maxCopies}`);
  const named = m.name && !m.name.includes(m.id.split('/').pop()!) ? ` (${m.name})` : '';
  return `  + added     ${m.id}${named}: ${parts.join('; ')}`;
}

export function formatImport(p: PreparedImport, changed: boolean, dryRun: boolean): string {
  const { plan } = p;
  const counts = (k: ModelChange['kind']) => plan.changes.filter((c) => c.kind === k).length;
  const lines = [`catalog ${p.catalog.source}: ${FORMAT_LABEL[p.catalog.format]}, ${p.catalog.entries.length} models`, `space ${p.spaceFile}, provider "${plan.provider}":`];
  lines.push(...plan.changes.map(describe));
  if (!plan.changes.length) lines.push('  (no model of this provider is in the catalog)');
  if (plan.notInCatalog.length) lines.push(`  ! not in the catalog (left as they are): ${plan.notInCatalog.join(', ')}`);
  const { before, after } = plan.aggregators;
  if (after && after.join() !== (before ?? []).join()) lines.push(`  search.aggregators: ${before ? `[${before.join(', ')}]` : '(not set)'} → [${after.join(', ')}]`);
  lines.push(...notes(p));
  if (dryRun && changed) lines.push('', unifiedDiff(p), '');
  const summary = `${counts('add')} added, ${counts('update')} updated, ${counts('unchanged')} unchanged${after && after.join() !== (before ?? []).join() ? `; search.aggregators now ${after.length}` : ''}`;
  if (!changed) lines.push(`nothing to change: ${p.spaceFile} left as it was (${summary})`);
  else lines.push(dryRun ? `dry run: ${summary}; nothing written` : `wrote ${p.spaceFile}: ${summary}`);
  return lines.join('\n') + '\n';
}

/** A unified diff of the space file, without jsdiff's `Index:` banner. */
function unifiedDiff(p: PreparedImport): string {
  return createPatch(p.spaceFile, p.before, p.after, '', '', { context: 2 }).split('\n').slice(2).join('\n').trimEnd();
}

function notes(p: PreparedImport): string[] {
  const { plan, space } = p;
  const out: string[] = [];
  if (plan.paramsUnknown.length) {
    out.push('parameter counts (never guessed): TFLOPs and the latency proxy stay unknown for these until you add them by hand as params: { total, active } (billions):');
    for (const u of plan.paramsUnknown) out.push(`  ? ${u.id}: ${u.what === 'params' ? 'the catalog gives no parameter count' : 'the catalog gives the total only, not the active count'}`);
  }
  if (plan.maxCopiesNote && plan.changes.some((c) => c.kind === 'add' && c.maxCopies !== undefined)) out.push(`note: ${plan.maxCopiesNote}`);
  const aggregating = plan.changes.filter((c) => c.kind === 'add' && c.roles.includes('aggregator')).map(idOf);
  const searched = plan.aggregators.after ?? space.search.aggregators;
  const missed = aggregating.filter((id) => !(searched ?? []).includes(id));
  if (missed.length && (searched || space.models.some((m) => m.roles.includes('aggregator')))) {
    out.push(`note: the search will not try ${missed.join(', ')} as the final aggregator (search.aggregators ${searched ? `lists ${searched.join(', ')}` : 'is not set: the first aggregator-role model is used'}); pass --search-aggregator to add ${missed.length > 1 ? 'them' : 'it'}`);
  }
  return out;
}

function asJson(p: PreparedImport, changed: boolean, dryRun: boolean) {
  const plan: ImportPlan = p.plan;
  return {
    catalog: { source: p.catalog.source, format: p.catalog.format, models: p.catalog.entries.length },
    space: p.spaceFile,
    provider: plan.provider,
    changes: plan.changes,
    notInCatalog: plan.notInCatalog,
    aggregators: plan.aggregators,
    paramsUnknown: plan.paramsUnknown,
    changed,
    written: changed && !dryRun,
  };
}
