import { InputError } from '../config/input-error.js';
import { modelsWithRole, type ModelSpec, type Role, type SearchSpace } from '../config/space.js';
import { catalogModel, type Catalog, type CatalogEntry, type CatalogModel } from './read-catalog.js';

// What an import changes in a space, decided before anything is written: which catalog models are added, which
// space models get new prices / context windows / sizes, and which become searched aggregators.

export interface FieldChange {
  field: 'price.input' | 'price.output' | 'contextWindow' | 'params.total';
  from?: number;
  to: number;
}

export type ModelChange =
  | { kind: 'add'; model: CatalogModel; roles: Role[]; maxCopies?: number }
  | { kind: 'update'; spaceId: string; model: CatalogModel; fields: FieldChange[] }
  | { kind: 'unchanged'; spaceId: string; model: CatalogModel };

export interface ImportPlan {
  provider: string;
  changes: ModelChange[];
  /** The space's models of this provider that the catalog does not list (refresh only). */
  notInCatalog: string[];
  /** search.aggregators before (undefined: not set) and after; equal when unchanged. */
  aggregators: { before?: string[]; after?: string[] };
  /** Space ids whose parameter count stays unknown (or whose active count does): TFLOPs will not be computed. */
  paramsUnknown: Array<{ id: string; what: 'params' | 'active' }>;
  /** Why the default maxCopies was chosen, when it was. */
  maxCopiesNote?: string;
}

export interface PlanOptions {
  provider: string;
  /** Catalog entries to add or update; undefined: refresh the space's models of `provider` that the catalog lists. */
  selected?: CatalogEntry[];
  /** Roles of added models. */
  roles: Role[];
  /** maxCopies of added models; default: the largest among the space's proposers, when they have the role. */
  maxCopies?: number;
  /** Add the imported models that may aggregate to search.aggregators. */
  searchAggregator?: boolean;
}

/** The space model of `provider` a catalog id stands for: by the name sent upstream first, then by id. */
export function matchSpaceModel(space: SearchSpace, provider: string, catalogId: string): ModelSpec | undefined {
  const mine = space.models.filter((m) => m.provider === provider);
  return mine.find((m) => m.upstream === catalogId) ?? mine.find((m) => m.id === catalogId);
}

export function planImport(space: SearchSpace, catalog: Catalog, opts: PlanOptions): ImportPlan {
  const plan: ImportPlan = { provider: opts.provider, changes: [], notInCatalog: [], aggregators: {}, paramsUnknown: [] };
  if (opts.selected) {
    const maxCopies = defaultMaxCopies(space, opts, plan);
    for (const entry of opts.selected) {
      const existing = matchSpaceModel(space, opts.provider, entry.id);
      const model = catalogModel(catalog, entry);
      if (existing) plan.changes.push(updateOf(space, existing, model));
      else plan.changes.push(addOf(space, opts, model, maxCopies));
    }
  } else {
    for (const m of space.models.filter((x) => x.provider === opts.provider)) {
      const entry = catalog.byId.get(m.upstream ?? m.id) ?? catalog.byId.get(m.id);
      if (entry) plan.changes.push(updateOf(space, m, catalogModel(catalog, entry)));
      else plan.notInCatalog.push(m.id);
    }
  }
  plan.aggregators = aggregatorsAfter(space, plan, opts);
  plan.paramsUnknown = unknownParams(space, plan);
  return plan;
}

function updateOf(space: SearchSpace, m: ModelSpec, model: CatalogModel): ModelChange {
  const fields: FieldChange[] = [];
  const diff = (field: FieldChange['field'], from: number | undefined, to: number | undefined) => {
    if (to !== undefined && from !== to) fields.push({ field, ...(from === undefined ? {} : { from }), to });
  };
  diff('price.input', m.price.input, model.price.input);
  diff('price.output', m.price.output, model.price.output);
  diff('contextWindow', m.contextWindow, model.contextWindow);
  diff('params.total', m.params?.total, model.params?.total);
  const active = m.params?.active;
  if (model.params && active !== undefined && active > model.params.total) {
    throw new InputError(`model "${m.id}": the catalog gives ${model.params.total}B parameters in total, fewer than the space's params.active ${active}B; fix params by hand`, { file: space.file, field: 'params' });
  }
  return fields.length ? { kind: 'update', spaceId: m.id, model, fields } : { kind: 'unchanged', spaceId: m.id, model };
}

function addOf(space: SearchSpace, opts: PlanOptions, model: CatalogModel, maxCopies: number | undefined): ModelChange {
  const clash = space.models.find((m) => m.id === model.id);
  if (clash) {
    throw new InputError(`model "${model.id}" is already in the space under provider "${clash.provider}", not "${opts.provider}"; to add it again, give the other copy its own id by hand`, {
      file: space.file,
      field: '--provider',
    });
  }
  return { kind: 'add', model, roles: opts.roles, ...(maxCopies !== undefined && opts.roles.includes('proposer') ? { maxCopies } : {}) };
}

function defaultMaxCopies(space: SearchSpace, opts: PlanOptions, plan: ImportPlan): number | undefined {
  if (opts.maxCopies !== undefined || !opts.roles.includes('proposer')) return opts.maxCopies;
  const counts = modelsWithRole(space, 'proposer').map((m) => m.maxCopies);
  if (!counts.length) return undefined;
  const n = Math.max(...counts);
  if (n > 1) plan.maxCopiesNote = `maxCopies ${n}, the largest among the space's proposers (set it with --max-copies)`;
  return n > 1 ? n : undefined;
}

/** The aggregators a search would try: the explicit list, else the first model allowed to aggregate. */
function effectiveAggregators(space: SearchSpace): string[] {
  return space.search.aggregators ?? modelsWithRole(space, 'aggregator').slice(0, 1).map((m) => m.id);
}

function aggregatorsAfter(space: SearchSpace, plan: ImportPlan, opts: PlanOptions): ImportPlan['aggregators'] {
  const before = space.search.aggregators;
  if (!opts.searchAggregator) return { before, after: before };
  const after = [...effectiveAggregators(space)];
  for (const c of plan.changes) {
    const id = c.kind === 'add' ? c.model.id : c.spaceId;
    const roles = c.kind === 'add' ? c.roles : space.models.find((m) => m.id === id)!.roles;
    if (!roles.includes('aggregator')) {
      throw new InputError(`--search-aggregator: model "${id}" does not have the aggregator role${c.kind === 'add' ? ' (see --roles)' : ''}`, { field: '--search-aggregator' });
    }
    if (!after.includes(id)) after.push(id);
  }
  return { before, after };
}

function unknownParams(space: SearchSpace, plan: ImportPlan): ImportPlan['paramsUnknown'] {
  const out: ImportPlan['paramsUnknown'] = [];
  for (const c of plan.changes) {
    const id = c.kind === 'add' ? c.model.id : c.spaceId;
    const existing = c.kind === 'add' ? undefined : space.models.find((m) => m.id === id)!.params;
    const total = c.model.params?.total ?? existing?.total;
    const active = existing?.active;
    if (total === undefined) out.push({ id, what: 'params' });
    else if (active === undefined) out.push({ id, what: 'active' });
  }
  return out;
}
