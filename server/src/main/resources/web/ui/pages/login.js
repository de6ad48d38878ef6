import { login, register } from '../api.js';
import { h, field, problem, replace } from '../dom.js';

export const id = 'login';

export function render(root, params) {
  const registering = !!params.register;
  const status = h('div', { 'aria-live': 'polite' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true,
    'data-testid': 'login-username', spellcheck: 'false', autocapitalize: 'none' });
  const password = h('input', { name: 'password', type: 'password', required: true,
    autocomplete: registering ? 'new-password' : 'current-password', 'data-testid': 'login-password' });
  const submit = h('button', { type: 'submit', 'data-testid': registering ? 'register-submit' : 'login-submit' },
    registering ? 'Create account' : 'Sign in');
  const form = h('form', { class: 'card narrow', 'data-testid': registering ? 'register-form' : 'login-form' },
    h('h1', {}, registering ? 'Create an account' : 'Sign in to ServeML'),
    field('Username', username, registering ? '3–64 characters: lower-case letters, digits, . _ -' : null),
    field('Password', password, registering ? 'At least 10 characters' : null),
    status,
    h('div', { class: 'actions' }, submit),
    h('p', { class: 'muted' }, registering
      ? ['Have an account? ', h('a', { href: '#/login', 'data-testid': 'to-login' }, 'Sign in')]
      : ['New here? ', h('a', { href: '#/register', 'data-testid': 'to-register' }, 'Create an account'),
        ' (when the server allows registration).']));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    submit.disabled = true;
    replace(status, h('p', { class: 'state loading', role: 'status' }, registering ? 'Creating your account…' : 'Signing in…'));
    try {
      await (registering ? register : login)(username.value.trim(), password.value);
      const next = params.query.get('next');
      location.hash = next && next.startsWith('/') ? `#${next}` : '#/deployments';
    } catch (err) {
      replace(status, problem(err, registering ? 'register-error' : 'login-error',
        registering ? 'Could not create the account' : 'Could not sign in'));
      submit.disabled = false;
      password.focus();
    }
  });
  root.append(form);
  username.focus();
}
