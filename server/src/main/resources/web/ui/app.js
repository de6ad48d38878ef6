// The shell: a hash router over a table of pages, the navigation, and the session guard. A page
// is a module exporting render(root, params, ctx) that may answer a cleanup function (timers).
// A new page adds a row to ROUTES and, if it needs one, a NAV entry. A server started with
// SERVEML_AUTH=off answers without credentials: then there is no sign-in, and a banner says why.

import { currentSession, onSessionChange, logout, request } from './api.js';
import { h, replace, problem } from './dom.js';
import * as loginPage from './pages/login.js';
import * as modelsPage from './pages/models.js';
import * as uploadPage from './pages/upload.js';
import * as modelPage from './pages/model.js';
import * as keysPage from './pages/keys.js';
import * as auditPage from './pages/audit.js';
import * as deploymentsPage from './pages/deployments.js';
import * as deploymentPage from './pages/deployment.js';
import * as deployPage from './pages/deploy.js';
import * as jobsPage from './pages/jobs.js';

const ROUTES = [
  { pattern: /^\/login$/, page: loginPage, title: 'Sign in', open: true },
  { pattern: /^\/register$/, page: loginPage, title: 'Create an account', open: true, params: () => ({ register: true }) },
  { pattern: /^\/deployments$/, page: deploymentsPage, title: 'Deployments', nav: 'deployments' },
  { pattern: /^\/deployments\/([^/]+)$/, page: deploymentPage, title: 'Deployment', nav: 'deployments', params: m => ({ name: decodeURIComponent(m[1]) }) },
  { pattern: /^\/deploy$/, page: deployPage, title: 'Deploy a model', nav: 'deploy' },
  { pattern: /^\/models$/, page: modelsPage, title: 'Models', nav: 'models' },
  { pattern: /^\/upload$/, page: uploadPage, title: 'Upload a model', nav: 'upload' },
  { pattern: /^\/models\/([^/]+)$/, page: modelPage, title: 'Model', nav: 'models', params: m => ({ name: decodeURIComponent(m[1]) }) },
  { pattern: /^\/jobs$/, page: jobsPage, title: 'Batch jobs', nav: 'jobs' },
  { pattern: /^\/keys$/, page: keysPage, title: 'API keys', nav: 'keys' },
  { pattern: /^\/audit$/, page: auditPage, title: 'Audit log', nav: 'audit', admin: true },
];

const NAV = [
  { id: 'deployments', href: '#/deployments', label: 'Deployments' },
  { id: 'deploy', href: '#/deploy', label: 'Deploy' },
  { id: 'models', href: '#/models', label: 'Models' },
  { id: 'upload', href: '#/upload', label: 'Upload' },
  { id: 'jobs', href: '#/jobs', label: 'Jobs' },
  { id: 'keys', href: '#/keys', label: 'API keys' },
  { id: 'audit', href: '#/audit', label: 'Audit log', admin: true },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let cleanup = null;
let me = null;
/** null until asked; then whether the server needs no credentials (SERVEML_AUTH=off). */
let open = null;

/** Asks once, without credentials: only a server with authentication off says who that is. */
async function detectOpen() {
  if (open !== null) return open;
  try {
    me = await request('GET', '/api/v1/auth/me', undefined, { anonymous: true });
    open = true;
  } catch {
    open = false;
  }
  if (open) {
    main.before(h('p', { class: 'banner', role: 'note', 'data-testid': 'auth-off-banner' },
      h('strong', {}, 'Authentication is off'), ' (SERVEML_AUTH=off): no sign-in is needed, and anyone who can '
      + 'reach this server acts as its admin.'));
  }
  return open;
}

/** What the signed-in caller is (username, role, scopes); fetched once per session. */
async function identity() {
  if (open) return me;
  if (!currentSession()) return null;
  if (!me) me = await request('GET', '/api/v1/auth/me');
  return me;
}

function isAdmin(m) {
  return !!m && (m.scopes || []).includes('admin');
}

function drawChrome(active) {
  const s = currentSession();
  replace(nav, s || open ? h('ul', {}, NAV.filter(n => !n.admin || isAdmin(me)).map(n =>
    h('li', {}, h('a', { href: n.href, 'data-testid': `nav-${n.id}`, 'aria-current': n.id === active ? 'page' : null },
      n.label)))) : null);
  if (open) {
    replace(who, h('span', { class: 'muted', 'data-testid': 'signed-in-as' }, 'single user, no sign-in'));
    return;
  }
  replace(who, s ? [
    h('span', { class: 'muted', 'data-testid': 'signed-in-as' }, me ? `${me.username}${isAdmin(me) ? ' (admin)' : ''}` : ''),
    h('button', { type: 'button', class: 'secondary small', 'data-testid': 'sign-out', onclick: signOut }, 'Sign out'),
  ] : null);
}

async function signOut() {
  me = null;
  await logout();
  location.hash = '#/login';
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/deployments';
  const [path, query = ''] = raw.split('?');
  return { path, query: new URLSearchParams(query) };
}

async function route() {
  if (cleanup) { try { cleanup(); } catch { /* a page's timers only */ } cleanup = null; }
  const { path, query } = parseHash();
  const r = ROUTES.find(x => x.pattern.test(path));
  if (!r) { location.hash = '#/deployments'; return; }
  if (!currentSession() && await detectOpen()) {
    if (r.open) { location.hash = '#/deployments'; return; }
  } else if (!r.open && !currentSession()) {
    location.hash = `#/login?next=${encodeURIComponent(path)}`;
    return;
  }
  try {
    await identity();
  } catch (e) {
    if (!currentSession()) { location.hash = '#/login'; return; }
    drawChrome(r.nav);
    replace(main, problem(e, 'error', 'Could not read who you are'));
    return;
  }
  drawChrome(r.nav);
  document.title = `${r.title} · ServeML`;
  const params = { ...(r.params ? r.params(path.match(r.pattern)) : {}), query };
  const root = h('div', { class: 'page', 'data-testid': `page-${r.page.id}` });
  replace(main, root);
  main.focus({ preventScroll: true });
  if (r.admin && !isAdmin(me)) {
    root.append(problem({ message: 'This page needs the admin scope. Ask an administrator, or sign in as one.',
      title: 'Admins only' }, 'needs-admin'));
    return;
  }
  const ctx = { me, isAdmin: isAdmin(me), navigate: to => { location.hash = to; } };
  try {
    cleanup = (await r.page.render(root, params, ctx)) || null;
  } catch (e) {
    root.append(problem(e));
  }
}

onSessionChange(s => {
  if (!s && !open) {
    me = null;
      drawChrome(null);
    if (!parseHash().path.match(/^\/(login|register)$/)) location.hash = '#/login';
  }
});
window.addEventListener('hashchange', route);
route();
