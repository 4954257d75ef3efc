/** Inline CSS of report.html: system fonts only, nothing fetched. */
export const REPORT_CSS = `
:root { --ink: #1f2933; --muted: #5f6b76; --line: #e3e8ee; --accent: #1565c0; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; font-weight: 650; }
h1 .study { color: var(--accent); }
h2 { font-size: 18px; margin: 0 0 12px; }
.meta { color: var(--muted); margin: 0 0 20px; font-size: 13px; }
section, footer { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 20px 24px; margin: 0 0 20px; }
.answer { border-left: 6px solid var(--accent); }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); margin: 0; }
h2.rec { font-size: 26px; margin: 2px 0 14px; word-break: break-word; }
.kpis { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; margin: 0 0 14px; }
.kpis div { background: var(--bg); border-radius: 8px; padding: 10px 14px; }
.kpis dt { font-size: 12px; color: var(--muted); }
.kpis dd { margin: 0; font-size: 24px; font-weight: 650; }
.kpis small { display: block; font-size: 12px; font-weight: 400; color: var(--muted); }
.compare { list-style: none; padding: 0; margin: 0 0 10px; }
.compare li { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: baseline; padding: 6px 0; border-top: 1px solid var(--line); }
.compare .vs { font-weight: 600; }
.verdict { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #eceff1; }
.verdict.good { background: #e3f2e6; color: #1b5e20; }
.verdict.bad { background: #fdecea; color: #b71c1c; }
.use, .note { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
code { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 1px 5px; font-size: 12.5px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 20px; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12.5px; margin-top: 4px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); background: var(--bg); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name { white-space: normal; min-width: 240px; }
tr.front td { background: #f1f7fe; }
tr.rec td { background: #e3f0fd; font-weight: 600; }
footer ul { margin: 0; padding-left: 18px; color: var(--muted); font-size: 13px; }
footer p { color: var(--muted); font-size: 13px; }
@media (max-width: 760px) { .kpis { grid-template-columns: repeat(2, minmax(0, 1fr)); } .charts { grid-template-columns: 1fr; } }
`;
