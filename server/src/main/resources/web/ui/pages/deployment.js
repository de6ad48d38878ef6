// One deployment: its endpoint with snippets, a test console built from the serving version's
// signature, the traffic policy with its versions (rollback, promote, canary weights, shadow),
// its config, live serving charts, and its rollout events.

import { request } from '../api.js';
import { h, replace, loading, problem, badge, when, field, success, confirmButton, actions } from '../dom.js';
import { statsSection } from '../stats.js';
import { endpointSection, consoleSection } from '../endpoint.js';
import { rolloutProgress, importProgress } from '../progress.js';
import { policyText } from './deployments.js';

export const id = 'deployment';

const SETTLED = new Set(['active', 'failed']);

function mainVersion(d) {
  return [...d.policy.versions].sort((a, b) => b.weight - a.weight)[0]?.version;
}

function ms(v) {
  if (!v) return '0';
  return v % 60_000 === 0 ? `${v / 60_000} min` : v % 1000 === 0 ? `${v / 1000} s` : `${v} ms`;
}

function configSection(d, reload) {
  const c = d.config;
  const env = Object.keys(c.env || {});
  const cache = c.cache || {};
  return h('section', { class: 'card', 'aria-labelledby': 'config-h' }, h('h2', { id: 'config-h' }, 'Resources'),
    h('dl', { class: 'facts', 'data-testid': 'deployment-config' },
      h('dt', {}, 'Instances'), h('dd', {}, c.instances == null ? 'server default' : String(c.instances)),
      h('dt', {}, 'Batching'), h('dd', {}, c.max_batch_size > 1 ? `up to ${c.max_batch_size} rows, wait ${ms(c.max_queue_delay_ms)}` : 'off'),
      h('dt', {}, 'Timeout'), h('dd', {}, ms(c.timeout_ms)),
      h('dt', {}, 'Memory limit'), h('dd', {}, c.memory_limit ? `${(c.memory_limit / 1024 ** 2).toFixed(0)} MB` : 'server default'),
      h('dt', {}, 'Idle unload'), h('dd', {}, c.idle_unload_ms ? `after ${ms(c.idle_unload_ms)}` : 'never', c.min_instances ? ' (pinned)' : ''),
      h('dt', {}, 'Environment'), h('dd', { class: 'mono' }, env.length ? env.join(', ') : 'none'),
      h('dt', {}, 'Response cache'), h('dd', { 'data-testid': 'deployment-cache' }, cache.enabled == null ? "the model's setting"
        : cache.enabled ? `on${cache.ttl_ms ? `, answers kept ${ms(cache.ttl_ms)}` : ''}` : 'off')),
    h('details', {}, h('summary', { 'data-testid': 'config-edit' }, 'Change the resources'), configForm(d, reload)));
}

