import { existsSync } from 'node:fs';
import { loadSpace, type SearchSpace } from '../config/space.js';
import type { StudyRecord } from '../search/types.js';

/**
 * The space a report uses for labels and parameter counts: `--space` when given (bad file → InputError), else
 * the study's own space file if it still exists. Without one the report still renders (ids as labels, TFLOPs
 * as stored); the second value says why.
 */
export function studySpace(study: StudyRecord, flag?: string): { space?: SearchSpace; warning?: string } {
  if (flag) return { space: loadSpace(flag) };
  const file = study.config?.spaceFile;
  if (!file) return { warning: 'the study does not name its search-space file' };
  if (!existsSync(file)) return { warning: `search-space file ${file} not found: labels fall back to model ids (use --space)` };
  try {
    return { space: loadSpace(file) };
  } catch (e) {
    return { warning: `search-space file ${file} no longer loads (${(e as Error).message}); use --space` };
  }
}
