// Small DOM helpers: elements built with createElement (never innerHTML with data), and one view
// per state a page can be in: loading, empty, error (the problem detail in words), success.

/** h('a', {href: '#/x', 'data-testid': 'y', onclick: fn}, 'text', child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function loading(what, testid = 'loading') {
  return h('p', { class: 'state loading', role: 'status', 'data-testid': testid }, `Loading ${what}…`);
}

export function empty(testid, title, ...body) {
  return h('div', { class: 'state empty', 'data-testid': testid }, h('h2', {}, title), ...body);
}

/** An error in words: the problem's detail, and its code and request id for a bug report. */
export function problem(error, testid = 'error', lead = '') {
  const e = error || {};
  const extra = [e.code, e.problem?.requestId ? `request ${e.problem.requestId}` : ''].filter(Boolean).join(' · ');
  return h('div', { class: 'state error', role: 'alert', 'data-testid': testid },
    h('strong', {}, lead || e.title || 'Something went wrong'),
    h('p', { 'data-testid': `${testid}-detail` }, e.message || String(error)),
    extra ? h('p', { class: 'muted small' }, extra) : null);
}

export function success(testid, ...body) {
  return h('div', { class: 'state success', role: 'status', 'data-testid': testid }, ...body);
}

export function badge(text, kind = text, testid) {
  return h('span', { class: `badge badge-${kind}`, 'data-testid': testid }, text);
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return h('time', { datetime: iso, title: d.toISOString() }, d.toLocaleString());
}

/** Copies text; falls back to a selection copy where the Clipboard API is refused (plain HTTP). */
export async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = h('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand('copy');
    area.remove();
  }
  if (button) {
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  }
}

export function copyButton(text, testid, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'secondary small', 'data-testid': testid });
  b.textContent = label;
  b.addEventListener('click', () => copy(typeof text === 'function' ? text() : text, b));
  return b;
}

export function field(label, input, hint, testid) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field', 'data-testid': testid }, h('label', { for: id }, label), input, hintEl);
}

/**
 * A destructive action in two steps, in place: `label` asks, then `confirm` (with `warning`
 * beside it) runs onConfirm(); a failure shows its problem under a fresh ask button.
 */
export function confirmButton({ label, testid, confirm, warning, onConfirm, errorLead }) {
  const box = h('div', { class: 'actions' });
  const ask = h('button', { type: 'button', class: 'danger', 'data-testid': testid }, label);
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger', 'data-testid': `${testid}-confirm` }, confirm);
    const no = h('button', { type: 'button', class: 'secondary' }, 'Keep it');
    no.addEventListener('click', () => { replace(box, ask); ask.focus(); });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await onConfirm();
      } catch (e) {
        replace(box, problem(e, `${testid}-error`, errorLead), ask);
      }
    });
    replace(box, h('span', { class: 'muted' }, warning), yes, no);
    yes.focus();
  });
  return replace(box, ask);
}

/**
 * Runs a page's API actions: "label…" in `status` while call() runs, then reload("label: done."),
 * or the problem (test id `testid`) in `status` when it fails.
 */
export function actions(status, testid, reload) {
  return async (label, call) => {
    replace(status, h('p', { class: 'state loading', role: 'status' }, `${label}…`));
    try {
      await call();
      await reload(`${label}: done.`);
    } catch (e) {
      replace(status, problem(e, testid, `${label} failed`));
    }
  };
}
