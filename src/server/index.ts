export { startMixtureServer, criticalPathMs } from './server.js';
export type { MixtureServer, MixtureServerOptions, MixtureServerStats, ServedMixture } from './server.js';
export { percentile } from './_stats.js';
