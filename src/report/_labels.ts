// Label placement for the Pareto charts (see placeLabels).

/** What placement needs to know about a plotted point; it writes `labelPos` and `labelText` back. */
export interface LabelledRow {
  x: number;
  q: number;
  label: string;
  recommended: boolean;
  onFront: boolean;
  showLabel: boolean;
  altLabels: string[];
  labelPos?: LabelPos;
  labelText?: string;
}

/** Truncate with an ellipsis: labels long enough to read, short enough not to bury the chart. */
export function shortLabel(s: string, max = 34): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** The chart's x scale; its domain is explicit so that placement can map values to pixels exactly. */
export interface XAxis {
  log: boolean;
  domain: [number, number];
}

export type LabelPos = 'ne' | 'se' | 'nw' | 'sw' | 'none';
export const PLOT = { width: 450, height: 330 };
export const LABEL_FONT = 10.5;
/** dx/dy of each label position, in px from the point. */
export const OFFSETS: Record<Exclude<LabelPos, 'none'>, { dx: number; dy: number; align: 'left' | 'right'; baseline: 'bottom' | 'top' }> = {
  ne: { dx: 6, dy: -4, align: 'left', baseline: 'bottom' },
  se: { dx: 6, dy: 4, align: 'left', baseline: 'top' },
  nw: { dx: -6, dy: -4, align: 'right', baseline: 'bottom' },
  sw: { dx: -6, dy: 4, align: 'right', baseline: 'top' },
};

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/**
 * Greedy label placement: vega-lite cannot avoid label collisions, and the SVG is rendered without a canvas,
 * so we estimate text boxes ourselves (≈0.56 em per character) in the plot's pixel space (the domains are
 * explicit, so the mapping is exact) and give each label the first of four corners that collides with no
 * point and no label placed before it. The recommendation is placed first; labels that fit nowhere are
 * dropped (the table and the tooltip still name the point).
 */
export function placeLabels(rows: LabelledRow[], ax: XAxis, yDomain: [number, number]): void {
  const px = (x: number) => {
    const [a, b] = ax.domain;
    const t = ax.log ? (Math.log(x) - Math.log(a)) / (Math.log(b) - Math.log(a)) : (x - a) / (b - a);
    return t * PLOT.width;
  };
  const py = (q: number) => PLOT.height * (1 - (q - yDomain[0]) / (yDomain[1] - yDomain[0]));
  const pointBox = new Map<LabelledRow, Box>();
  const taken: Box[] = rows.map((r) => {
    const x = px(r.x);
    const y = py(r.q);
    const rad = r.recommended ? 11 : 8; // the symbol plus a little air
    const box = { x0: x - rad, y0: y - rad, x1: x + rad, y1: y + rad };
    pointBox.set(r, box);
    return box;
  });
  // a label may touch its own point (the offsets keep it clear), not anything else
  const collides = (r: LabelledRow, b: Box) => taken.some((t) => t !== pointBox.get(r) && overlaps(t, b));
  const order = [...rows].sort((a, b) => Number(b.recommended) - Number(a.recommended) || Number(b.onFront) - Number(a.onFront) || b.q - a.q);
  const POSITIONS = ['ne', 'se', 'nw', 'sw'] as const;
  const boxAt = (r: LabelledRow, text: string, pos: (typeof POSITIONS)[number]): Box => {
    const x = px(r.x);
    const y = py(r.q);
    const w = text.length * LABEL_FONT * 0.56 + 4;
    const h = LABEL_FONT + 3;
    const o = OFFSETS[pos];
    const x0 = o.align === 'left' ? x + o.dx : x + o.dx - w;
    const y0 = o.baseline === 'bottom' ? y + o.dy - h : y + o.dy;
    return { x0, y0, x1: x0 + w, y1: y0 + h };
  };
  // labels may spill a little past the plot (the SVG grows), not far
  const inside = (b: Box) => b.x0 >= -20 && b.x1 <= PLOT.width + 60 && b.y0 >= -10 && b.y1 <= PLOT.height + 4;
  for (const r of order) {
    r.labelPos = 'none';
    if (!r.showLabel) continue;
    // the recommendation must be marked: its full name, else a short tag, else wherever it collides least
    const name = shortLabel(r.label);
    const texts = r.recommended ? [`★ ${name}`, '★ recommended'] : [...new Set([name, ...r.altLabels])];
    let placed = false;
    for (const text of texts) {
      for (const pos of POSITIONS) {
        const box = boxAt(r, text, pos);
        if (!inside(box) || collides(r, box)) continue;
        taken.push(box);
        Object.assign(r, { labelPos: pos, labelText: text });
        placed = true;
        break;
      }
      if (placed) break;
    }
    if (!placed && r.recommended) {
      const text = '★ recommended';
      const best = POSITIONS.map((pos) => ({ pos, box: boxAt(r, text, pos) }))
        .filter((c) => inside(c.box))
        .sort((c, d) => taken.filter((t) => t !== pointBox.get(r) && overlaps(t, c.box)).length - taken.filter((t) => t !== pointBox.get(r) && overlaps(t, d.box)).length)[0];
      if (best) {
        taken.push(best.box);
        Object.assign(r, { labelPos: best.pos, labelText: text });
      }
    }
  }
}
