import { writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Storage } from '../executor/index.js';
import type { SearchSpace } from '../config/space.js';
import { renderReport, reportFiles, type RenderedReport } from './render.js';
import { readStudy } from './study-source.js';
import { whatChangedFor, withWhatChanged } from './what-changed.js';
import { reportDirFor } from './report-dir.js';
import { ensureDir } from '../config/output-path.js';

/** Default report folder: `<folder of the database>/<study>/` (e.g. runs/moa.sqlite → runs/<study>/). */
export function defaultReportDir(storage: Storage, studyName: string): string {
  return reportDirFor(storage.display, studyName);
}

/** Write files whole: a reader (a browser reloading report.html) never sees half a file. */
export function writeFiles(dir: string, files: Record<string, string>): string[] {
  ensureDir(dir, '--out');
  const out: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
    out.push(path);
  }
  return out;
}

export interface WriteReportOptions {
  storage: Storage;
  studyName: string;
  space?: SearchSpace;
  /** Default: `defaultReportDir(storage, studyName)`. */
  outDir?: string;
  generatedAt?: string;
}

/** Read a study from the database, render the report and write its files. */
export async function writeReport(opts: WriteReportOptions): Promise<{ dir: string; files: string[]; report: RenderedReport }> {
  const { study, trials } = await readStudy(opts.storage, opts.studyName);
  const rendered = await renderReport({ study, trials, ...(opts.space ? { space: opts.space } : {}), ...(opts.generatedAt ? { generatedAt: opts.generatedAt } : {}) });
  const changed = await whatChangedFor(opts.storage, study);
  const report = changed ? { ...rendered, ...withWhatChanged(rendered.html, rendered.md, changed) } : rendered;
  const dir = resolve(opts.outDir ?? defaultReportDir(opts.storage, opts.studyName));
  return { dir, files: writeFiles(dir, reportFiles(report)), report };
}