/** PATCHes the config; the rollout that follows applies it (new workers or environment load the version again). */
function configForm(d, reload) {
  const c = d.config;
  const status = h('div', { 'aria-live': 'polite' });
  const run = actions(status, 'config-error', reload);
  const num = (key, value, min, max, placeholder = null) => h('input', { type: 'number', min, max, step: '1',
    value: value == null ? '' : String(value), required: !placeholder, placeholder, 'data-testid': `config-${key}` });
  const inputs = {
    instances: num('instances', c.instances, '1', '64', 'server default'),
    max_batch_size: num('max-batch-size', c.max_batch_size, '1', '4096'),
    max_queue_delay: num('max-queue-delay', c.max_queue_delay_ms, '0', '60000'),
    timeout: num('timeout', c.timeout_ms, '1', '86400000'),
    idle_unload: num('idle-unload', c.idle_unload_ms, '0', '86400000'),
  };
  const memory = h('input', { value: c.memory_limit ? `${Math.round(c.memory_limit / 1024 ** 2)}MB` : '',
    placeholder: 'server default', 'data-testid': 'config-memory-limit', autocomplete: 'off' });
  const env = h('textarea', { rows: '3', class: 'mono', spellcheck: 'false', 'data-testid': 'config-env' });
  env.value = Object.entries(c.env || {}).map(([k, v]) => `${k}=${v}`).join('\n');
  const cache = h('select', { 'data-testid': 'config-cache' },
    [['', "The model's setting"], ['on', 'On'], ['off', 'Off']].map(([value, label]) =>
      h('option', { value, selected: (c.cache?.enabled == null ? '' : c.cache.enabled ? 'on' : 'off') === value }, label)));
  const ttl = num('cache-ttl', c.cache?.ttl_ms != null ? c.cache.ttl_ms / 1000 : null, '1', '86400', "the model's");
  const form = h('form', { 'data-testid': 'config-form' },
    h('div', { class: 'form-grid' },
      field('Instances', inputs.instances, 'Calls run at once (Python workers, or concurrent ONNX runs); empty for the server default.'),
      field('Largest batch (rows)', inputs.max_batch_size, '1 turns dynamic batching off.'),
      field('Batch wait (ms)', inputs.max_queue_delay, 'Only while another call runs: an idle model never waits.'),
      field('Timeout (ms)', inputs.timeout),
      field('Unload when idle (ms)', inputs.idle_unload, '0 keeps the model loaded.'),
      field('Memory limit', memory, 'Per Python worker, e.g. 512MB; empty for the server default.'),
      field('Response cache', cache),
      field('Cache lifetime (s)', ttl, "Empty for the model's setting.")),
    field('Environment variables (Python models)', env, 'One NAME=value a line; a change loads the version again.'),
    status,
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'config-save' }, 'Save and roll out')));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const vars = {};
    for (const line of env.value.split('\n').map(l => l.trim()).filter(Boolean)) {
      const at = line.indexOf('=');
      if (at < 1) {
        replace(status, problem({ title: 'Check the environment', message: `Write NAME=value, not "${line}".` }, 'config-error'));
        return;
      }
      vars[line.slice(0, at).trim()] = line.slice(at + 1);
    }
    const value = input => (input.value === '' ? null : Number(input.value));
    const config = {
      instances: value(inputs.instances), max_batch_size: value(inputs.max_batch_size),
      max_queue_delay: value(inputs.max_queue_delay), timeout: value(inputs.timeout), idle_unload: value(inputs.idle_unload),
      memory_limit: memory.value.trim() || null, env: vars,
      cache: { enabled: cache.value === '' ? null : cache.value === 'on', ttl: ttl.value === '' ? null : `${ttl.value}s` },
    };
    run('Save the resources', () => request('PATCH', `/api/v1/deployments/${encodeURIComponent(d.name)}`, { config }));
  });
  return form;
}

