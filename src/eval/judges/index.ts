export * from './templates.js';
export * from './protocols.js';
export * from './judge.js';
export * from './pairwise.js';
export * from './reward-model.js';
