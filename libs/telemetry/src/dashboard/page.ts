/**
 * The dashboard page: plain HTML, CSS and a script (no framework, no build). It draws the graph
 * the server rendered, then polls `/api/metrics` every second and writes rates, counts, lag and
 * watermarks into the graph and the table, and keeps the last five minutes of each operator's
 * rate, lag and watermark to plot them over time (the page's own memory: a reload starts
 * over); dead letters are grouped by reason. The state browser and the logs ask on demand.
 */
import { esc } from './graph.ts';

const STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #111827; background: #f3f4f6; }
body { margin: 0; }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #111827; color: #f9fafb; }
header h1 { font-size: 18px; margin: 0; }
header .mode { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #374151; }
header .updated { margin-left: auto; font-size: 12px; color: #9ca3af; }
main { padding: 16px 20px; display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
section { background: #fff; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); padding: 12px 16px; }
section h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: #4b5563; margin: 0 0 10px; }
#graph { overflow: auto; }
#graph svg { max-width: 100%; height: auto; }
svg.graph .edge { fill: none; stroke: #9ca3af; stroke-width: 1.5; }
svg.graph .edge.shuffle { stroke: #7c3aed; }
svg.graph .edge.state-write { stroke: #d97706; }
svg.graph .edge.state-ref { stroke: #d97706; stroke-dasharray: 5 4; }
svg.graph .operator rect { fill: #eff6ff; stroke: #2563eb; stroke-width: 1.5; }
svg.graph .topic rect { fill: #f9fafb; stroke: #6b7280; }
svg.graph .state path { fill: #fffbeb; stroke: #d97706; stroke-width: 1.5; }
svg.graph text { font-size: 12px; fill: #111827; }
svg.graph text.label { font-weight: 600; }
svg.graph text.detail { fill: #6b7280; font-size: 11px; }
svg.graph text.live { fill: #1d4ed8; font-variant-numeric: tabular-nums; }
svg.graph text.small { font-size: 11px; fill: #374151; }
svg.graph circle.status { fill: #d1d5db; }
svg.graph .operator.running circle.status { fill: #10b981; }
svg.graph .operator.ended circle.status { fill: #6b7280; }
svg.graph .operator.failed circle.status { fill: #dc2626; }
svg.graph .operator.failing circle.status { fill: #f59e0b; }
svg.graph .operator.failing rect { stroke: #f59e0b; stroke-width: 2.5; }
#operators td.failing { color: #b45309; font-weight: 600; }
svg.graph .operator.busy rect { fill: #dbeafe; }
table { border-collapse: collapse; width: 100%; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 5px 8px; border-bottom: 1px solid #e5e7eb; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { color: #6b7280; font-weight: 600; }
td.warn { color: #b45309; font-weight: 600; }
a { color: #2563eb; }
.problems li { margin: 4px 0; font-size: 13px; }
.problems .reason { color: #374151; font-family: ui-monospace, monospace; font-size: 12px; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
input, select, button { font: inherit; font-size: 13px; padding: 4px 8px; }
pre { background: #f9fafb; padding: 8px; border-radius: 6px; font-size: 12px; max-height: 260px; overflow: auto; margin: 8px 0 0; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.empty { color: #9ca3af; font-size: 13px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.plot { border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px 8px; }
.plot h3 { font-size: 12px; margin: 0 0 4px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.plot svg { width: 100%; height: 54px; display: block; }
.plot polyline { fill: none; stroke-width: 1.5; }
.plot polyline[data-series=rate] { stroke: #2563eb; }
.plot polyline[data-series=lag] { stroke: #dc2626; }
.plot polyline[data-series=watermark] { stroke: #059669; }
.plot .legend { font-size: 11px; color: #6b7280; display: flex; gap: 10px; }
.plot .legend b { font-weight: 600; }
.reason-count { font-variant-numeric: tabular-nums; color: #b45309; font-weight: 600; margin-right: 6px; }
`;

const SCRIPT = `
const $ = (s) => document.querySelector(s);
const fmt = (n) => n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });
const wm = (w) => w === undefined || w === null ? '–' : w === '+Infinity' ? 'end' : w === '-Infinity' ? '–' : new Date(w).toISOString().replace('T', ' ').replace('.000Z', 'Z');
let overview, last, polls = 0;
const rates = new Map();
/** operator -> [{ t, rate, lag, watermark }], the last HISTORY polls. */
const history = new Map();
const HISTORY = 300;

async function getJson(url) {
  const r = await fetch(url, { cache: 'no-store' });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function start() {
  overview = await getJson('/api/overview');
  document.title = 'ssdk · ' + overview.title;
  $('#title').textContent = overview.title;
  $('#mode').textContent = overview.mode;
  $('#graph').innerHTML = overview.svg;
  const sel = $('#state-name');
  for (const s of overview.states) { const o = document.createElement('option'); o.value = o.textContent = s; sel.appendChild(o); }
  if (overview.states.length === 0) { $('#state-form').hidden = true; $('#state-result').textContent = 'This dataflow keeps no state.'; }
  $('#state-form').addEventListener('submit', (e) => { e.preventDefault(); lookup(); });
  await poll();
  setInterval(poll, 1000);
  refreshLogs();
  setInterval(refreshLogs, 3000);
}

async function poll() {
  let m;
  try { m = await getJson('/api/metrics'); } catch (e) { $('#updated').textContent = 'not answering: ' + e.message; return; }
  polls++;
  for (const op of m.operators) {
    const prev = last && last.operators.find((p) => p.operator === op.operator);
    if (prev && m.time > last.time) rates.set(op.operator, (op.recordsIn - prev.recordsIn) / ((m.time - last.time) / 1000));
  }
  last = m;
  $('#updated').textContent = 'updated ' + new Date(m.time).toLocaleTimeString() + ' · poll ' + polls;
  $('#updated').dataset.polls = String(polls);
  for (const op of m.operators) {
    const h = history.get(op.operator) || [];
    const w = typeof op.watermark === 'number' ? op.watermark : undefined;
    h.push({ t: m.time, rate: rates.get(op.operator), lag: op.lag, watermark: w });
    if (h.length > HISTORY) h.shift();
    history.set(op.operator, h);
  }
  drawGraph(m);
  drawTable(m);
  drawHistory(m);
  drawProblems(m);
}

/** One small plot per operator: records/s, lag and watermark over the polls kept. */
function drawHistory(m) {
  const ops = m.operators.slice().sort((a, b) => order(a.operator) - order(b.operator));
  const box = $('#history');
  for (const op of ops) {
    let plot = box.querySelector('.plot[data-operator="' + CSS.escape(op.operator) + '"]');
    if (!plot) {
      plot = document.createElement('div');
      plot.className = 'plot';
      plot.dataset.operator = op.operator;
      plot.innerHTML = '<h3></h3><svg viewBox="0 0 300 54" preserveAspectRatio="none"><polyline data-series="rate"/><polyline data-series="lag"/><polyline data-series="watermark"/></svg><div class="legend"></div>';
      plot.querySelector('h3').textContent = op.operator;
      box.appendChild(plot);
    }
    const h = history.get(op.operator) || [];
    const t0 = h.length ? h[0].t : 0, t1 = h.length ? h[h.length - 1].t : 1;
    for (const series of ['rate', 'lag', 'watermark']) {
      const pts = h.filter((p) => typeof p[series] === 'number' && isFinite(p[series]));
      const values = pts.map((p) => p[series]);
      const lo = series === 'watermark' ? Math.min(...values) : 0, hi = Math.max(...values, lo + 1);
      const line = plot.querySelector('polyline[data-series=' + series + ']');
      line.setAttribute('points', pts.map((p) => ((t1 > t0 ? (p.t - t0) / (t1 - t0) : 1) * 300).toFixed(1) + ',' + (52 - ((p[series] - lo) / (hi - lo)) * 50).toFixed(1)).join(' '));
      line.dataset.points = String(pts.length);
    }
    const now = h[h.length - 1] || {};
    plot.querySelector('.legend').innerHTML = '<span style="color:#2563eb">rec/s <b>' + fmt(now.rate) + '</b></span><span style="color:#dc2626">lag <b>' + fmt(now.lag) + '</b></span><span style="color:#059669">watermark <b>' + (now.watermark === undefined ? '–' : wm(now.watermark).slice(11)) + '</b></span>';
  }
  $('#history-span').textContent = polls > 1 ? '· the last ' + Math.min(polls, HISTORY) + ' s' : '';
}

function drawGraph(m) {
  for (const g of document.querySelectorAll('svg.graph .operator')) {
    const op = m.operators.find((o) => o.operator === g.dataset.operator);
    const rate = rates.get(g.dataset.operator);
    g.classList.remove('running', 'ended', 'failed', 'failing', 'busy');
    if (!op) continue;
    if (op.state) g.classList.add(op.state);
    // Why it cannot make progress, on hover.
    g.querySelector('title').textContent = g.dataset.operator + (op.reason ? ' — ' + op.state + ': ' + op.reason : '');
    if (rate > 0) g.classList.add('busy');
    g.querySelector('[data-field=rate]').textContent = (rate === undefined ? '–' : fmt(rate)) + ' rec/s' + (op.lag ? ' · lag ' + fmt(op.lag) : '');
    g.querySelector('[data-field=counts]').textContent = 'in ' + fmt(op.recordsIn) + ' · out ' + fmt(op.recordsOut) + (op.failed ? ' · failed ' + fmt(op.failed) : '') + (op.late ? ' · late ' + fmt(op.late) : '');
  }
}

function drawTable(m) {
  const rows = m.operators.slice().sort((a, b) => order(a.operator) - order(b.operator)).map((op) => {
    const jaeger = overview.jaegerUrl + '/search?service=' + encodeURIComponent(op.operator) + '&operation=process&limit=20';
    const lat = op.batchLatencyMs ? fmt(op.batchLatencyMs.p50) + ' / ' + fmt(op.batchLatencyMs.p99) : '–';
    return '<tr data-operator="' + esc(op.operator) + '"><td>' + esc(op.operator) + '</td><td class="' + esc(op.state || '') + '" data-field="state">' + esc(op.state || '–') + (op.reason ? ': ' + esc(op.reason) : '') + '</td>' +
      '<td data-field="in">' + fmt(op.recordsIn) + '</td><td>' + fmt(op.recordsOut) + '</td>' +
      '<td class="' + (op.failed ? 'warn' : '') + '">' + fmt(op.failed) + '</td><td class="' + (op.late ? 'warn' : '') + '">' + fmt(op.late) + '</td>' +
      '<td>' + fmt(rates.get(op.operator)) + '</td><td>' + fmt(op.lag) + '</td><td>' + wm(op.watermark) + '</td><td>' + fmt(op.stateRows) + '</td>' +
      '<td>' + lat + '</td><td><a href="' + jaeger + '" target="_blank" rel="noopener">traces</a></td></tr>';
  });
  $('#operators tbody').innerHTML = rows.join('');
}

function order(id) {
  const i = overview.graph.nodes.findIndex((n) => n.id === id);
  return i < 0 ? 1e9 : i;
}

function drawProblems(m) {
  const shown = m.problems.filter((p) => p.count > 0 || p.latest.length > 0);
  $('#problems').innerHTML = shown.length === 0 ? '<p class="empty">No dead letters, no late events.</p>' : '<ul class="problems">' + shown.map((p) =>
    '<li><strong>' + esc(p.topic) + '</strong> — ' + fmt(p.count) + ' ' + (p.kind === 'dead-letter' ? 'dead-lettered' : 'late') +
    '<ul>' + byReason(p.latest).map((g) => '<li data-reason="' + esc(g.reason) + '"><span class="reason-count">×' + g.count + '</span><span class="reason">' + esc(g.reason) + '</span>' + (g.operators.length ? ' <em>(' + g.operators.map(esc).join(', ') + ')</em>' : '') + '</li>').join('') + '</ul></li>').join('') + '</ul>';
}

/** The latest records of a problem topic grouped by reason, the most frequent first. */
function byReason(latest) {
  const groups = new Map();
  for (const r of latest) {
    const g = groups.get(r.reason) || { reason: r.reason, count: 0, operators: [] };
    g.count++;
    if (r.operator && !g.operators.includes(r.operator)) g.operators.push(r.operator);
    groups.set(r.reason, g);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

async function lookup() {
  const state = $('#state-name').value, key = $('#state-key').value;
  try {
    const r = await getJson('/api/state?state=' + encodeURIComponent(state) + '&key=' + encodeURIComponent(key));
    $('#state-result').textContent = !r.found ? 'no value for key ' + JSON.stringify(key) + ' in ' + state
      : JSON.stringify(r.windows ? r.windows.map((w) => ({ window: wm(w.start) + ' – ' + wm(w.end), value: w.value })) : r.value, null, 2);
  } catch (e) { $('#state-result').textContent = 'error: ' + e.message; }
}

async function refreshLogs() {
  try {
    const { lines } = await getJson('/api/logs?limit=50');
    $('#logs').textContent = lines.length === 0 ? 'No function log lines yet (ctx.log).' :
      lines.map((l) => new Date(l.time).toISOString() + ' ' + l.operator + ' p' + l.partition + '@' + l.offset + ' ' + l.message).join('\\n');
  } catch { /* the next poll tells */ }
}

function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]); }
start().catch((e) => { $('#updated').textContent = 'failed to load: ' + e.message; });
`;

export function dashboardPage(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssdk · ${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1 id="title">${esc(title)}</h1><span class="mode" id="mode"></span><span class="updated" id="updated">loading…</span></header>
<main>
<section><h2>Dataflow</h2><div id="graph"></div></section>
<section><h2>Over time <span class="empty" id="history-span"></span></h2><div class="plots" id="history"></div></section>
<section><h2>Operators</h2>
<table id="operators"><thead><tr><th>operator</th><th>state</th><th>in</th><th>out</th><th>failed</th><th>late</th><th>rec/s</th><th>lag</th><th>watermark</th><th>state rows</th><th>batch ms p50 / p99</th><th>Jaeger</th></tr></thead><tbody></tbody></table>
</section>
<div class="cols">
<section><h2>Dead letters and late events</h2><div id="problems"><p class="empty">…</p></div></section>
<section><h2>State</h2>
<form id="state-form" class="row"><select id="state-name"></select><input id="state-key" placeholder="key" autocomplete="off"><button type="submit">Look up</button></form>
<pre id="state-result">Pick a state and a key.</pre>
</section>
</div>
<section><h2>Function logs</h2><pre id="logs">…</pre></section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
