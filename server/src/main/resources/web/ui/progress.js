// A deployment's rollout as it happens: its event stream (replayed from the start, then live,
// closed by the server once the deployment is active or failed) drawn as a progress bar, the
// steps with their messages, and the failure in full (pip's or the loader's words). A Hub
// import's progress the same way: its phases, bytes, rate and ETA.

import { request, streamEvents } from './api.js';
import { h, replace, badge, problem } from './dom.js';

const RETRY_MS = 2_000;

/**
 * The progress view of deployment `name`; onSettled(status) runs once when it is active or
 * failed. Answers {element, stop}.
 */
export function rolloutProgress(name, onSettled = () => {}) {
  const bar = h('progress', { max: '100', value: '0', 'data-testid': 'rollout-progress', 'aria-label': 'Rollout progress' });
  const percent = h('span', { class: 'muted', 'data-testid': 'rollout-percent' }, '0%');
  const status = h('span', { 'data-testid': 'rollout-status' }, badge('connecting', 'none'));
  const steps = h('ol', { class: 'events', 'data-testid': 'rollout-steps' });
  const outcome = h('div', { 'aria-live': 'polite', 'data-testid': 'rollout-outcome' });
  const element = h('div', { class: 'rollout', 'data-testid': 'rollout' },
    h('div', { class: 'progress' }, bar, percent, status), steps, outcome);
  const controller = new AbortController();
  const seen = new Set();
  let settled = false;
  let last = null;

  const show = e => {
    const d = e.data || {};
    if (seen.has(d.id)) return; // a reconnect replays what was seen
    seen.add(d.id);
    last = d;
    bar.value = d.percent ?? bar.value;
    percent.textContent = `${d.percent ?? 0}%`;
    replace(status, badge(d.status, d.status, 'rollout-status-badge'));
    steps.append(h('li', { class: `event event-${d.status}`, 'data-testid': `rollout-step-${d.step}` },
      h('span', { class: 'event-step' }, d.step), ' ',
      h('time', { datetime: d.at, class: 'muted small' }, new Date(d.at).toLocaleTimeString()), ' ',
      d.status === 'failed' ? null : h('span', { class: 'event-message' }, d.message)));
    if (d.status === 'failed') {
      replace(outcome, h('div', { class: 'state error', role: 'alert', 'data-testid': 'rollout-failed' },
        h('strong', {}, 'The deployment failed'),
        h('pre', { class: 'log', tabindex: '0', 'data-testid': 'rollout-error' }, d.message)));
    } else if (d.status === 'active') {
      replace(outcome, h('div', { class: 'state success', role: 'status', 'data-testid': 'rollout-active' },
        h('strong', {}, 'Active: '), d.message));
    } else {
      replace(outcome); // a later rollout of the same deployment is under way
    }
  };

  const run = async () => {
    while (!settled && !controller.signal.aborted) {
      try {
        await streamEvents(`/api/v1/deployments/${encodeURIComponent(name)}/events`, show, controller.signal);
        // The server ends the stream once the latest event is settled.
        if (last && (last.status === 'active' || last.status === 'failed')) {
          settled = true;
          onSettled(last.status);
        }
      } catch (e) {
        replace(outcome, problem(e, 'rollout-stream-error', 'Lost the event stream; trying again'));
        if (e.status && e.status !== 0 && e.status < 500) return;
      }
      if (!settled) await new Promise(r => setTimeout(r, RETRY_MS));
    }
  };
  run();
  return { element, stop: () => controller.abort() };
}

/** The phases of a Hub import in order (Contract 3); "failed" may end any of them. */
export const IMPORT_PHASES = ['validating', 'downloading', 'loading', 'pipeline', 'ready'];
const PHASE_WORDS = { validating: 'Validating', downloading: 'Downloading', loading: 'Loading', pipeline: 'Creating the pipeline', ready: 'Ready' };

