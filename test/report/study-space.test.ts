import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/config/index.js';
import { studySpace } from '../../src/report/index.js';
import { STUDY } from './_fixtures.js';

describe('studySpace', () => {
  it("uses the study's own space file while it exists", () => {
    const r = studySpace(STUDY);
    expect(r.space?.name).toBe('together-2024');
    expect(r.warning).toBeUndefined();
  });

  it('falls back to no space, with a warning, when the file has gone', () => {
    const r = studySpace({ ...STUDY, config: { ...STUDY.config, spaceFile: '/nonexistent/space.yaml' } });
    expect(r.space).toBeUndefined();
    expect(r.warning).toMatch(/\/nonexistent\/space\.yaml not found.*--space/);
  });

  it('treats a bad --space as bad input', () => {
    expect(() => studySpace(STUDY, '/nonexistent/flag.yaml')).toThrow(InputError);
  });
});
