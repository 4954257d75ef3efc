// fmin ships no types, and its ESM entry exports nothing (see bfgs.ts: it registers globalThis.fmin).
declare module 'fmin';
