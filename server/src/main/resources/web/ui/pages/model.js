// One model: its endpoint with snippets, a test console built from the serving version's
// signature, its versions with their lifecycle actions, settings, and live serving charts.

import { request } from '../api.js';
import { h, replace, loading, problem, badge, when, field, empty, confirmButton, actions } from '../dom.js';
import { statsSection } from '../stats.js';
import { endpointSection, consoleSection } from '../endpoint.js';
import { servingVersion } from './models.js';

export const id = 'model';

export function signatureTable(sig) {
  if (!sig || (!sig.inputs?.length && !sig.outputs?.length)) return h('p', { class: 'muted' }, 'No signature was read from this model.');
  const row = (dir, t) => h('tr', {}, h('td', {}, dir), h('td', { class: 'mono' }, t.name), h('td', {}, t.datatype),
    h('td', { class: 'mono' }, `[${(t.shape || []).join(', ')}]`),
    h('td', {}, t.columns?.length ? t.columns.join(', ') : h('span', { class: 'muted' }, t.kind === 'tensor' ? '—' : t.kind)));
  return h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'signature-table' },
    h('thead', {}, h('tr', {}, ['', 'Name', 'Type', 'Shape', 'Columns'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, (sig.inputs || []).map(t => row('input', t)), (sig.outputs || []).map(t => row('output', t)))));
}

function consoleChoices(versions, serving) {
  return [{ value: '', label: 'Default (latest active)', signature: serving.signature, metadata: serving.metadata },
    ...versions.filter(v => !v.deleted_at).map(v => ({ value: String(v.version), label: `v${v.version} (${v.state}, ${v.status})`,
      signature: v.signature, metadata: v.metadata }))];
}

const TRANSITIONS = { active: ['deprecated', 'archived'], deprecated: ['active', 'archived'], archived: ['active', 'deprecated'] };
const VERB = { active: 'Activate', deprecated: 'Deprecate', archived: 'Archive' };

function versionsSection(model, versions, reload) {
  const status = h('div', { 'aria-live': 'polite' });
  const run = actions(status, 'version-action-error', reload);
  const act = (label, method, path, body) => run(label, () => request(method, path, body));
  const base = `/api/v1/models/${encodeURIComponent(model.name)}/versions`;
  const rows = [...versions].reverse().map(v => h('tr', { 'data-testid': `version-row-${v.version}`, class: v.deleted_at ? 'deleted' : '' },
    h('th', { scope: 'row', 'data-label': 'Version' }, `v${v.version}`),
    h('td', { 'data-label': 'State' }, v.deleted_at ? badge('deleted', 'deleted', `version-state-${v.version}`)
      : badge(v.state, v.state, `version-state-${v.version}`)),
    h('td', { 'data-label': 'Status' }, badge(v.status, v.status, `version-status-${v.version}`),
      v.status_message ? h('details', {}, h('summary', {}, 'message'), h('pre', { class: 'log', 'data-testid': `version-message-${v.version}` }, v.status_message)) : null),
    h('td', { 'data-label': 'File' }, h('span', { class: 'mono small' }, v.file_name), h('div', { class: 'muted small' }, `${v.format} · ${v.runtime}`)),
    h('td', { 'data-label': 'Uploaded' }, when(v.created_at)),
    h('td', { 'data-label': 'Actions', class: 'row-actions' }, v.deleted_at
      ? h('button', { type: 'button', class: 'secondary small', 'data-testid': `version-restore-${v.version}`,
        onclick: () => act(`Restore v${v.version}`, 'POST', `${base}/${v.version}/restore`) }, 'Restore')
      : [...TRANSITIONS[v.state].map(s => h('button', { type: 'button', class: 'secondary small', 'data-testid': `version-${s}-${v.version}`,
        onclick: () => act(`${VERB[s]} v${v.version}`, 'PATCH', `${base}/${v.version}`, { state: s }) }, VERB[s])),
      h('button', { type: 'button', class: 'danger small', 'data-testid': `version-delete-${v.version}`,
        onclick: () => act(`Delete v${v.version}`, 'DELETE', `${base}/${v.version}`) }, 'Delete')]),
  ));
  return h('section', { class: 'card', 'aria-labelledby': 'versions-h' },
    h('div', { class: 'page-head' }, h('h2', { id: 'versions-h' }, 'Versions'),
      h('a', { class: 'button secondary', href: `#/upload?model=${encodeURIComponent(model.name)}`, 'data-testid': 'upload-new-version' }, 'Upload a new version')),
    h('p', { class: 'muted small' }, 'Calls without a version go to the latest active version. Deleted versions can be restored.'),
    status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'versions-table' },
      h('thead', {}, h('tr', {}, ['Version', 'State', 'Status', 'File', 'Uploaded', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))));
}

