// Provider model catalogs (OpenRouter, Together) read and imported into search-space files.
export { shiftDecimal } from './_decimal.js';
export { readCatalog, catalogModel, FORMAT_LABEL, type Catalog, type CatalogEntry, type CatalogFormat, type CatalogModel } from './read-catalog.js';
export { selectEntries, globRegExp, type Selection } from './select-models.js';
export { planImport, matchSpaceModel, type ImportPlan, type ModelChange, type FieldChange, type PlanOptions } from './plan-import.js';
export { applyPlan } from './edit-space.js';
export { catalogRequest, fetchCatalog, CatalogFetchError, type CatalogRequest } from './fetch-catalog.js';
export {
  checkWritable,
  loadSpaceForEdit,
  parseRoles,
  prepareImport,
  resolveProvider,
  writeAtomically,
  type ImportSettings,
  type LoadedSpace,
  type PreparedImport,
} from './import-models.js';
