// Serving figures from the server's statistics endpoints (GET .../stats: a rolling hour in
// 10 s steps, readable by each model's or deployment's owner), polled while a page shows them.

import { request } from './api.js';
import { h, replace, loading, problem, empty } from './dom.js';
import { lineChart } from './chart.js';

export const POLL_MS = 5_000;

/** Chart points from a report: per step, calls per second, latency percentiles, error and hit rates. */
export function points(report) {
  const step = report.step_seconds || 10;
  return report.points.map(p => ({
    at: Date.parse(p.at),
    rps: p.requests / step,
    p50: p.p50_ms,
    p95: p.p95_ms,
    p99: p.p99_ms,
    errorRate: p.requests ? (100 * p.errors) / p.requests : null,
    hitRate: p.requests ? (100 * p.cache_hits) / p.requests : null,
  }));
}

function fmt(v, digits = 1) {
  return v === null || v === undefined ? '—' : Number(v).toFixed(digits);
}

/** "12.0/min · p95 3.1 ms" for a list row, from a report's summary. */
export function summaryText(summary) {
  if (!summary || !summary.requests) return 'no calls in 5 min';
  return `${fmt(summary.requests_per_minute)}/min · p95 ${fmt(summary.p95_ms, 2)} ms`;
}

/**
 * A "Serving, last hour" card for the stats at `path`, redrawn every POLL_MS; answers
 * {section, stop}. `what` names the thing in the empty state.
 */
export function statsSection(path, what) {
  const box = h('div', { class: 'charts', 'data-testid': 'charts' }, loading('the serving figures', 'charts-loading'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'charts-h' },
    h('h2', { id: 'charts-h' }, 'Serving, last hour'), box);
  let timer = null;
  let stopped = false;
  const tick = async () => {
    let report;
    try {
      report = await request('GET', path);
    } catch (e) {
      if (!stopped) replace(box, problem(e, 'charts-error', 'Could not read the serving figures'));
      return;
    }
    if (stopped) return;
    const pts = points(report);
    if (!pts.length) {
      replace(box, empty('charts-empty', 'No calls in the last hour',
        h('p', {}, `Charts appear once ${what} answers calls: try the test console above, or call the endpoint.`)));
      return;
    }
    const windowMs = report.window_seconds * 1000;
    const s = report.summary;
    replace(box,
      lineChart({ id: 'rps', title: 'Requests per second', unit: 'req/s', points: pts, windowMs,
        series: [{ key: 'rps', label: 'latest', cls: 's1' }] }),
      lineChart({ id: 'latency', title: 'Latency', unit: 'ms', points: pts, windowMs,
        series: [{ key: 'p50', label: 'p50', cls: 's1' }, { key: 'p95', label: 'p95', cls: 's2' }, { key: 'p99', label: 'p99', cls: 's3' }] }),
      lineChart({ id: 'errors', title: 'Error rate (5xx)', unit: '%', points: pts, windowMs,
        series: [{ key: 'errorRate', label: 'latest', cls: 's3' }] }),
      lineChart({ id: 'cache', title: 'Cache hit rate', unit: '%', points: pts, windowMs,
        series: [{ key: 'hitRate', label: 'latest', cls: 's1' }] }),
      h('p', { class: 'muted small', 'data-testid': 'charts-summary' },
        `Last ${Math.round(report.summary_seconds / 60)} min: ${s.requests} calls, ${fmt(s.requests_per_minute)} per minute, `
        + `p95 ${fmt(s.p95_ms, 2)} ms, errors ${s.error_rate === null ? '—' : fmt(100 * s.error_rate)} %, `
        + `cache hits ${s.cache_hit_rate === null ? '—' : fmt(100 * s.cache_hit_rate)} %. `
        + `One point per ${report.step_seconds} s; latency is the server's time to answer, successful calls only.`));
  };
  tick();
  timer = setInterval(tick, POLL_MS);
  return { section, stop: () => { stopped = true; clearInterval(timer); } };
}
