// The stats page (GET /v1/stats): tiles of counts and two charts drawn here as inline SVG —
// p50/p95 per stage and items per error code (no chart library).

import { api } from './api.js';
import { h, s, clear, count, millis } from './dom.js';
import { meaning } from './error_codes.js';

const POLL_MS = 10000;

export function statsView(root) {
  const updated = h('span', { class: 'muted', id: 'stats-updated' });
  const content = h('div', { id: 'stats' });
  root.append(h('section', { class: 'card' }, h('h2', {}, 'Stats'), h('div', { class: 'row' }, updated)), content);
  let timer = null;
  let stopped = false;
  async function refresh() {
    try {
      const stats = await api('/v1/stats');
      if (stopped) return;
      render(content, stats);
      updated.textContent = `updated ${new Date().toLocaleTimeString()} · every ${POLL_MS / 1000} s`;
    } catch (error) {
      updated.textContent = `Could not load stats: ${error.message}`;
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function tile(label, value) {
  return h('div', { class: 'tile' }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
}

function render(root, stats) {
  clear(root);
  const depth = stats.queue?.depth;
  const hitRate = stats.cache?.hit_rate;
  root.append(h('div', { class: 'tiles' },
    tile('jobs', count(stats.jobs?.total)),
    tile('items', count(stats.items?.total)),
    tile('items succeeded', count(stats.items?.by_status?.succeeded ?? 0)),
    tile('items failed', count(stats.items?.by_status?.failed ?? 0)),
    tile('cache hit rate', typeof hitRate === 'number' ? `${(hitRate * 100).toFixed(1)} %` : '—'),
    tile('queue waiting', depth ? count(depth.pending + depth.scheduled) : 'unknown'),
    tile('queue running', depth ? count(depth.running) : 'unknown'),
    tile('live workers', count(stats.workers?.live)),
    tile('requests / s (limit)', count(stats.limits?.requests_per_second)),
    tile('URLs / min (limit)', count(stats.limits?.urls_per_minute))));

  const stages = Object.entries(stats.stage_timings_ms || {});
  const errors = Object.entries(stats.items?.by_error_code || {}).sort((a, b) => b[1] - a[1]);
  root.append(h('div', { class: 'charts' },
    h('section', { class: 'card' }, h('h3', {}, 'Stage timings (ms, p50 and p95)'),
      stages.length ? stageChart(stages) : h('p', { class: 'muted' }, 'No timings yet.')),
    h('section', { class: 'card' }, h('h3', {}, 'Failed items by error code'),
      errors.length ? errorChart(errors) : h('p', { class: 'muted' }, 'No failed items.'))));

  root.append(h('section', { class: 'card' }, h('h3', {}, 'By status'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'status'), h('th', { class: 'num' }, 'jobs'), h('th', { class: 'num' }, 'items'))),
      h('tbody', {}, statusRows(stats)))));
}

function statusRows(stats) {
  const names = new Set([...Object.keys(stats.jobs?.by_status || {}), ...Object.keys(stats.items?.by_status || {})]);
  return [...names].sort().map((name) => h('tr', {},
    h('td', {}, name),
    h('td', { class: 'num' }, count(stats.jobs?.by_status?.[name] ?? 0)),
    h('td', { class: 'num' }, count(stats.items?.by_status?.[name] ?? 0))));
}

const LABEL_WIDTH = 110;
const CHART_WIDTH = 520;
const VALUE_WIDTH = 80;

/** Horizontal bars: per stage a p50 bar over a p95 bar, scaled to the largest p95. */
function stageChart(stages) {
  const row = 30;
  const height = stages.length * row + 24;
  const max = Math.max(...stages.map(([, value]) => value.p95 || 0), 1);
  const span = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const svg = s('svg', { class: 'chart', id: 'stage-chart', viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: 'img', 'aria-label': 'stage timings' });
  stages.forEach(([stage, value], index) => {
    const y = index * row + 4;
    const p50 = Math.max(1, (value.p50 / max) * span);
    const p95 = Math.max(1, (value.p95 / max) * span);
    svg.append(
      s('text', { x: 0, y: y + 15 }, stage),
      s('rect', { class: 'p95', x: LABEL_WIDTH, y: y + 2, width: p95, height: 10 },
        s('title', {}, `${stage} p95 ${millis(value.p95)} (${value.samples} samples)`)),
      s('rect', { class: 'p50', x: LABEL_WIDTH, y: y + 13, width: p50, height: 10 },
        s('title', {}, `${stage} p50 ${millis(value.p50)}`)),
      s('text', { x: LABEL_WIDTH + p95 + 4, y: y + 11 }, millis(value.p95)),
      s('text', { x: LABEL_WIDTH + p50 + 4, y: y + 22 }, millis(value.p50)));
  });
  const legendY = stages.length * row + 18;
  svg.append(
    s('rect', { class: 'p50', x: LABEL_WIDTH, y: legendY - 9, width: 10, height: 10 }),
    s('text', { x: LABEL_WIDTH + 14, y: legendY }, 'p50'),
    s('rect', { class: 'p95', x: LABEL_WIDTH + 60, y: legendY - 9, width: 10, height: 10 }),
    s('text', { x: LABEL_WIDTH + 74, y: legendY }, 'p95'));
  return svg;
}

/** Horizontal bars of failed items per error code, with the code's meaning on hover. */
function errorChart(errors) {
  const row = 22;
  const labelWidth = 190;
  const height = errors.length * row + 6;
  const max = Math.max(...errors.map(([, n]) => n), 1);
  const span = CHART_WIDTH - labelWidth - 50;
  const svg = s('svg', { class: 'chart', id: 'error-chart', viewBox: `0 0 ${CHART_WIDTH} ${height}`, role: 'img', 'aria-label': 'error codes' });
  errors.forEach(([code, n], index) => {
    const y = index * row + 4;
    const width = Math.max(1, (n / max) * span);
    svg.append(
      s('text', { x: 0, y: y + 12 }, code, s('title', {}, meaning(code))),
      s('rect', { class: 'bar', x: labelWidth, y: y + 2, width, height: 14 }, s('title', {}, `${code}: ${n} — ${meaning(code)}`)),
      s('text', { x: labelWidth + width + 4, y: y + 13 }, String(n)));
  });
  return svg;
}
