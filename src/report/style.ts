/** The page's only stylesheet, inlined: system fonts, no web fonts, nothing fetched. */
export const CSS = `
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --member: #d97706; --method: #2563eb; --hit: #2563eb; --miss: #dc2626; --good: #15803d; --bad: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; background: #f8fafc; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; min-height: 100vh; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
p { margin: 6px 0; }
.sub { color: var(--muted); margin: 0 0 14px; word-break: break-all; }
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-word; }
nav { margin: 18px 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 13px; }
nav a { color: var(--method); text-decoration: none; }
.notice { margin: 18px 0 0; padding: 10px 14px; background: #fffbeb; border: 1px solid #fcd34d; border-radius: 6px; }
.selection { margin: 8px 0 12px; padding: 8px 12px; background: #eff6ff; border-left: 3px solid var(--method); }
.scroll { overflow-x: auto; }
/* A long table scrolls in a box no taller than the window: its header sticks to the box's top and
   its horizontal scrollbar stays on screen. Sticky cells drop border-collapse borders, so the
   header's rule is a shadow. The line column sticks to the left edge too. */
.sticky-head { max-height: min(80vh, 720px); overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
.sticky-head thead th { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 0; box-shadow: inset 0 -2px 0 #cbd5e1; }
.sticky-head td.line { position: sticky; left: 0; z-index: 1; background: #fff; }
.sticky-head thead th:first-child { left: 0; z-index: 3; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #cbd5e1; font-weight: 600; white-space: nowrap; }
th[title] { cursor: help; text-decoration: underline dotted #9ca3af; }
.num { text-align: right; white-space: nowrap; }
td.best { font-weight: 700; }
td.name { font-weight: 600; white-space: nowrap; }
td.path { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
tr.member td.name { color: #92400e; }
.badge { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px; font-size: 11px; font-weight: 600; vertical-align: 1px; }
.badge.pick { background: #dbeafe; color: #1e40af; }
.badge.export { background: #dcfce7; color: #166534; }
.two-col { display: flex; flex-wrap: wrap; gap: 12px 48px; align-items: flex-start; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 6px 0 10px; font-size: 13px; color: #374151; }
.legend span { display: inline-flex; align-items: center; gap: 6px; }
.legend svg { overflow: visible; }
.grid-figs { display: flex; flex-wrap: wrap; gap: 14px 18px; }
figure { margin: 0; padding: 8px 10px 6px; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 13px; margin-bottom: 2px; }
figcaption b { font-weight: 600; }
figcaption .kind { color: var(--muted); font-size: 12px; }
svg.chart { display: block; font: 11px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
svg .grid { stroke: #eef2f7; stroke-width: 1; }
svg .frame { fill: none; stroke: #9ca3af; stroke-width: 1; }
svg .tick { fill: #4b5563; font-size: 11px; }
svg .axis-title { fill: #111827; font-size: 12px; font-weight: 600; }
svg .strip-label { fill: var(--muted); font-size: 10px; }
svg.risk-coverage .curve, .legend.risk .curve { fill: none; stroke: var(--method); stroke-width: 2; }
svg.risk-coverage .pt { fill: var(--method); }
svg.risk-coverage .full, .legend.risk .full { stroke: var(--muted); stroke-width: 1.2; stroke-dasharray: 4 3; }
td .ci { color: var(--muted); font-size: 11px; margin-left: 3px; }
svg.reliability .bar, .legend.reliability .bar { fill: #3b82f6; fill-opacity: 0.8; }
svg.reliability .gap, .legend.reliability .gap { fill: var(--miss); fill-opacity: 0.22; stroke: var(--miss); stroke-opacity: 0.6; stroke-width: 0.8; }
svg.reliability .count, .legend.reliability .count { fill: #94a3b8; }
svg.reliability .conf, .legend.reliability .conf { stroke: #1e3a8a; stroke-width: 2; }
svg .diag, .legend .diag { stroke: #374151; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg.confusion .cell.hit { fill: var(--hit); }
svg.confusion .cell.miss { fill: var(--miss); }
svg.confusion .cell-count { font-size: 13px; font-weight: 600; }
svg.confusion .cell-share { font-size: 10px; }
svg.confusion .light { fill: #fff; }
svg.confusion .dark { fill: #111827; }
/* Hollow markers are see-through enough that one drawn over another leaves both outlines visible. */
svg.cost .pt, .legend.cost .pt { stroke-width: 2; fill: #fff; fill-opacity: 0.4; }
svg.cost .pt.pareto, .legend.cost .pt.pareto { fill-opacity: 1; }
svg.cost .pt.member, .legend.cost .pt.member { stroke: var(--member); }
svg.cost .pt.method, .legend.cost .pt.method { stroke: var(--method); }
svg.cost .pt.member.pareto, .legend.cost .pt.member.pareto { fill: var(--member); stroke: #78350f; }
svg.cost .pt.method.pareto, .legend.cost .pt.method.pareto { fill: var(--method); stroke: #1e3a8a; }
svg.cost .front, .legend.cost .front { fill: none; stroke: #16a34a; stroke-width: 2; stroke-dasharray: 6 4; }
svg.cost .pt-label { fill: #1f2937; font-size: 12px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg.cost .pt-label .strong { font-weight: 700; }
svg.cost .leader { stroke: #9ca3af; stroke-width: 1; }
table.disagreements { font-size: 13px; }
table.disagreements td.text { min-width: 280px; max-width: 460px; }
table.disagreements .pair { color: var(--muted); }
table.disagreements th.member-col { color: #92400e; }
table.disagreements th.method-col { color: #1e40af; }
td.prob { white-space: nowrap; }
td.prob .p { font-variant-numeric: tabular-nums; color: #374151; }
td.prob .dist { display: block; font-size: 11px; color: var(--muted); }
td.prob.right { background: #f0fdf4; }
td.prob.right .lab { color: var(--good); font-weight: 600; }
td.prob.wrong { background: #fef2f2; }
td.prob.wrong .lab { color: var(--bad); font-weight: 600; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { body { background: #fff; } main { padding: 0; } .scroll { overflow: visible; } .sticky-head { max-height: none; } }
`;
