import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderReport, reportFiles } from '../../src/report/index.js';
import { reportData } from './_fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the report.html browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(!haveChromium)('report.html in headless Chromium', () => {
  it('renders without JavaScript, fetches nothing, logs no error, and the screenshot is not blank', async () => {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'moa-report-'));
    const r = await renderReport(reportData());
    for (const [name, text] of Object.entries(reportFiles(r))) writeFileSync(join(dir, name), text);
    const url = pathToFileURL(join(dir, 'report.html')).href;

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    try {
      // The report must be readable with JavaScript off.
      const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
      const page = await ctx.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(url, { waitUntil: 'load' });
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]); // self-contained: the page itself and nothing else

      const rec = r.analysis.recommended!;
      await expect(page.locator('#recommendation h2').innerText()).resolves.toBe(rec.label);
      expect(await page.locator('svg').count()).toBe(3);
      // the recommendation is above the fold; the charts have real size
      const box = await page.locator('#recommendation').boundingBox();
      expect(box!.y + box!.height).toBeLessThan(900);
      const sizes = await page.locator('figure svg').evaluateAll((els) =>
        els.map((e) => {
          const r = (e as unknown as { getBoundingClientRect(): { width: number; height: number } }).getBoundingClientRect();
          return { width: r.width, height: r.height };
        }),
      );
      for (const b of sizes) {
        expect(b.width).toBeGreaterThan(300);
        expect(b.height).toBeGreaterThan(150);
      }

      const png = await page.screenshot({ fullPage: true });
      writeFileSync(join(dir, 'screenshot.png'), png);
      await ctx.close();

      // Decode the screenshot in a JavaScript-enabled page and measure it: not blank, several colours.
      const probe = await browser.newPage();
      // A string, so the browser-side code needs no DOM types in this Node project.
      const stats = (await probe.evaluate(`(async () => {
        const img = new Image();
        img.src = 'data:image/png;base64,${png.toString('base64')}';
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) {
          if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) ink++;
          colours.add((d[i] >> 4) * 256 + (d[i + 1] >> 4) * 16 + (d[i + 2] >> 4));
        }
        return { width: c.width, height: c.height, inkShare: ink / (d.length / 4 / 7), colours: colours.size };
      })()`)) as { width: number; height: number; inkShare: number; colours: number };
      expect(stats.width).toBe(1280);
      expect(stats.height).toBeGreaterThan(1500);
      expect(stats.inkShare).toBeGreaterThan(0.01);
      expect(stats.colours).toBeGreaterThan(20);
    } finally {
      await browser.close();
    }
  });
});