function bytes(n) {
  if (n == null) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** "42 s", "3 min 5 s": an ETA in words. */
export function duration(s) {
  if (s == null) return '';
  const whole = Math.max(0, Math.round(s));
  return whole < 60 ? `${whole} s` : `${Math.floor(whole / 60)} min ${whole % 60} s`;
}

/**
 * A Hub import as it happens, from its event stream (past events replayed, then live, ended by
 * the server once the import is ready or failed): the phases, a bar with the percent, bytes
 * done of the total, rate and ETA, the file being fetched; the problem's detail if it fails.
 * `view` is the ImportView the POST answered (or {events_url} alone, for an import seen later).
 * Answers {element, stop, done}: done resolves with the last ImportView once it is settled.
 */
export function importProgress(view, { testid = 'import' } = {}) {
  const bar = h('progress', { max: '100', value: '0', 'data-testid': `${testid}-progress`, 'aria-label': 'Import progress' });
  const percent = h('span', { class: 'muted', 'data-testid': `${testid}-percent` }, '0%');
  const amount = h('span', { class: 'muted small', 'data-testid': `${testid}-bytes` });
  const rate = h('span', { class: 'muted small', 'data-testid': `${testid}-rate` });
  const eta = h('span', { class: 'muted small', 'data-testid': `${testid}-eta` });
  const file = h('p', { class: 'muted small mono wrap', 'data-testid': `${testid}-file` });
  const phases = h('ol', { class: 'phases', 'data-testid': `${testid}-phases` }, IMPORT_PHASES.map(p =>
    h('li', { 'data-testid': `${testid}-phase-${p}`, 'data-state': 'todo' }, PHASE_WORDS[p])));
  const outcome = h('div', { 'aria-live': 'polite', 'data-testid': `${testid}-outcome` });
  const element = h('div', { class: 'import', 'data-testid': testid }, phases,
    h('div', { class: 'progress' }, bar, percent, amount, rate, eta), file, outcome);
  const controller = new AbortController();
  const seen = new Set();
  let last = null;
  let resolve;
  const done = new Promise(r => { resolve = r; });

  const draw = d => {
    last = d;
    const items = [...phases.children];
    // Which phases the server reported, as opposed to passed over between two events.
    const reported = items[IMPORT_PHASES.indexOf(d.phase)];
    if (reported) reported.dataset.seen = 'true';
    if (d.phase === 'failed') {
      // The phase under way when it failed is the one marked; a failure seen first fails the first.
      const current = items.findIndex(li => li.dataset.state === 'current');
      items[Math.max(0, current)].dataset.state = 'failed';
    } else {
      const at = IMPORT_PHASES.indexOf(d.phase);
      items.forEach((li, i) => { li.dataset.state = d.phase === 'ready' || i < at ? 'done' : i === at ? 'current' : 'todo'; });
    }
    const pct = d.phase === 'ready' ? 100 : Math.max(0, Math.min(100, Math.round(d.percent ?? 0)));
    bar.value = pct;
    percent.textContent = `${pct}%`;
    amount.textContent = d.bytes_total != null || d.bytes_done ? `${bytes(d.bytes_done ?? 0)} of ${bytes(d.bytes_total)}` : '';
    rate.textContent = d.phase === 'downloading' && d.rate_bytes_per_second != null ? `${bytes(d.rate_bytes_per_second)}/s` : '';
    eta.textContent = d.phase === 'downloading' && d.eta_seconds != null ? `about ${duration(d.eta_seconds)} left` : '';
    file.textContent = d.phase === 'downloading' && d.file ? `Fetching ${d.file}` : '';
    if (d.phase === 'ready') {
      replace(outcome, h('div', { class: 'state success', role: 'status', 'data-testid': `${testid}-ready` },
        h('strong', {}, 'Imported: '), `${d.model} v${d.version}`, d.commit ? ` from commit ${d.commit.slice(0, 12)}` : ''));
    } else if (d.phase === 'failed') {
      const p = d.problem || {};
      replace(outcome, problem({ message: p.detail || p.title || 'the import failed', code: p.code, title: p.title },
        `${testid}-failed`, 'The import failed'));
    }
  };

  const show = e => {
    const d = e.data;
    if (!d || typeof d !== 'object') return;
    const key = e.id || `${d.phase}/${d.percent}/${d.bytes_done}`;
    if (seen.has(key)) return; // a reconnect replays what was seen
    seen.add(key);
    draw(d);
  };

  const settled = () => last && (last.phase === 'ready' || last.phase === 'failed');
  const url = view.events_url;
  if (view.phase) draw(view);
  (async () => {
    while (!settled() && !controller.signal.aborted) {
      try {
        await streamEvents(url, show, controller.signal);
        if (!settled() && !controller.signal.aborted) draw(await request('GET', url.replace(/\/events$/, '')));
      } catch (e) {
        if (controller.signal.aborted) return;
        if (e.status === 404) {
          // Imports are kept for a while, versions for good: an old version's import may be gone.
          replace(outcome, h('p', { class: 'muted small', 'data-testid': `${testid}-gone` },
            'The server no longer keeps this import\'s events.'));
          resolve(null);
          return;
        }
        replace(outcome, problem(e, `${testid}-stream-error`, 'Lost the import\'s event stream; trying again'));
        if (e.status && e.status < 500) { resolve(null); return; }
      }
      if (!settled()) await new Promise(r => setTimeout(r, RETRY_MS));
    }
    if (settled()) resolve(last);
  })();
  return { element, done, stop: () => { controller.abort(); resolve(null); } };
}
