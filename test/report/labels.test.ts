import { describe, expect, it } from 'vitest';
import { placeLabels, type LabelledRow } from '../../src/report/_labels.js';

const row = (x: number, q: number, label: string, extra: Partial<LabelledRow> = {}): LabelledRow => ({
  x,
  q,
  label,
  recommended: false,
  onFront: true,
  showLabel: true,
  altLabels: [`#${label.length}`],
  ...extra,
});

const ax = { log: false, domain: [0, 10] as [number, number] };

describe('placeLabels', () => {
  it('gives nearby points different corners and never stacks two labels', () => {
    const rows = [row(5, 50, 'first mixture'), row(5.05, 50.5, 'second mixture'), row(5.1, 49.5, 'third mixture')];
    placeLabels(rows, ax, [0, 100]);
    const placed = rows.filter((r) => r.labelPos !== 'none');
    expect(placed.length).toBeGreaterThanOrEqual(2);
    expect(new Set(placed.map((r) => r.labelPos)).size).toBe(placed.length);
  });

  it('places the recommendation first and always marks it', () => {
    const crowd = Array.from({ length: 30 }, (_, i) => row(4 + (i % 6) * 0.4, 45 + Math.floor(i / 6) * 2.5, `crowded point number ${i}`));
    const rec = row(5, 50, 'the recommended mixture with a long name', { recommended: true });
    placeLabels([...crowd, rec], ax, [0, 100]);
    expect(rec.labelPos).not.toBe('none');
    expect(rec.labelText).toMatch(/^★ /);
  });

  it('falls back to a shorter name near the edge, and skips unlabelled points', () => {
    const edge = row(0.2, 50, 'a name far too long to fit on either side of this point', { altLabels: ['short'] });
    const quiet = row(8, 20, 'not labelled', { showLabel: false });
    placeLabels([edge, quiet, row(2.5, 53, 'above', { showLabel: false }), row(2.5, 47, 'below', { showLabel: false })], ax, [0, 100]);
    expect(edge.labelText).toBe('short');
    expect(quiet.labelPos).toBe('none');
  });
});
