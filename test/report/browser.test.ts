/**
 * The report as a browser sees it: a real evaluation (two bundled members, 240 SST-2 dev rows,
 * every fusion method but concat) rendered to HTML and opened in headless Debian Chromium through
 * playwright-core. Charts must be drawn from the data (bar heights, cell counts, points), the page
 * must load nothing and log no error, and every string from the data must stay text.
 * Screenshots go to <tmp>/bertfuse-report-screenshots/ (overwritten each run).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { evaluate, evalInputFrom, type MethodChoice } from '../../src/eval/evaluate.js';
import type { EvalResult } from '../../src/eval/result.js';
import { resolveOptions } from '../../src/fusion/options.js';
import { FUSION_METHODS } from '../../src/fusion/registry.js';
import { EVAL_FILE } from '../../src/report/load.js';
import { writeReport } from '../../src/report/write.js';
import { realEval, type RealEval } from './real-eval.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = path.join(os.tmpdir(), 'bertfuse-report-screenshots');
const ROWS = 240;

interface Opened {
  readonly page: Page;
  /** Console errors and warnings, and uncaught page errors. */
  readonly problems: string[];
  /** Every URL the page asked for, the report itself included. */
  readonly requests: string[];
  readonly url: string;
}

/** Every string a user's data can put on the page, each carrying markup that must stay text. */
function hostile(r: EvalResult): { result: EvalResult; text: string; pair: string; label: string; member: string; method: string } {
  const text = `<script>window.__pwned = 1</script><img src="http://127.0.0.1:9/x.png" onerror="window.__pwned = 2"> & "quoted" 'text'`;
  const pair = `</td></tr></table><svg onload="window.__pwned = 3"><style>body{display:none}</style>`;
  const label = '<b>negative</b> & "sad"';
  const member = `<iframe src="http://127.0.0.1:9/">`;
  const method = `mean"><script>window.__pwned = 4</script>`;
  const oldMember = r.members[0]!.name;
  const renameLabel = (l: string): string => (l === 'negative' ? label : l);
  const renameRow = (n: string): string => (n === oldMember ? member : n === 'mean' ? method : n);
  const renameKeys = (o: Readonly<Record<string, readonly number[]>>): Record<string, readonly number[]> => Object.fromEntries(Object.entries(o).map(([k, v]) => [renameRow(k), v]));
  const result: EvalResult = {
    ...r,
    labels: r.labels.map(renameLabel),
    data: { ...r.data, fit: { ...r.data.fit, path: `/data/<script>x</script>.tsv` } },
    members: r.members.map((m) => ({ ...m, name: renameRow(m.name), source: `${m.source}/<script>` })),
    rows: r.rows.map((x) => ({ ...x, name: renameRow(x.name), perLabel: x.perLabel.map((p) => ({ ...p, label: renameLabel(p.label) })) })),
    agreement: { ...r.agreement, pairs: r.agreement.pairs.map((p) => ({ ...p, a: renameRow(p.a), b: renameRow(p.b) })) },
    selection: { rule: '<u>rule</u>', winner: method, reason: `<script>window.__pwned = 5</script>` },
    disagreements: r.disagreements.map((d, i) => ({
      ...d,
      ...(i === 0 ? { text, textPair: pair } : {}),
      gold: renameLabel(d.gold),
      members: renameKeys(d.members),
      fused: renameKeys(d.fused),
    })),
  };
  return { result, text, pair, label, member, method };
}

function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}


interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const intersects = (a: Rect, b: Rect): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Many methods at one cost with close scores: mean, vote, geometric_mean, stack and weighted with
 * fixed weights from 0.05 to 0.95 (every fusion of both members costs the same 2.25×), fit and
 * scored out-of-fold on the same real member outputs.
 */