/** Versions with their roles, rollback and promote, and the form that sets weights and a shadow. */
function trafficSection(d, versions, reload) {
  const status = h('div', { 'aria-live': 'polite' });
  const base = `/api/v1/deployments/${encodeURIComponent(d.name)}`;
  const run = actions(status, 'traffic-error', reload);
  const act = (label, method, path, body) => run(label, () => request(method, path, body));
  const byVersion = new Map(versions.map(v => [v.version, v]));
  const main = mainVersion(d);
  const rows = d.versions.map(m => {
    const v = byVersion.get(m.version);
    return h('tr', { 'data-testid': `member-row-${m.version}` },
      h('th', { scope: 'row', 'data-label': 'Version' }, `v${m.version}`),
      h('td', { 'data-label': 'Role' }, m.role === 'shadow' ? badge('shadow', 'public') : `${m.weight}% of calls`),
      h('td', { 'data-label': 'Version state' }, v ? [badge(v.state, v.state), ' ', badge(v.status, v.status)] : badge('deleted', 'deleted')),
      h('td', { 'data-label': 'In memory' }, m.loaded ? `loaded, ${m.instances} at once` : h('span', { class: 'muted' }, 'not loaded')),
      h('td', { 'data-label': 'Actions', class: 'row-actions' }, m.version === main && d.policy.versions.length === 1 ? null
        : h('button', { type: 'button', class: 'secondary small', 'data-testid': `promote-${m.version}`,
          onclick: () => act(`Promote v${m.version} to all calls`, 'POST', `${base}/promote`, { version: m.version }) }, 'Promote to 100%')));
  });

  // The canary / shadow form: a weight per deployable version, and at most one shadow.
  const candidates = versions.filter(v => !v.deleted_at && v.state !== 'archived' && v.status !== 'failed');
  const weights = new Map(d.policy.versions.map(s => [s.version, s.weight]));
  const inputs = candidates.map(v => h('input', { type: 'number', min: '0', max: '100', step: '1', value: String(weights.get(v.version) || 0),
    'data-testid': `weight-${v.version}`, 'aria-label': `Share of calls for v${v.version}, percent` }));
  const shadow = h('select', { 'data-testid': 'shadow-version' }, h('option', { value: '' }, 'No shadow'),
    candidates.map(v => h('option', { value: String(v.version), selected: d.policy.shadow === v.version }, `v${v.version}`)));
  const sticky = h('input', { value: d.policy.sticky_header || '', placeholder: 'none', 'data-testid': 'sticky-header', autocomplete: 'off' });
  const total = h('span', { class: 'muted', 'data-testid': 'weights-total' });
  const sum = () => inputs.reduce((a, i) => a + (Number(i.value) || 0), 0);
  const showTotal = () => { total.textContent = `Total ${sum()}% (must be 100)`; };
  showTotal();
  const form = h('form', { 'data-testid': 'policy-form', oninput: showTotal },
    h('h3', {}, 'Split traffic (canary) or mirror it (shadow)'),
    h('div', { class: 'weights' }, candidates.map((v, i) => field(`v${v.version} share (%)`, inputs[i]))), total,
    h('div', { class: 'form-grid' },
      field('Shadow version', shadow, 'Gets a copy of each call after the client has its answer; its answers are compared, never returned.'),
      field('Sticky header (optional)', sticky, 'Calls with the same value of this header go to the same version, e.g. X-User-Id.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'policy-save' }, 'Save the policy')));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const policy = { versions: candidates.map((v, i) => ({ version: v.version, weight: Number(inputs[i].value) || 0 }))
      .filter(s => s.weight > 0) };
    if (shadow.value) policy.shadow = Number(shadow.value);
    if (sticky.value.trim()) policy.sticky_header = sticky.value.trim();
    if (sum() !== 100) {
      replace(status, problem({ message: `The shares add up to ${sum()}%; make them add up to 100%.`, title: 'Check the split' }, 'traffic-error'));
      return;
    }
    act('Save the policy', 'PATCH', base, { policy });
  });

  return h('section', { class: 'card', 'aria-labelledby': 'traffic-h' },
    h('div', { class: 'page-head' }, h('h2', { id: 'traffic-h' }, 'Versions and traffic'),
      h('button', { type: 'button', class: 'secondary', 'data-testid': 'deployment-rollback', disabled: !d.previous_policy,
        title: d.previous_policy ? `Back to ${policyText(d.previous_policy)}` : 'No earlier policy to go back to',
        onclick: () => act('Roll back', 'POST', `${base}/rollback`) }, d.previous_policy ? `Roll back to ${policyText(d.previous_policy)}` : 'Roll back')),
    h('p', {}, 'Now: ', h('strong', { 'data-testid': 'deployment-policy' }, policyText(d.policy)),
      d.policy.sticky_header ? h('span', { class: 'muted' }, ` (sticky by ${d.policy.sticky_header})`) : null),
    d.shadow_stats ? h('p', { class: 'muted small', 'data-testid': 'shadow-stats' }, shadowText(d.shadow_stats)) : null,
    status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'members-table' },
      h('thead', {}, h('tr', {}, ['Version', 'Role', 'Version state', 'In memory', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))),
    candidates.length ? form : null);
}

function deleteSection(d, navigate) {
  return h('section', { class: 'card danger-zone', 'aria-labelledby': 'ddelete-h' }, h('h2', { id: 'ddelete-h' }, 'Delete'),
    confirmButton({ label: 'Delete this deployment', testid: 'deployment-delete', confirm: `Delete ${d.name}`,
      warning: 'Calls in flight finish; new calls are refused. The model stays. ', errorLead: 'Not deleted',
      onConfirm: async () => {
        await request('DELETE', `/api/v1/deployments/${encodeURIComponent(d.name)}`);
        navigate('#/deployments');
      } }));
}

