import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from '../helpers/cli.js';

/** The real AlpacaEval / Arena-Hard files live outside the project (not redistributable). */
export const SHARED = resolve(ROOT, '../shared/data');
export const HAVE_SHARED = existsSync(SHARED);
if (!HAVE_SHARED) console.warn(`[test/eval] ${SHARED} is absent: the real-data checks are skipped`);
export const shared = (p: string) => resolve(SHARED, p);
