// Line charts drawn as inline SVG (no library): a time axis over the last hour, a value axis
// from zero to a rounded maximum, one path per series. A step without a value (no calls, so no
// latency) breaks the line rather than being bridged, and a lone value is drawn as a dot.

const NS = 'http://www.w3.org/2000/svg';
const W = 560;
const H = 180;
const PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const has = v => v !== null && v !== undefined && !Number.isNaN(v);

/**
 * One chart: series is [{key, label, cls}], points [{at, [key]: number|null}] one per step. The
 * legend holds each series' latest value (from the last step that had one: the current step is
 * often still empty) for screen readers and tests.
 */
export function lineChart({ id, title, unit, series, points, windowMs = 3_600_000 }) {
  const now = points.length ? points[points.length - 1].at : Date.now();
  // The axis spans what has been sampled (at least a minute, at most the window), so the first
  // minutes of a freshly opened page are a line and not a sliver at the right edge.
  const first = points.length ? points[0].at : now;
  const span = Math.min(windowMs, Math.max(60_000, now - first));
  const start = now - span;
  windowMs = span;
  const visible = points.filter(p => p.at >= start);
  const max = niceMax(Math.max(0, ...visible.flatMap(p => series.map(s => p[s.key] ?? 0))));
  const x = t => PAD.left + ((t - start) / windowMs) * (W - PAD.left - PAD.right);
  const y = v => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart', 'data-testid': `chart-${id}`,
    'aria-label': `${title} over the last ${Math.round(span / 60_000)} minutes`,
  });
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    root.append(svg('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v), class: 'grid' }));
    root.append(svg('text', { x: PAD.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' }, fmt(v)));
  }
  const ago = ms => (ms >= 120_000 ? `-${Math.round(ms / 60_000)} min` : `-${Math.round(ms / 1000)} s`);
  for (const [label, t] of [[ago(span), start], [ago(span / 2), start + span / 2], ['now', now]]) {
    root.append(svg('text', { x: x(t), y: H - 6, class: 'tick',
      'text-anchor': t === start ? 'start' : t === now ? 'end' : 'middle' }, label));
  }
  const latest = {};
  for (const s of series) {
    const parts = [];
    let run = [];
    let count = 0;
    const flush = () => {
      if (run.length === 1) parts.push(`M${run[0]} h0.1`); // a dot, with the round line caps
      else if (run.length) parts.push(run.map((xy, i) => `${i ? 'L' : 'M'}${xy}`).join(' '));
      run = [];
    };
    for (const p of visible) {
      if (!has(p[s.key])) { flush(); continue; }
      run.push(`${x(p.at).toFixed(1)},${y(p[s.key]).toFixed(1)}`);
      latest[s.key] = p[s.key];
      count++;
    }
    flush();
    root.append(svg('path', { d: parts.join(' ') || 'M0,0', class: `line ${s.cls}`, 'data-testid': `chart-${id}-${s.key}`,
      'data-points': count, 'data-last': has(latest[s.key]) ? latest[s.key] : '' }));
  }

  const figure = document.createElement('figure');
  figure.className = 'chart-box';
  figure.setAttribute('data-testid', `chart-box-${id}`);
  const caption = document.createElement('figcaption');
  const strong = document.createElement('strong');
  strong.textContent = title;
  caption.append(strong);
  const legend = document.createElement('span');
  legend.className = 'legend';
  for (const s of series) {
    const item = document.createElement('span');
    item.className = `key ${s.cls}`;
    item.setAttribute('data-testid', `chart-${id}-${s.key}-now`);
    item.textContent = has(latest[s.key]) ? `${s.label} ${fmt(latest[s.key])} ${unit}` : `${s.label} no calls yet`;
    legend.append(item);
  }
  caption.append(legend);
  figure.append(caption, root);
  return figure;
}
