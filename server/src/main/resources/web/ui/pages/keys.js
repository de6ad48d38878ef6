import { request } from '../api.js';
import { h, replace, field, loading, empty, problem, badge, when, copyButton } from '../dom.js';

export const id = 'keys';

const SCOPES = {
  predict: 'call predict and infer',
  'models:read': 'read models and versions',
  'models:write': 'upload, change and delete models',
  'deployments:write': 'manage deployments',
  admin: 'everything, including metrics and the audit log',
};
const EXPIRY = [['30', '30 days'], ['7', '7 days'], ['90', '90 days'], ['365', '1 year'], ['', 'Never']];

function keyStatus(k) {
  if (k.revoked_at) return badge('revoked', 'revoked');
  if (k.expires_at && new Date(k.expires_at) < new Date()) return badge('expired', 'revoked');
  return badge('active', 'active');
}

export async function render(root, params, ctx) {
  const mine = ctx.me?.scopes || [];
  const created = h('div', { 'aria-live': 'polite' });
  const list = h('div', {}, loading('your keys', 'keys-loading'));
  const name = h('input', { required: true, maxlength: '100', 'data-testid': 'key-name', autocomplete: 'off' });
  const expiry = h('select', { 'data-testid': 'key-expiry' }, EXPIRY.map(([v, l]) => h('option', { value: v }, l)));
  const boxes = Object.entries(SCOPES).filter(([s]) => mine.includes(s)).map(([s, what]) =>
    h('div', { class: 'check' }, h('input', { type: 'checkbox', id: `scope-${s}`, value: s, checked: s === 'predict',
      'data-testid': `key-scope-${s}` }), h('label', { for: `scope-${s}` }, h('span', { class: 'mono' }, s), ` — ${what}`)));
  const submit = h('button', { type: 'submit', 'data-testid': 'key-create' }, 'Create key');
  const form = h('form', { class: 'card', 'data-testid': 'key-form' }, h('h2', {}, 'Create a key'),
    field('Name', name, 'What uses it, e.g. "billing service".'),
    h('fieldset', {}, h('legend', {}, 'Scopes (at most your own)'), boxes),
    field('Expires after', expiry), h('div', { class: 'actions' }, submit), created);

  const refreshList = async () => {
    try {
      const keys = (await request('GET', '/api/v1/api-keys')).items;
      if (!keys.length) {
        replace(list, empty('keys-empty', 'No API keys yet', h('p', {}, 'Create one above for a service or a script; send it as "Authorization: Bearer <key>" or "X-API-Key".')));
        return;
      }
      replace(list, h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'keys-table' },
        h('thead', {}, h('tr', {}, ['Name', 'Starts with', 'Scopes', 'Created', 'Expires', 'Status', ''].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, keys.map(k => h('tr', { 'data-testid': `key-row-${k.id}` },
          h('th', { scope: 'row', 'data-label': 'Name' }, k.name),
          h('td', { 'data-label': 'Starts with', class: 'mono' }, `${k.prefix}…`),
          h('td', { 'data-label': 'Scopes' }, k.scopes.join(', ')),
          h('td', { 'data-label': 'Created' }, when(k.created_at)),
          h('td', { 'data-label': 'Expires' }, k.expires_at ? when(k.expires_at) : 'never'),
          h('td', { 'data-label': 'Status', 'data-testid': `key-status-${k.id}` }, keyStatus(k)),
          h('td', { 'data-label': 'Actions', class: 'row-actions' }, k.revoked_at ? null : revokeButton(k))))))));
    } catch (e) {
      replace(list, problem(e, 'keys-error', 'Could not list your keys'));
    }
  };

  // Two steps, in place: a revoked key stops working at once and cannot come back.
  const revokeButton = k => {
    const cell = h('span', {});
    const ask = h('button', { type: 'button', class: 'danger small', 'data-testid': `key-revoke-${k.id}`,
      'aria-label': `Revoke ${k.name}` }, 'Revoke');
    ask.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger small', 'data-testid': `key-revoke-confirm-${k.id}` }, 'Revoke now');
      const no = h('button', { type: 'button', class: 'secondary small' }, 'Keep');
      no.addEventListener('click', () => replace(cell, ask));
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        try {
          await request('DELETE', `/api/v1/api-keys/${k.id}`);
          await refreshList();
        } catch (e) {
          replace(cell, problem(e, 'key-revoke-error', 'Not revoked'));
        }
      });
      replace(cell, h('span', { class: 'muted small' }, 'Stops working at once. '), yes, ' ', no);
      yes.focus();
    });
    return replace(cell, ask);
  };

  form.addEventListener('submit', async e => {
    e.preventDefault();
    const scopes = boxes.map(b => b.querySelector('input')).filter(i => i.checked).map(i => i.value);
    if (!scopes.length) {
      replace(created, problem({ message: 'Choose at least one scope.', title: 'Check the form' }, 'key-create-error'));
      return;
    }
    const body = { name: name.value.trim(), scopes };
    if (expiry.value) body.expires_in_days = Number(expiry.value);
    submit.disabled = true;
    try {
      const k = await request('POST', '/api/v1/api-keys', body);
      const secret = h('code', { class: 'secret', 'data-testid': 'new-key-value' }, k.key);
      replace(created, h('div', { class: 'state warning', role: 'alert', 'data-testid': 'new-key' },
        h('strong', {}, `Key "${k.name}" created. Copy it now: it is shown only this once.`),
        h('p', {}, 'ServeML keeps only its hash; if you lose it, revoke it and create another.'),
        h('p', { class: 'secret-row' }, secret, ' ', copyButton(k.key, 'new-key-copy')),
        h('button', { type: 'button', class: 'secondary small', 'data-testid': 'new-key-dismiss',
          onclick: () => replace(created) }, 'I have saved it')));
      name.value = '';
      await refreshList();
    } catch (err) {
      replace(created, problem(err, 'key-create-error', 'The key was not created'));
    } finally {
      submit.disabled = false;
    }
  });

  root.append(h('h1', {}, 'API keys'), h('p', { class: 'muted' }, 'Keys let services call ServeML without your password. '
    + 'Give each the fewest scopes it needs.'), form, h('section', { class: 'card' }, h('h2', {}, 'Your keys'), list));
  await refreshList();
}