function crowdedEval(real: RealEval): EvalResult {
  const byName = (n: string) => FUSION_METHODS.find((m) => m.name === n)!;
  const plain: MethodChoice[] = ['mean', 'vote', 'geometric_mean', 'stack'].map((n) => ({ method: byName(n), options: resolveOptions(n, byName(n).options, {}) }));
  const weighted = byName('weighted');
  const fixed: MethodChoice[] = Array.from({ length: 19 }, (_, i) => {
    const w = ((i + 1) * 0.05).toFixed(2);
    return { method: { ...weighted, name: `weighted ${w}` }, options: resolveOptions('weighted', weighted.options, { weights: `${w},${(1 - Number(w)).toFixed(2)}` }) };
  });
  return evaluate(evalInputFrom(real.prepared), [...plain, ...fixed], { folds: 5, seed: 0, resamples: 0 }).result;
}

describe('bertfuse report in headless Chromium', () => {
  let real: RealEval;
  let result: EvalResult;
  let context: BrowserContext;
  let tmp: string;

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(`the report test needs Debian chromium at ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it when missing)`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bertfuse-report-browser-'));
    fs.mkdirSync(SHOTS, { recursive: true });
    real = await realEval(ROWS);
    result = real.evaluation.result;
    context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1240, height: 900 } });
  });

  after(async () => {
    await context?.close();
    real?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function open(file: string): Promise<Opened> {
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: 'load' });
    return { page, problems, requests, url };
  }

  function assertQuiet(o: Opened): void {
    assert.deepEqual(o.problems, [], 'no console errors or warnings');
    assert.deepEqual(o.requests, [o.url], 'the page requests nothing but itself');
  }

  test('full eval result: every chart is drawn from the data, nothing is loaded, a screenshot is saved', async (t) => {
    const out = path.join(tmp, 'report.html');
    const written = writeReport(writeJson(path.join(tmp, 'eval.json'), result), out);
    assert.equal(written.details, true);
    // One self-contained file: every reference is to a fragment of the page itself (the nav, the markers' shapes).
    const html = fs.readFileSync(out, 'utf8');
    const refs = [...html.matchAll(/\b(?:href|src|xlink:href|action|srcset)\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 0 && refs.every((r) => r.startsWith('#')), `only in-page references: ${refs.filter((r) => !r.startsWith('#')).join(', ')}`);
    assert.ok(!/url\(|@import/.test(html), 'no url() or @import in the stylesheet');
    const o = await open(out);
    const { page } = o;
    try {
      assertQuiet(o);
      const k = result.labels.length;
      const rows = result.rows;
      assert.ok(rows.length >= 8, `two members and at least six methods (${rows.map((r) => r.name).join(', ')})`);

      // Reliability: one diagram per member and method; one bar per non-empty bin, as tall as its accuracy.
      const rel = page.locator('svg.reliability');
      assert.equal(await rel.count(), rows.length);
      for (const [i, row] of rows.entries()) {
        const svg = rel.nth(i);
        assert.equal(await svg.getAttribute('aria-label'), `reliability diagram of ${row.name}`);
        const frame = svg.locator('rect.frame').first();
        const plotHeight = Number(await frame.getAttribute('height'));
        const plotBottom = Number(await frame.getAttribute('y')) + plotHeight;
        const filled = row.reliability.filter((b) => b.count > 0);
        const bars = svg.locator('rect.bar');
        assert.equal(await bars.count(), filled.length, `${row.name}: bars = non-empty bins`);
        assert.equal(await svg.locator('rect.count').count(), filled.length);
        const ticks = svg.locator('line.conf');
        assert.equal(await ticks.count(), filled.length, `${row.name}: one confidence tick per non-empty bin`);
        for (const [j, b] of filled.entries()) {
          const h = Number(await bars.nth(j).getAttribute('height'));
          assert.ok(Math.abs(h / plotHeight - b.accuracy!) < 1e-3, `${row.name} bin ${j}: bar ${h}/${plotHeight} vs accuracy ${b.accuracy}`);
          const c = (plotBottom - Number(await ticks.nth(j).getAttribute('y1'))) / plotHeight;
          assert.ok(Math.abs(c - b.confidence!) < 1e-3, `${row.name} bin ${j}: tick at ${c} vs confidence ${b.confidence}`);
        }
        const box = await bars.last().boundingBox();
        assert.ok(box && box.width > 3 && box.height > 3, `${row.name}: the last bar is visible on the page`);
      }

      // Risk–coverage: one curve per row, a point per coverage step at the height of its accuracy.
      const rc = page.locator('svg.risk-coverage');
      assert.equal(await rc.count(), rows.length);
      for (const [i, row] of rows.entries()) {
        const curve = row.riskCoverage!;
        assert.equal(curve.length, 20);
        assert.ok(Math.abs(curve[19]!.accuracy - row.accuracy) < 1e-12, `${row.name}: full coverage = accuracy`);
        const svg = rc.nth(i);
        assert.equal(await svg.getAttribute('aria-label'), `risk-coverage curve of ${row.name}`);
        const pts = svg.locator('circle.pt');
        assert.equal(await pts.count(), curve.length);
        const frame = svg.locator('rect.frame').first();
        const top = Number(await frame.getAttribute('y'));
        const height = Number(await frame.getAttribute('height'));
        const ys = await Promise.all(curve.map((_, j) => pts.nth(j).getAttribute('cy')));
        // The most confident rows are at least as accurate as all rows here: the first point is not below the last.
        assert.ok(Number(ys[0]) <= Number(ys[19]) + 1e-6, `${row.name}: curve starts at or above its end`);
        assert.ok(ys.every((y) => Number(y) >= top - 1e-6 && Number(y) <= top + height + 1e-6), `${row.name}: points inside the plot`);
        assert.equal(await svg.locator('line.full').count(), 1);
      }

      // Confusion matrices: k×k cells whose printed counts are the matrix.
      const conf = page.locator('svg.confusion');
      assert.equal(await conf.count(), rows.length);
      for (const [i, row] of rows.entries()) {
        assert.equal(await conf.nth(i).locator('rect.cell').count(), k * k);
        const counts = await conf.nth(i).locator('text.cell-count').allTextContents();
        assert.deepEqual(counts.map(Number), row.confusion.flat(), `${row.name}: cell counts`);
        assert.equal(row.confusion.flat().reduce((a, b) => a + b, 0), ROWS);
      }

      // Accuracy versus cost: one point per row, the Pareto ones filled, a front line, every name labelled.
      const cost = page.locator('svg.cost');
      assert.equal(await cost.count(), 1);
      assert.equal(await cost.locator('.pt').count(), rows.length);
      assert.equal(await cost.locator('.pt.pareto').count(), rows.filter((r) => r.pareto).length);
      assert.equal(await cost.locator('.pt.member').count(), result.members.length);
      assert.equal(await cost.locator('path.front').count(), 1);
      const labelText = (await cost.locator('text.pt-label').allTextContents()).join(' | ');
      for (const r of rows) assert.ok(labelText.includes(r.name), `cost chart labels ${r.name}: ${labelText}`);
      assert.ok((await cost.locator('text.axis-title').allTextContents()).some((s) => s.includes('cost')), 'x axis is titled');

      // Metrics table: one line per row, accuracy printed as a percentage of the result's value.
      const trs = page.locator('table.metrics tbody tr');
      assert.equal(await trs.count(), rows.length);
      for (const [i, r] of rows.entries()) {
        const cells = await trs.nth(i).locator('td').allTextContents();
        assert.ok(cells[0]!.startsWith(r.name));
        // Each score with ± half its paired-bootstrap interval.
        assert.ok(r.intervals, `${r.name} has intervals`);
        assert.equal(cells[3], `${(100 * r.accuracy).toFixed(2)}%±${((100 * (r.intervals.accuracy.high - r.intervals.accuracy.low)) / 2).toFixed(2)}`);
        assert.equal(cells[5], `${r.logLoss.toFixed(4)}±${((r.intervals.logLoss.high - r.intervals.logLoss.low) / 2).toFixed(4)}`);
      }
      const agreement = await page.locator('table.agreement').textContent();
      assert.ok(agreement!.includes(`${(100 * result.oracleAccuracy).toFixed(2)}%`), 'oracle accuracy shown');
      assert.ok(agreement!.includes(`${(100 * result.agreement.all).toFixed(2)}%`), 'agreement shown');

      // Disagreements: every one listed with its row index and text; each member and method a column.
      const drows = page.locator('table.disagreements tbody tr');
      assert.ok(result.disagreements.length > 10, `members disagree on some rows (${result.disagreements.length})`);
      assert.equal(await drows.count(), result.disagreements.length);
      const first = result.disagreements[0]!;
      const firstCells = await drows.first().locator('td').allTextContents();
      // The row column is the line of the TSV (a header, no blank lines): index + 2.
      assert.equal(first.line, first.index + 2);
      assert.equal(firstCells[0], String(first.line));
      assert.equal(firstCells[1], first.text);
      assert.equal(firstCells[2], first.gold);
      assert.equal(firstCells.length, 3 + rows.length, 'text, gold, then one column per member and method');

      const png = path.join(SHOTS, 'report-full.png');
      await page.screenshot({ path: png, fullPage: true });
      for (const id of ['metrics', 'cost', 'reliability', 'risk-coverage', 'confusion']) await page.locator(`#${id}`).screenshot({ path: path.join(SHOTS, `report-${id}.png`) });
      const bytes = fs.readFileSync(png);
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
      assert.ok(bytes.length > 50_000, `a real picture (${bytes.length} bytes)`);
      t.diagnostic(`screenshots in ${SHOTS}`);
    } finally {
      await page.close();
    }
  });

  test('cost chart legend: each glyph is the chart mark it explains (same shape reference, fill, stroke and size)', async () => {
    const out = path.join(tmp, 'report-legend.html');
    writeReport(writeJson(path.join(tmp, 'eval-legend.json'), result), out);
    const o = await open(out);
    const { page } = o;
    try {
      assertQuiet(o);
      const look = (sel: string) =>
        page.locator(sel).evaluateAll((els) =>
          els.map((el) => {
            const cs = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            const href = el.getAttribute('href')!;
            const target = document.querySelectorAll(href).length === 1 ? document.querySelector(href)! : null;
            return { href, cls: el.getAttribute('class')!, fill: cs.fill, stroke: cs.stroke, strokeWidth: cs.strokeWidth, w: r.width, h: r.height, shape: target ? target.outerHTML : null };
          }),
        );
      const legend = await look('.legend.cost use');
      const marks = await look('svg.cost g.points use');
      assert.equal(marks.length, result.rows.length);
      const kinds = new Set(result.rows.map((r) => r.kind));
      assert.equal(legend.length, 2 * kinds.size, 'a filled and a hollow glyph per kind of row');
      for (const g of [...legend, ...marks]) assert.ok(g.shape !== null, `${g.href} names exactly one shape on the page`);
      const key = (g: { href: string; cls: string }) => `${g.href} ${g.cls}`;
      // Every mark in the chart has a legend glyph of the same shape and classes, drawn the same.
      for (const m of marks) {
        const g = legend.find((x) => key(x) === key(m));
        assert.ok(g, `legend has a glyph for ${key(m)}`);
        assert.deepEqual({ fill: g.fill, stroke: g.stroke, strokeWidth: g.strokeWidth, shape: g.shape }, { fill: m.fill, stroke: m.stroke, strokeWidth: m.strokeWidth, shape: m.shape }, key(m));
        assert.ok(Math.abs(g.w - m.w) < 0.5 && Math.abs(g.h - m.h) < 0.5, `${key(m)}: same size (${g.w}×${g.h} vs ${m.w}×${m.h})`);
      }
      // Shapes differ by kind, fills by Pareto membership: the legend's glyphs are all distinct.
      assert.equal(new Set(legend.map((g) => `${g.shape} ${g.fill} ${g.stroke}`)).size, legend.length);
      const member = legend.filter((g) => g.cls.includes('member'));
      assert.ok(member.every((g) => g.href === '#mark-member') && member.some((g) => g.fill === 'rgb(255, 255, 255)'), 'members: circles, hollow ones white inside');
      await page.locator('#cost').screenshot({ path: path.join(SHOTS, 'report-cost.png') });
    } finally {
      await page.close();
    }
  });

  test('cost chart with 23 methods at one cost and close scores: no two labels overlap, none covers a marker', async () => {
    const crowded = crowdedEval(real);
    const atOneCost = crowded.rows.filter((r) => r.kind !== 'member');
    assert.ok(atOneCost.every((r) => Math.abs(r.cost - atOneCost[0]!.cost) < 1e-9), 'every method has the same cost');
    const accs = new Set(atOneCost.map((r) => r.accuracy));
    assert.ok(accs.size >= 8, `many distinct accuracies (${accs.size})`);
    const out = path.join(tmp, 'report-crowded.html');
    writeReport(writeJson(path.join(tmp, 'eval-crowded.json'), crowded), out);
    const o = await open(out);
    const { page } = o;
    try {
      assertQuiet(o);
      const cost = page.locator('svg.cost');
      const chart = (await cost.boundingBox())!;
      const labels = await cost.locator('text.pt-label').evaluateAll((els) => els.map((el) => ({ text: el.textContent!, box: el.getBoundingClientRect().toJSON() as { x: number; y: number; width: number; height: number } })));
      const marks = await cost.locator('g.points use').evaluateAll((els) => els.map((el) => el.getBoundingClientRect().toJSON() as { x: number; y: number; width: number; height: number }));
      assert.equal(marks.length, crowded.rows.length);
      const all = labels.map((l) => l.text).join(' | ');
      for (const r of crowded.rows) assert.ok(all.includes(r.name), `${r.name} is labelled: ${all}`);
      for (const [i, a] of labels.entries()) {
        assert.ok(a.box.x >= chart.x && a.box.x + a.box.width <= chart.x + chart.width && a.box.y >= chart.y && a.box.y + a.box.height <= chart.y + chart.height, `label "${a.text}" lies inside the chart`);
        for (const b of labels.slice(i + 1)) assert.ok(!intersects(a.box, b.box), `labels "${a.text}" ${JSON.stringify(a.box)} and "${b.text}" ${JSON.stringify(b.box)} overlap`);
        for (const m of marks) assert.ok(!intersects(a.box, m), `label "${a.text}" covers a marker at ${JSON.stringify(m)}`);
      }
      await page.locator('#cost').screenshot({ path: path.join(SHOTS, 'report-cost-crowded.png') });
    } finally {
      await page.close();
    }
  });

  test('disagreements table: every column reachable by horizontal scroll, the header stays on top when scrolled', async () => {
    const out = path.join(tmp, 'report-table.html');
    writeReport(writeJson(path.join(tmp, 'eval-table.json'), result), out);
    // A laptop-sized window, narrower than the table.
    const o = await open(out);
    const { page } = o;
    try {
      await page.setViewportSize({ width: 1000, height: 700 });
      assertQuiet(o);
      const box = page.locator('#disagreements-scroll');
      await box.scrollIntoViewIfNeeded();
      const heads = box.locator('thead th');
      const columns = 3 + result.members.length + result.rows.filter((r) => r.kind !== 'member').length;
      assert.equal(await heads.count(), columns, 'line, text, gold, one column per member and per method');
      const dims = await box.evaluate((el) => ({ sw: el.scrollWidth, cw: el.clientWidth, sh: el.scrollHeight, ch: el.clientHeight }));
      assert.ok(dims.sw > dims.cw, `the table is wider than its box here (${dims.sw} > ${dims.cw}), so horizontal scrolling is exercised`);
      assert.ok(dims.sh > dims.ch, `the table is taller than its box (${dims.sh} > ${dims.ch})`);
      const frame = (await box.boundingBox())!;
      assert.ok(frame.height <= 700, `the box fits the window (${frame.height}px)`);
      assert.equal(await heads.first().evaluate((el) => getComputedStyle(el).position), 'sticky');

      // Scroll down: the header's cells sit at the box's top edge, drawn over the rows under them.
      await box.evaluate((el) => {
        el.scrollTop = 600;
      });
      const firstRow = (await box.locator('tbody tr').first().boundingBox())!;
      assert.ok(firstRow.y + firstRow.height < frame.y, 'the first rows scrolled out of the box');
      for (const i of [0, 1, columns - 1]) {
        const h = (await heads.nth(i).boundingBox())!;
        assert.ok(Math.abs(h.y - frame.y) <= 2, `header cell ${i} at the box top (${h.y} vs ${frame.y})`);
      }
      const onTop = await heads.nth(1).evaluate((el) => {
        const r = el.getBoundingClientRect();
        return el.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
      });
      assert.ok(onTop, 'the header is painted over the scrolled rows');

      // Scroll right to the end: the last column (header and cells) lies inside the box.
      await box.evaluate((el) => {
        el.scrollLeft = el.scrollWidth;
      });
      const last = (await heads.last().boundingBox())!;
      assert.ok(last.x >= frame.x - 1 && last.x + last.width <= frame.x + frame.width + 1, `last header cell inside the box (${last.x}..${last.x + last.width} in ${frame.x}..${frame.x + frame.width})`);
      assert.ok(Math.abs(last.y - frame.y) <= 2, 'still at the top after scrolling right');
      const lineHead = (await heads.first().boundingBox())!;
      assert.ok(Math.abs(lineHead.x - frame.x) <= 2 && Math.abs(lineHead.y - frame.y) <= 2, "the line column's header stays at the top-left corner");
      assert.equal(await heads.last().textContent(), result.rows.filter((r) => r.kind !== 'member').at(-1)!.name);
      const visibleCell = await box.evaluate((el) => {
        const b = el.getBoundingClientRect();
        const row = [...el.querySelectorAll('tbody tr')].find((tr) => tr.getBoundingClientRect().top > b.top + 40 && tr.getBoundingClientRect().bottom < b.bottom);
        const cell = row?.lastElementChild?.getBoundingClientRect();
        const line = row?.firstElementChild?.getBoundingClientRect();
        return cell && line ? { x: cell.x, r: cell.right, b: b.right, l: b.left, line: line.x } : null;
      });
      assert.ok(visibleCell && visibleCell.x >= visibleCell.l - 1 && visibleCell.r <= visibleCell.b + 1, `a row's last cell is visible: ${JSON.stringify(visibleCell)}`);
      assert.ok(Math.abs(visibleCell.line - visibleCell.l) <= 2, 'and its line cell stays at the left edge');
      await box.screenshot({ path: path.join(SHOTS, 'report-disagreements-scrolled.png') });
    } finally {
      await page.close();
    }
  });

  test('markup in texts, labels, member and method names, paths and the selection stays text', async () => {
    const h = hostile(result);
    const out = path.join(tmp, 'hostile.html');
    writeReport(writeJson(path.join(tmp, 'hostile.json'), h.result), out);
    const html = fs.readFileSync(out, 'utf8');
    for (const tag of ['<script', '<img', '<iframe', '<b>negative', '<u>rule', '<svg onload', '</td></tr></table><svg']) assert.ok(!html.includes(tag), `raw HTML must not contain ${tag}`);
    const o = await open(out);
    const { page } = o;
    try {
      assertQuiet(o);
      assert.equal(await page.locator('script, img, iframe, b:text("negative"), u').count(), 0, 'no element was created from data');
      assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined', 'nothing ran');
      assert.equal(await page.locator('body').isVisible(), true, 'an injected style did not hide the page');
      const cell = page.locator('table.disagreements tbody tr').first().locator('td.text');
      assert.equal(await cell.textContent(), `${h.text} ‖ ${h.pair}`, 'the hostile input is shown literally');
      assert.equal(await page.locator('table.disagreements tbody tr').first().locator('td').count(), 3 + result.rows.length, 'the injected </td></tr> did not break the row');
      assert.equal(await page.locator('table.disagreements thead th').nth(3).textContent(), h.member);
      assert.ok((await page.locator('svg.confusion').first().locator('text.tick').allTextContents()).some((s) => s.startsWith('<b>negative')), 'label shown literally (shortened) in the matrix');
      assert.ok((await page.locator('table.metrics').textContent())!.includes(h.method));
      assert.ok((await page.locator('.selection').textContent())!.includes('<script>window.__pwned = 5</script>'));
      assert.equal(await page.locator('svg.reliability').count(), result.rows.length, 'charts still drawn');
      assert.equal(await page.locator('svg.cost .pt').count(), result.rows.length);
    } finally {
      await page.close();
    }
  });

  test('combined folder with summary metrics only: table and cost chart, and the page says what is missing', async () => {
    const dir = path.join(tmp, 'combined-summary');
    await real.combined(dir, 'mean');
    const out = path.join(tmp, 'summary.html');
    const written = writeReport(dir, out);
    assert.equal(written.details, false);
    const o = await open(out);
    const { page } = o;
    try {
      assertQuiet(o);
      assert.ok(await page.locator('#no-details').isVisible());
      assert.match((await page.locator('#no-details').textContent())!, /Per-row details are absent/);
      assert.equal(await page.locator('svg.reliability').count(), 0);
      assert.equal(await page.locator('svg.confusion').count(), 0);
      assert.equal(await page.locator('table.disagreements').count(), 0);
      assert.equal(await page.locator('table.metrics tbody tr').count(), result.rows.length);
      assert.equal(await page.locator('svg.cost .pt').count(), result.rows.length);
      // The summary has no Pareto mark; recomputed from accuracy and cost it must match the eval's.
      assert.equal(await page.locator('svg.cost .pt.pareto').count(), result.rows.filter((r) => r.pareto).length);
      const exported = page.locator('table.metrics tbody tr', { has: page.locator('.badge.export') });
      assert.equal(await exported.count(), 1);
      assert.ok((await exported.locator('td').first().textContent())!.startsWith('mean'));
      await page.screenshot({ path: path.join(SHOTS, 'report-summary.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  test(`combined folder carrying ${EVAL_FILE}: the full report, with the exported method marked`, async () => {
    const dir = path.join(tmp, 'combined-full');
    await real.combined(dir, 'weighted');
    writeJson(path.join(dir, EVAL_FILE), result);
    const out = path.join(tmp, 'combined.html');
    assert.equal(writeReport(dir, out).details, true);
    const o = await open(out);
    const { page } = o;
    try {
      assertQuiet(o);
      assert.equal(await page.locator('#no-details').count(), 0);
      assert.equal(await page.locator('svg.reliability').count(), result.rows.length);
      assert.equal(await page.locator('table.disagreements tbody tr').count(), result.disagreements.length);
      const exported = page.locator('table.metrics tbody tr', { has: page.locator('.badge.export') });
      assert.ok((await exported.locator('td').first().textContent())!.startsWith('weighted'));
    } finally {
      await page.close();
    }
  });
});
