// A deployment's rollout as it happens: its event stream (replayed from the start, then live,
// closed by the server once the deployment is active or failed) drawn as a progress bar, the
// steps with their messages, and the failure in full (pip's or the loader's words).

import { streamEvents } from './api.js';
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
