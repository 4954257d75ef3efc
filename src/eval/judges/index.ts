export * from './templates.js';
export * from './protocols.js';
export * from './judge.js';