function settingsSection(model) {
  const status = h('div', { 'aria-live': 'polite' });
  const toggle = h('input', { type: 'checkbox', role: 'switch', checked: model.public, 'data-testid': 'model-public' });
  const limit = h('input', { type: 'number', min: '0', step: '1', value: model.rate_limit_per_minute ?? '', 'data-testid': 'model-rate-limit', placeholder: 'server default' });
  const save = async (body, what) => {
    replace(status, h('p', { class: 'state loading', role: 'status' }, 'Saving…'));
    try {
      const m = await request('PATCH', `/api/v1/models/${encodeURIComponent(model.name)}`, body);
      toggle.checked = !!m.public;
      replace(status, h('p', { class: 'state success', role: 'status', 'data-testid': 'settings-saved' }, `${what}: saved.`));
    } catch (e) {
      toggle.checked = !!model.public;
      replace(status, problem(e, 'settings-error', `${what}: not saved`));
    }
  };
  toggle.addEventListener('change', () => save({ public: toggle.checked }, toggle.checked ? 'Public' : 'Private'));
  const limitForm = h('form', { class: 'inline-form' }, field('Rate limit per caller (requests/minute, 0 clears)', limit),
    h('button', { type: 'submit', class: 'secondary', 'data-testid': 'model-rate-limit-save' }, 'Save limit'));
  limitForm.addEventListener('submit', e => { e.preventDefault(); save({ rate_limit_per_minute: Number(limit.value || 0) }, 'Rate limit'); });
  return h('section', { class: 'card', 'aria-labelledby': 'settings-h' }, h('h2', { id: 'settings-h' }, 'Settings'),
    h('div', { class: 'switch' }, toggle, h('label', { for: toggle.id = 'public-toggle' }, 'Public: anyone may call predict without a credential (rate-limited by address)')),
    limitForm, status);
}

/** The model as the list with deleted ones shows it, if it is deleted (and so restorable). */
async function findDeleted(name) {
  try {
    const all = (await request('GET', '/api/v1/models?include_deleted=true')).items;
    return all.find(m => m.name === name && m.deleted_at) || null;
  } catch {
    return null;
  }
}

function deletedState(model, reload) {
  const status = h('div', { 'aria-live': 'polite' });
  const restore = h('button', { type: 'button', 'data-testid': 'model-restore' }, 'Restore the model');
  restore.addEventListener('click', async () => {
    restore.disabled = true;
    try {
      await request('POST', `/api/v1/models/${encodeURIComponent(model.name)}/restore`);
      await reload('Model restored with its versions.');
    } catch (e) {
      replace(status, problem(e, 'model-restore-error', 'Not restored'));
      restore.disabled = false;
    }
  });
  return h('div', { class: 'state empty', 'data-testid': 'model-deleted' }, h('h2', {}, 'This model is deleted'),
    h('p', {}, 'Its endpoint no longer answers. Restoring brings it back with the versions it had.'),
    h('p', { class: 'muted small' }, 'Deleted ', when(model.deleted_at), '.'),
    h('div', { class: 'actions' }, restore), status);
}

/** Whole-model delete, in two steps in place; the model can be restored afterwards. */
function deleteSection(model, reload) {
  const button = confirmButton({ label: 'Delete this model', testid: 'model-delete', confirm: `Delete ${model.name}`,
    warning: 'Its endpoint stops answering at once. ', errorLead: 'Not deleted',
    onConfirm: async () => {
      await request('DELETE', `/api/v1/models/${encodeURIComponent(model.name)}`);
      await reload();
    } });
  return h('section', { class: 'card danger-zone', 'aria-labelledby': 'delete-h' }, h('h2', { id: 'delete-h' }, 'Delete'),
    h('p', { class: 'muted small' }, 'Deleting hides the model and all its versions; you can restore it later.'), button);
}

export async function render(root, params, ctx) {
  const name = params.name;
  const head = h('div', { class: 'page-head' }, h('h1', { 'data-testid': 'model-name' }, name));
  const body = h('div', { class: 'model-grid' }, loading('the model', 'model-loading'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/models' }, 'Models'), ' / ', name), head, body);
  let charts = null;
  const path = `/api/v1/models/${encodeURIComponent(name)}`;

  const draw = async message => {
    let model;
    let versions;
    try {
      [model, versions] = await Promise.all([request('GET', path),
        request('GET', `${path}/versions?include_deleted=true`).then(v => v.items)]);
    } catch (e) {
      const deleted = e.status === 404 ? await findDeleted(name) : null;
      replace(body, deleted ? deletedState(deleted, draw)
        : problem(e, 'model-error', e.status === 404 ? 'No such model' : 'Could not read the model'));
      return;
    }
    const serving = servingVersion(versions);
    replace(head, h('h1', { 'data-testid': 'model-name' }, name), h('span', { class: 'badges', 'data-testid': 'model-status' },
      serving ? [badge(`v${serving.version} ${serving.state}`, serving.state), ' ', badge(serving.status, serving.status)] : badge('no versions', 'none')));
    if (!charts) charts = statsSection(`${path}/stats`, 'this model');
    replace(body,
      message ? h('p', { class: 'state success', role: 'status', 'data-testid': 'model-flash' }, message) : null,
      serving ? endpointSection(`${path}/predict`, serving.signature, model.public, serving.metadata, name)
        : empty('model-no-versions', 'No live version', h('p', {}, 'Upload or restore a version to serve this model.')),
      serving ? consoleSection(consoleChoices(versions, serving), v => `${path}${v ? `/versions/${v}` : ''}/predict`) : null,
      charts.section,
      versionsSection(model, versions, draw),
      settingsSection(model),
      deleteSection(model, draw));
  };
  await draw();
  return () => charts?.stop();
}
