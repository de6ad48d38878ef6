import { request } from '../api.js';
import { h, replace, loading, empty, problem, badge, when } from '../dom.js';
import { summaryText } from '../stats.js';

export const id = 'models';

/** The version a call without a version number is served by: the latest active, not deleted. */
export function servingVersion(versions) {
  const live = versions.filter(v => !v.deleted_at);
  return [...live].reverse().find(v => v.state === 'active') || live[live.length - 1] || null;
}

export function statusBadges(v, testid) {
  if (!v) return badge('no versions', 'none', testid);
  return h('span', { class: 'badges', 'data-testid': testid },
    badge(v.state, v.state), ' ', badge(v.status, v.status));
}

export async function render(root) {
  const body = h('div', {}, loading('models', 'models-loading'));
  root.append(h('div', { class: 'page-head' }, h('h1', {}, 'Models'),
    h('a', { href: '#/upload', class: 'button', 'data-testid': 'models-upload' }, 'Upload a model')), body);
  let models;
  try {
    models = (await request('GET', '/api/v1/models')).items;
  } catch (e) {
    replace(body, problem(e, 'models-error', 'Could not list the models'));
    return;
  }
  if (models.length === 0) {
    replace(body, empty('models-empty', 'No models yet',
      h('p', {}, 'Upload a model file first: ONNX, a scikit-learn pickle or joblib, XGBoost, TorchScript, ',
        'or an archive with a handler.py. ServeML versions it and gives it an endpoint.'),
      h('a', { href: '#/upload', class: 'button', 'data-testid': 'models-empty-upload' }, 'Upload your first model')));
    return;
  }
  const rows = models.map(m => {
    const state = h('td', { 'data-label': 'Status' }, h('span', { class: 'muted' }, '…'));
    request('GET', `/api/v1/models/${encodeURIComponent(m.name)}/versions`)
      .then(v => replace(state, statusBadges(servingVersion(v.items), `model-status-${m.name}`)))
      .catch(e => replace(state, h('span', { class: 'muted', title: e.message }, 'unknown')));
    const figures = h('td', { 'data-label': 'Last 5 min', 'data-testid': `model-figures-${m.name}` }, h('span', { class: 'muted' }, '…'));
    request('GET', `/api/v1/models/${encodeURIComponent(m.name)}/stats`)
      .then(r => replace(figures, summaryText(r.summary)))
      .catch(e => replace(figures, h('span', { class: 'muted', title: e.message }, 'unknown')));
    return h('tr', { 'data-testid': `model-row-${m.name}` },
      h('th', { scope: 'row', 'data-label': 'Name' },
        h('a', { href: `#/models/${encodeURIComponent(m.name)}`, 'data-testid': `model-link-${m.name}` }, m.name),
        m.description ? h('div', { class: 'muted small' }, m.description) : null),
      h('td', { 'data-label': 'Latest version' }, m.latest_version ? `v${m.latest_version}` : '—',
        h('span', { class: 'muted small' }, ` (${m.version_count} live)`)),
      state,
      h('td', { 'data-label': 'Public' }, m.public ? badge('public', 'public') : h('span', { class: 'muted' }, 'private')),
      figures,
      h('td', { 'data-label': 'Last change' }, when(m.updated_at)));
  });
  replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'models-table' },
    h('caption', { class: 'visually-hidden' }, 'Your models'),
    h('thead', {}, h('tr', {}, ['Name', 'Latest version', 'Status', 'Public', 'Last 5 min', 'Last change'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows))));
}