export async function render(root, params, ctx) {
  const name = params.name;
  const path = `/api/v1/deployments/${encodeURIComponent(name)}`;
  const head = h('div', { class: 'page-head' }, h('h1', { 'data-testid': 'deployment-name' }, name));
  const body = h('div', { class: 'model-grid' }, loading('the deployment', 'deployment-loading'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/deployments' }, 'Deployments'), ' / ', name), head, body);
  const charts = statsSection(`${path}/stats`, 'this deployment');
  let progress = null;
  let importer = null;

  const draw = async message => {
    let d;
    let versions;
    try {
      d = await request('GET', path);
      versions = (await request('GET', `/api/v1/models/${encodeURIComponent(d.model)}/versions`)).items;
    } catch (e) {
      replace(body, problem(e, 'deployment-error', e.status === 404 ? 'No such deployment' : 'Could not read the deployment'));
      return;
    }
    replace(head, h('h1', { 'data-testid': 'deployment-name' }, name),
      h('span', { class: 'badges' }, badge(d.status, d.status, 'deployment-status'), ' ',
        h('span', { class: 'muted small' }, 'model ', h('a', { href: `#/models/${encodeURIComponent(d.model)}` }, d.model),
          ' · changed ', when(d.updated_at))));
    progress?.stop();
    // The event stream replays the rollout; while it is under way it is the page's news.
    // Once a rollout under way settles, the page is drawn again (keeping the news of what started it).
    progress = rolloutProgress(name, status => { if (!SETTLED.has(d.status) || d.status !== status) draw(message); });
    const main = versions.find(v => v.version === mainVersion(d));
    // A version imported from the Hub: its import's phases come first (replayed; the stream ends settled).
    const meta = main?.metadata || {};
    importer?.stop();
    importer = meta.import_id && meta.source ? importProgress({ events_url: `/api/v1/models/${encodeURIComponent(d.model)}/imports/`
      + `${encodeURIComponent(meta.import_id)}/events` }, { testid: 'rollout-import' }) : null;
    const rollout = h('section', { class: 'card', 'aria-labelledby': 'rollout-h' }, h('h2', { id: 'rollout-h' }, 'Rollout'),
      importer ? [h('h3', {}, `Import of v${main.version} from `, h('span', { class: 'mono' }, meta.source)), importer.element,
        h('h3', {}, 'The deployment')] : null,
      progress.element);
    const busy = !SETTLED.has(d.status);
    replace(body,
      message ? success('deployment-flash', message) : null,
      busy || d.status === 'failed' ? rollout : null,
      d.status === 'failed' && d.status_message ? h('div', { class: 'state error', role: 'alert', 'data-testid': 'deployment-failed' },
        h('strong', {}, 'This deployment failed'), h('pre', { class: 'log', tabindex: '0' }, d.status_message)) : null,
      endpointSection(d.predict_url, main?.signature, false, main?.metadata, d.name),
      consoleSection([{ value: '', label: 'As the policy routes it', signature: main?.signature, metadata: main?.metadata }], () => `${path}/predict`,
        `Calls go where the policy sends them (now ${policyText(d.policy)})${meta.task ? '.'
          : '; the answer says which version served it.'}`),
      trafficSection(d, versions, draw),
      charts.section,
      configSection(d, draw),
      busy || d.status === 'failed' ? null : h('details', { class: 'card' }, h('summary', { 'data-testid': 'rollout-history' }, 'Rollout history'), rollout),
      deleteSection(d, ctx.navigate));
  };
  await draw();
  return () => { charts.stop(); progress?.stop(); importer?.stop(); };
}

/** "Shadow v2: 120 copies, agreed with the primary on 98.3%, 3 failed, 0 skipped, mean 1.2 ms" */
function shadowText(st) {
  const parts = [`Shadow v${st.version}: ${st.requests} cop${st.requests === 1 ? 'y' : 'ies'}`];
  if (st.agreement_rate != null) parts.push(`agreed with the primary on ${(100 * st.agreement_rate).toFixed(1)}%`);
  parts.push(`${st.failures} failed`, `${st.skipped} skipped (too many in flight)`);
  if (st.mean_latency_ms != null) parts.push(`mean ${st.mean_latency_ms.toFixed(2)} ms`);
  return parts.join(', ');
}
