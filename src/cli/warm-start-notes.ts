import { InputError } from '../config/input-error.js';
import type { SearchSpace } from '../config/space.js';
import type { ValidationItem } from '../eval/types.js';
import type { Storage } from '../executor/index.js';
import { studyCompat } from '../search/study-compat.js';
import { StudyStore } from '../search/study-store.js';
import { describeSkips, planWarmStart, type WarmTarget } from '../search/warm-start.js';

/** `--warm-start a,b`: the study names, each once. */
export function parseWarmStart(flag: string | undefined): string[] | undefined {
  if (flag === undefined) return undefined;
  const names = [...new Set(flag.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!names.length) throw new InputError('--warm-start needs one or more study names, comma-separated', { field: '--warm-start' });
  return names;
}

interface NewStudy {
  studyName: string;
  space: SearchSpace;
  items: readonly ValidationItem[];
}

const targetOf = (p: NewStudy): WarmTarget => ({ name: p.studyName, space: p.space, compat: studyCompat(p.space, p.items) });

/**
 * Check a warm start before anything is written: every named study exists, and something carries over (else the
 * flag is unusable input). Lines to print: what will be imported, and what is skipped with its reason.
 */
export async function checkWarmStart(storage: Storage, names: readonly string[], p: NewStudy): Promise<string[]> {
  const store = await StudyStore.existing(storage);
  if (!store) throw new InputError(`--warm-start: no study named "${names[0]}" in ${storage.display} (it holds no studies)`, { field: '--warm-start' });
  const wp = await planWarmStart(store, names, targetOf(p), storage.display);
  const skips = describeSkips(wp.skipped);
  if (!wp.count) throw new InputError(`--warm-start: nothing in ${names.join(', ')} carries over to this study (${skips.map((s) => s.replace(/^skipped /, '')).join('; ') || 'no complete measurements'})`, { field: '--warm-start' });
  const mixtures = new Set(wp.imports.map((i) => i.trial.mixtureKey)).size;
  return [`warm start: ${wp.count} observations of ${mixtures} mixtures from ${names.join(', ')}, at no cost`, ...skips.map((s) => `  ${s}`)];
}

/**
 * Without --warm-start: the earlier studies in the database on this validation set and judge whose observations
 * could carry over, as one line with the flag to use (nothing when there are none). Never fails a search.
 */
export async function warmStartOffer(storage: Storage, p: NewStudy): Promise<string[]> {
  const store = await StudyStore.existing(storage);
  if (!store) return [];
  const target = targetOf(p);
  const fits: string[] = [];
  for (const s of (await store.listStudies()).slice(-20)) {
    if (s.name === p.studyName) continue;
    const wp = await planWarmStart(store, [s.name], target).catch(() => undefined);
    if (wp?.count) fits.push(s.name);
  }
  if (!fits.length) return [];
  const n = fits.length;
  return [`${n} earlier stud${n === 1 ? 'y' : 'ies'} on this validation set and judge could warm-start this one: add --warm-start ${fits.join(',')}`];
}
