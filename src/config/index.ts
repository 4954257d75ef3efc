export * from './input-error.js';
export * from './space.js';
export * from './mixture.js';
export * from './check-roles.js';
export * from './output-path.js';
export { parseStructuredText, readStructuredFile, validateDoc, formatPath } from './_load-structured.js';
export type { StructuredDoc } from './_load-structured.js';
