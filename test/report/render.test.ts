import { describe, expect, it } from 'vitest';
import { mixtureKey, parseMixtureObject } from '../../src/config/index.js';
import { POINT_MARK_NAME, renderReport, reportFiles } from '../../src/report/index.js';
import { STUDY, reportData, space } from './_fixtures.js';
import { checkWellFormedXml, countSymbols } from './_svg.js';

describe('renderReport', async () => {
  const data = reportData();
  const r = await renderReport(data);

  it('renders well-formed SVG charts with one symbol per plotted mixture', () => {
    for (const svg of Object.values(r.svgs)) {
      expect(svg.startsWith('<svg')).toBe(true);
      checkWellFormedXml(svg);
    }
    // 15 completed trials; 2 use GPT-4o (no parameter count) and are left out of the TFLOPs chart
    expect(countSymbols(r.svgs['pareto-cost.svg'], POINT_MARK_NAME)).toBe(15);
    expect(countSymbols(r.svgs['pareto-tflops.svg'], POINT_MARK_NAME)).toBe(13);
    expect(countSymbols(r.svgs['history.svg'], POINT_MARK_NAME)).toBe(15);
  });

  it('draws axes with units, a step-line front, error bars and labels', () => {
    const cost = r.svgs['pareto-cost.svg'];
    expect(cost).toContain('Cost (USD per query)');
    expect(cost).toContain('Score (win rate %, mean over sources)');
    expect(r.svgs['pareto-tflops.svg']).toContain('Latency proxy (TFLOPs per query)');
    expect(r.svgs['history.svg']).toContain('USD spent by the study so far');
    expect(cost).toMatch(/class="mark-line role-mark/);
    expect((cost.match(/aria-roledescription="rule mark"/g) ?? []).length).toBe(15); // one CI bar per point
    expect(cost).toContain('>Q110<'); // single models are labelled
    expect(cost).toMatch(/fill="#0d47a1">★ [^<]+<\/text>/); // the recommendation is marked
  });

  it('uses a different mark shape for single models', () => {
    const cost = r.svgs['pareto-cost.svg'];
    const body = cost.slice(cost.indexOf(`${POINT_MARK_NAME}_marks`));
    // the path's `d` (with numbers stripped) is the symbol's shape; the aria-label names the kind
    const byGroup = new Map<string, Set<string>>();
    for (const m of body.matchAll(/<path [^>]*aria-label="[^"]*Kind: ([^;"]*);[^"]*"[^>]* d="([^"]*)"/g)) {
      if (!byGroup.has(m[1]!)) byGroup.set(m[1]!, new Set());
      byGroup.get(m[1]!)!.add(m[2]!.replace(/[\d.e-]+/g, '#'));
    }
    expect(byGroup.get('single model')).toBeDefined();
    expect(byGroup.get('single model')!.size).toBe(1);
    expect(byGroup.get('MoA found by the search')!.size).toBe(1);
    expect([...byGroup.get('single model')!][0]).not.toBe([...byGroup.get('MoA found by the search')!][0]);
  });

  it('writes a self-contained HTML page that answers the question first', () => {
    const html = r.html;
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i);
    // the only URLs are XML namespace names inside the inline SVGs, never fetched
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(urls.every((u) => u.startsWith('http://www.w3.org/'))).toBe(true);
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
    const rec = r.analysis.recommended!;
    const top = html.indexOf('Recommended mixture');
    expect(top).toBeGreaterThan(0);
    expect(top).toBeLessThan(html.indexOf('Pareto fronts'));
    expect(html.indexOf('Pareto fronts')).toBeLessThan(html.indexOf('Search history'));
    expect(html.indexOf('Search history')).toBeLessThan(html.indexOf('All trials'));
    expect(html).toContain(rec.label.replace(/&/g, '&amp;'));
    expect(html).toContain('Cost per 1,000 queries');
    expect(html).toMatch(/vs best single model: GPT-4o/);
    expect(html).toMatch(/vs MoA-Lite/);
    expect(html).toMatch(/paired over 60 prompts/);
    expect(html).toContain('wall clock'); // measured layer latency beside the proxy
  });

  it('writes Markdown, CSV and best.json', () => {
    expect(r.md).toMatch(/^# Which mixture to deploy: demo/);
    expect(r.md).toContain('![Quality vs cost](pareto-cost.svg)');
    expect(r.md.split('\n').filter((l) => l.startsWith('|')).length).toBe(17); // header, rule, 15 trials
    const rows = parseCsv(r.csv);
    expect(rows).toHaveLength(17); // header + 16 trials (the failed one too)
    const header = rows[0]!;
    for (const row of rows) expect(row).toHaveLength(header.length);
    const col = (name: string) => header.indexOf(name);
    expect(rows.at(-1)![col('state')]).toBe('FAIL');
    const recRow = rows.find((row) => row[col('number')] === String(r.analysis.recommended!.number))!;
    expect(Number(recRow[col('cost_per_query_usd')])).toBeCloseTo(r.analysis.recommended!.costPerQuery!, 15);
    expect(Number(recRow[col('judge_cost_per_prompt_usd')])).toBeCloseTo(0.001, 12);
    expect(JSON.parse(recRow[col('mixture')]!)).toEqual(r.analysis.recommended!.trial.mixture);
    expect(r.html).toContain('judging $0.001 per validation prompt (search cost)');

    const best = JSON.parse(r.bestJson!);
    expect(best.meta).toMatchObject({ study: 'demo', trial: r.analysis.recommended!.number, score: r.analysis.recommended!.quality });
    expect(best.meta.costPer1kQueries).toBeCloseTo(r.analysis.recommended!.costPerQuery! * 1000, 12);
    // a mixture file `ask` and `eval` accept, naming the same mixture
    const m = parseMixtureObject(best, space, 'best.json');
    expect(mixtureKey(m)).toBe(r.analysis.recommended!.trial.mixtureKey);
    expect(Object.keys(reportFiles(r)).sort()).toEqual(['best.json', 'history.svg', 'pareto-cost.svg', 'pareto-tflops.svg', 'report.html', 'report.md', 'trials.csv']);
  });

  it('renders an empty study without a recommendation or best.json', async () => {
    const e = await renderReport({ study: STUDY, trials: [], space });
    expect(e.bestJson).toBeUndefined();
    expect(e.html).toContain('No completed trial yet');
    for (const svg of Object.values(e.svgs)) checkWellFormedXml(svg);
  });

  it('renders without a space (labels from the stored trials)', async () => {
    const n = await renderReport({ ...data, space: undefined });
    expect(n.analysis.points[0]!.label).toBe(data.trials[0]!.label);
    expect(countSymbols(n.svgs['pareto-cost.svg'], POINT_MARK_NAME)).toBe(15);
  });

  it('escapes HTML in names', async () => {
    const trials = data.trials.map((t, i) => (i === 0 ? { ...t, label: '<b>x</b> & y' } : t));
    const n = await renderReport({ study: { ...STUDY, name: 'a<b>' }, trials });
    expect(n.html).toContain('&lt;b&gt;x&lt;/b&gt; &amp; y');
    expect(n.html).not.toContain('<b>x</b>');
  });
});

/** RFC 4180 reader, enough to check the CSV round-trips (quoted commas, quotes, newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else field += c;
  }
  return rows;
}

describe('the well-formedness checker', () => {
  it('rejects broken XML', () => {
    expect(() => checkWellFormedXml('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormedXml('<svg a="1" a="2"/>')).toThrow(/duplicate/);
    expect(() => checkWellFormedXml('<svg>&nbsp;</svg>')).toThrow(/entity/);
    expect(() => checkWellFormedXml('<svg/><svg/>')).toThrow(/root/);
    expect(() => checkWellFormedXml('<svg><path d="M0"/><text>a &amp; b</text></svg>')).not.toThrow();
  });
});
