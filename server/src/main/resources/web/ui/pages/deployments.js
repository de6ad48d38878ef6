// The deployments the caller may see (all of them for admins): status, versions and traffic
// split, calls per minute and p95 latency over the last five minutes, and the last change.

import { request } from '../api.js';
import { h, replace, loading, empty, problem, badge, when } from '../dom.js';
import { summaryText } from '../stats.js';

export const id = 'deployments';

/** "v1 90% · v2 10% · shadow v3" */
export function policyText(policy) {
  if (!policy) return '—';
  const parts = (policy.versions || []).map(s => `v${s.version} ${s.weight}%`);
  if (policy.shadow) parts.push(`shadow v${policy.shadow}`);
  return parts.join(' · ');
}

export async function render(root, params, ctx) {
  const body = h('div', {}, loading('deployments', 'deployments-loading'));
  root.append(h('div', { class: 'page-head' }, h('h1', {}, ctx.isAdmin ? 'Deployments (all users)' : 'Deployments'),
    h('a', { href: '#/deploy', class: 'button', 'data-testid': 'deployments-deploy' }, 'Deploy a model')), body);
  let items;
  let models;
  try {
    [items, models] = await Promise.all([request('GET', '/api/v1/deployments').then(r => r.items),
      request('GET', '/api/v1/models').then(r => r.items)]);
  } catch (e) {
    replace(body, problem(e, 'deployments-error', 'Could not list the deployments'));
    return;
  }
  if (!items.length) {
    replace(body, empty('deployments-empty', 'No deployments yet',
      h('p', {}, models.length
        ? `A deployment gives one of your ${models.length} model${models.length === 1 ? '' : 's'} a named endpoint with its own resources, `
          + 'canary splits and rollback.'
        : 'First upload a model file (ONNX, scikit-learn, XGBoost, TorchScript or an archive with a handler.py); '
          + 'the wizard does both in one go.'),
      h('a', { href: '#/deploy', class: 'button', 'data-testid': 'deployments-empty-deploy' },
        models.length ? 'Deploy a model' : 'Upload and deploy your first model')));
    return;
  }
  const rows = items.map(d => {
    const figures = h('td', { 'data-label': 'Last 5 min', 'data-testid': `deployment-figures-${d.name}` }, h('span', { class: 'muted' }, '…'));
    request('GET', `/api/v1/deployments/${encodeURIComponent(d.name)}/stats`)
      .then(r => replace(figures, summaryText(r.summary)))
      .catch(e => replace(figures, h('span', { class: 'muted', title: e.message }, 'unknown')));
    return h('tr', { 'data-testid': `deployment-row-${d.name}` },
      h('th', { scope: 'row', 'data-label': 'Name' },
        h('a', { href: `#/deployments/${encodeURIComponent(d.name)}`, 'data-testid': `deployment-link-${d.name}` }, d.name)),
      h('td', { 'data-label': 'Status' }, badge(d.status, d.status, `deployment-status-${d.name}`)),
      h('td', { 'data-label': 'Model' }, h('a', { href: `#/models/${encodeURIComponent(d.model)}` }, d.model)),
      h('td', { 'data-label': 'Versions', 'data-testid': `deployment-policy-${d.name}` }, policyText(d.policy)),
      figures,
      h('td', { 'data-label': 'Last change' }, when(d.updated_at)));
  });
  replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'deployments-table' },
    h('caption', { class: 'visually-hidden' }, 'Your deployments'),
    h('thead', {}, h('tr', {}, ['Name', 'Status', 'Model', 'Versions and traffic', 'Last 5 min', 'Last change'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows))),
  h('p', { class: 'muted small' }, 'Models without a deployment are still callable at their own endpoint: see ',
    h('a', { href: '#/models' }, 'Models'), '.'));
}
