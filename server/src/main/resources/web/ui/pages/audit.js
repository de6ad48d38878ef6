import { request } from '../api.js';
import { h, replace, loading, empty, problem, badge, when, field } from '../dom.js';

export const id = 'audit';

const ACTIONS = ['auth.login', 'auth.register', 'auth.logout', 'api_key.created', 'api_key.revoked', 'model.version_uploaded',
  'model.version_state_changed', 'model.version_deleted', 'model.deleted', 'model.settings_changed', 'user.deleted'];
const PAGE = 25;

export async function render(root, params, ctx) {
  const action = h('input', { list: 'audit-actions', 'data-testid': 'audit-action', placeholder: 'any action',
    value: params.query.get('action') || '', autocomplete: 'off' });
  const form = h('form', { class: 'inline-form card', 'data-testid': 'audit-filter' },
    field('Action', action, 'e.g. api_key.revoked'),
    h('datalist', { id: 'audit-actions' }, ACTIONS.map(a => h('option', { value: a }))),
    h('button', { type: 'submit', 'data-testid': 'audit-apply' }, 'Filter'));
  const body = h('div', {});
  const pager = h('div', { class: 'actions' });
  root.append(h('h1', {}, ctx.isAdmin ? 'Audit log (all users)' : 'Your audit log'), form, h('section', { class: 'card' }, body, pager));

  // before_id cursors of the pages seen, so "Newer" can go back.
  const cursors = [null];
  const show = async () => {
    replace(body, loading('the audit log', 'audit-loading'));
    replace(pager);
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (action.value.trim()) q.set('action', action.value.trim());
    const cursor = cursors[cursors.length - 1];
    if (cursor) q.set('before_id', String(cursor));
    let page;
    try {
      page = await request('GET', `/api/v1/audit?${q}`);
    } catch (e) {
      replace(body, problem(e, 'audit-error', 'Could not read the audit log'));
      return;
    }
    if (!page.items.length) {
      replace(body, empty('audit-empty', 'Nothing recorded', h('p', {}, action.value ? `No "${action.value}" entries on this page of time. Clear the filter to see everything.` : 'Sign-ins, keys and model changes will appear here.')));
    } else {
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'audit-table' },
        h('thead', {}, h('tr', {}, ['When', 'Who', 'Action', 'Target', 'Outcome', 'Address', 'Detail'].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, page.items.map(a => h('tr', { 'data-testid': 'audit-row' },
          h('td', { 'data-label': 'When' }, when(a.at)),
          h('td', { 'data-label': 'Who' }, a.actor || (a.actor_id ?? '—')),
          h('td', { 'data-label': 'Action', class: 'mono', 'data-testid': 'audit-row-action' }, a.action),
          h('td', { 'data-label': 'Target', class: 'mono' }, a.target || '—'),
          h('td', { 'data-label': 'Outcome' }, badge(a.outcome, a.outcome === 'success' ? 'ready' : 'failed')),
          h('td', { 'data-label': 'Address', class: 'mono' }, a.ip || '—'),
          h('td', { 'data-label': 'Detail' }, a.detail && Object.keys(a.detail).length
            ? h('details', {}, h('summary', {}, 'show'), h('pre', { class: 'log' }, JSON.stringify(a.detail, null, 2))) : '—')))))));
    }
    if (cursors.length > 1) pager.append(h('button', { type: 'button', class: 'secondary', 'data-testid': 'audit-newer',
      onclick: () => { cursors.pop(); show(); } }, 'Newer'));
    if (page.next && page.items.length) pager.append(h('button', { type: 'button', class: 'secondary', 'data-testid': 'audit-older',
      onclick: () => { cursors.push(page.items[page.items.length - 1].id); show(); } }, 'Older'));
    pager.append(h('span', { class: 'muted small', 'data-testid': 'audit-page' }, ` Page ${cursors.length}`));
  };
  form.addEventListener('submit', e => { e.preventDefault(); cursors.length = 1; show(); });
  await show();
}
