import { accessSync, chmodSync, constants, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../config/input-error.js';
import { findModel, loadSpace, parseSpace, ROLES, type Role, type SearchSpace } from '../config/space.js';
import { applyPlan } from './edit-space.js';
import { planImport, type ImportPlan } from './plan-import.js';
import { readCatalog, type Catalog } from './read-catalog.js';
import { selectEntries, type Selection } from './select-models.js';

export interface ImportSettings extends Selection {
  provider?: string;
  /** Roles of added models (default proposer and aggregator, the schema's default). */
  roles?: Role[];
  maxCopies?: number;
  searchAggregator?: boolean;
}

export interface PreparedImport {
  /** The file that will be written (symlinks resolved). */
  spaceFile: string;
  space: SearchSpace;
  catalog: Catalog;
  plan: ImportPlan;
  before: string;
  after: string;
}

export interface LoadedSpace {
  file: string;
  text: string;
  space: SearchSpace;
}

/** Read and validate the space file; its real path is what an import writes (a symlink stays a symlink). */
export function loadSpaceForEdit(file: string): LoadedSpace {
  const space = loadSpace(file);
  const real = realpathSync(file);
  return { file: real, text: readFileSync(real, 'utf8'), space };
}

/** The provider the imported models belong to: --provider, else the space's only provider. */
export function resolveProvider(space: SearchSpace, flag: string | undefined): string {
  const declared = Object.keys(space.providers);
  if (flag !== undefined) {
    if (!space.providers[flag]) throw new InputError(`unknown provider "${flag}" (the space declares: ${declared.join(', ')})`, { file: space.file, field: '--provider' });
    return flag;
  }
  if (declared.length === 1) return declared[0]!;
  throw new InputError(`the space declares ${declared.length} providers (${declared.join(', ')}): say which one the catalog's models belong to with --provider`, { field: '--provider' });
}

export function parseRoles(text: string): Role[] {
  const roles = text.split(',').map((r) => r.trim()).filter(Boolean);
  const bad = roles.find((r) => !(ROLES as readonly string[]).includes(r));
  if (bad !== undefined || !roles.length) throw new InputError(`${bad === undefined ? 'no role given' : `unknown role "${bad}"`} (roles: ${ROLES.join(', ')})`, { field: '--roles' });
  return [...new Set(roles)] as Role[];
}

/** The space file's folder and the file itself must be writable (temp file + rename): checked before any work. */
export function checkWritable(file: string): void {
  try {
    accessSync(dirname(file), constants.W_OK);
    accessSync(file, constants.W_OK);
  } catch (e) {
    throw new InputError(`cannot write the space file (${(e as NodeJS.ErrnoException).code ?? 'not writable'}); use --dry-run to see the change`, { file });
  }
}

/** Everything short of writing: catalog checks, the plan, the new text, and a read-back of the new text. */
export function prepareImport(loaded: LoadedSpace, catalogText: string, catalogSource: string, settings: ImportSettings): PreparedImport {
  const { space, text } = loaded;
  const provider = resolveProvider(space, settings.provider);
  const catalog = readCatalog(catalogText, catalogSource);
  const selecting = (settings.models?.length ?? 0) + (settings.match?.length ?? 0) > 0;
  const plan = planImport(space, catalog, {
    provider,
    selected: selecting ? selectEntries(catalog, settings) : undefined,
    roles: settings.roles ?? ['proposer', 'aggregator'],
    maxCopies: settings.maxCopies,
    searchAggregator: settings.searchAggregator,
  });
  const index = (id: string) => space.models.findIndex((m) => m.id === id);
  const after = applyPlan(text, space.file, plan, index);
  checkReadBack(after, space, plan);
  return { spaceFile: loaded.file, space, catalog, plan, before: text, after };
}

/** The edited text must load as a valid space holding exactly the planned values: a bug here must not write. */
function checkReadBack(after: string, space: SearchSpace, plan: ImportPlan): void {
  let next: SearchSpace;
  try {
    next = parseSpace(after, space.file);
  } catch (e) {
    throw new Error(`internal error: the edited space would not load (${(e as Error).message}); nothing was written`);
  }
  const bad = (what: string) => {
    throw new Error(`internal error: the edited space does not read back as planned (${what}); nothing was written`);
  };
  if (next.models.length !== space.models.length + plan.changes.filter((c) => c.kind === 'add').length) bad('model count');
  for (const c of plan.changes) {
    const m = findModel(next, c.kind === 'add' ? c.model.id : c.spaceId);
    if (!m) return bad(`model ${c.kind === 'add' ? c.model.id : c.spaceId} missing`);
    if (m.price.input !== c.model.price.input || m.price.output !== c.model.price.output) bad(`${m.id} price`);
    if (c.model.contextWindow !== undefined && m.contextWindow !== c.model.contextWindow) bad(`${m.id} contextWindow`);
    if (c.model.params && m.params?.total !== c.model.params.total) bad(`${m.id} params`);
    if (c.kind === 'add' && (m.provider !== plan.provider || m.roles.join() !== c.roles.join() || (c.maxCopies !== undefined && m.maxCopies !== c.maxCopies))) bad(`${m.id} roles`);
  }
  if ((next.search.aggregators ?? []).join() !== (plan.aggregators.after ?? []).join()) bad('search.aggregators');
}

/** Write whole or not at all: a temp file beside the target, the same mode, then rename over it. */
export function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: 'wx' });
    chmodSync(tmp, statSync(file).mode & 0o7777);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
