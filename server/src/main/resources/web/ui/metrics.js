// Live serving figures computed in the browser from /metrics (Prometheus text, admin scope):
// one sampler polls every few seconds while it has subscribers and keeps a rolling hour of
// samples; series are rates between consecutive samples (counters are cumulative).

import { request } from './api.js';

export const POLL_MS = 3_000;
const WINDOW_MS = 60 * 60_000;

/** Parses Prometheus text into [{name, labels, value}]. */
export function parse(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
      }
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** The figures one scrape holds for a model: inference count and buckets, predict requests and errors. */
export function snapshot(samples, model) {
  const s = { at: 0, count: 0, answered: 0, hits: 0, buckets: new Map(), requests: 0, errors: 0 };
  for (const { name, labels, value } of samples) {
    if (labels.model === model && name === 'serveml_predictions_total') {
      s.answered += value;
      if (labels.cache === 'hit') s.hits += value;
    } else if (labels.model === model && name === 'serveml_inference_seconds_count') s.count += value;
    else if (labels.model === model && name === 'serveml_inference_seconds_bucket') {
      const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
      s.buckets.set(le, (s.buckets.get(le) || 0) + value);
    } else if (name === 'serveml_http_requests_seconds_count' && /\/(predict|infer)$/.test(labels.route || '')) {
      s.requests += value;
      const status = Number(labels.status);
      if (status >= 500 || status === 429) s.errors += value;
    }
  }
  return s;
}

/** The q-quantile (0..1) of the observations between two cumulative bucket sets, in ms; null if none. */
export function quantile(before, after, q) {
  const les = [...after.buckets.keys()].sort((a, b) => a - b);
  const total = after.count - before.count;
  if (!(total > 0) || les.length === 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCum = 0;
  for (const le of les) {
    const cum = (after.buckets.get(le) || 0) - (before.buckets.get(le) || 0);
    if (cum >= rank) {
      if (le === Infinity) return prevLe * 1000;
      const inBucket = cum - prevCum;
      const frac = inBucket > 0 ? (rank - prevCum) / inBucket : 1;
      return (prevLe + (le - prevLe) * frac) * 1000;
    }
    prevLe = le;
    prevCum = cum;
  }
  return prevLe * 1000;
}

/** One point of each series from two snapshots. */
export function point(before, after) {
  const seconds = (after.at - before.at) / 1000;
  // Answers include cache hits, which never reach the model (and so its latency histogram).
  const calls = Math.max(0, after.answered - before.answered);
  const requests = Math.max(0, after.requests - before.requests);
  const errors = Math.max(0, after.errors - before.errors);
  return {
    at: after.at,
    rps: seconds > 0 ? calls / seconds : 0,
    p50: quantile(before, after, 0.5),
    p95: quantile(before, after, 0.95),
    p99: quantile(before, after, 0.99),
    errorRate: requests > 0 ? (100 * errors) / requests : 0,
  };
}

/** Polls /metrics while anyone watches a model; each watcher gets the model's points so far. */
class Sampler {
  constructor() {
    this.snapshots = [];
    this.watchers = new Set();
    this.timer = null;
  }

  watch(onUpdate) {
    this.watchers.add(onUpdate);
    if (!this.timer) {
      this.tick();
      this.timer = setInterval(() => this.tick(), POLL_MS);
    } else {
      onUpdate({ scrapes: this.snapshots });
    }
    return () => {
      this.watchers.delete(onUpdate);
      if (this.watchers.size === 0) { clearInterval(this.timer); this.timer = null; }
    };
  }

  reset() {
    this.snapshots = [];
  }

  async tick() {
    let error = null;
    try {
      const text = await request('GET', '/metrics');
      const now = Date.now();
      this.snapshots.push({ at: now, samples: parse(text) });
      while (this.snapshots.length && this.snapshots[0].at < now - WINDOW_MS) this.snapshots.shift();
    } catch (e) {
      error = e;
    }
    this.watchers.forEach(fn => fn({ scrapes: this.snapshots, error }));
  }
}

export const sampler = new Sampler();

/** The points of one model over the window kept so far. */
export function series(scrapes, model) {
  const snaps = scrapes.map(s => ({ ...snapshot(s.samples, model), at: s.at }));
  const points = [];
  for (let i = 1; i < snaps.length; i++) {
    // A gap longer than a few polls (the page was closed) is not a rate.
    if (snaps[i].at - snaps[i - 1].at <= POLL_MS * 4) points.push(point(snaps[i - 1], snaps[i]));
  }
  return points;
}
