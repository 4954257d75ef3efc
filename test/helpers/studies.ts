import { openStorage } from '../../src/executor/index.js';
import { StudyStore } from '../../src/search/study-store.js';

/** Open the study store of a database (file or URL) for the length of `fn`, e.g. to inspect what a CLI run stored. */
export async function withStudies<T>(location: string, fn: (store: StudyStore) => Promise<T>): Promise<T> {
  const storage = await openStorage(location);
  try {
    return await fn(await StudyStore.open(storage));
  } finally {
    await storage.close();
  }
}
