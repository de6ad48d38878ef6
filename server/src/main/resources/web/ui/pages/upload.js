// The upload wizard: (1) name and file, (2) dependencies for Python models, (3) review and
// upload with the bytes-sent progress from XMLHttpRequest, then the version as the server
// registered it (signature and status; pip's own words when its environment failed).

import { request, uploadVersion, ApiError } from '../api.js';
import { h, replace, field, problem, badge, success } from '../dom.js';
import { signatureTable } from './model.js';
import { NAME } from '../rules.js';

export const id = 'upload';

export const ACCEPT = '.onnx,.pkl,.pickle,.joblib,.json,.ubj,.pt,.zip,.tar.gz,.tgz';
export const PYTHON = /\.(pkl|pickle|joblib|json|ubj|pt|zip|tar\.gz|tgz)$/i;

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

export function render(root, params) {
  const state = { model: params.query.get('model') || '', file: null, requirements: null };
  const steps = ['Model file', 'Dependencies', 'Review and upload'];
  const stepper = h('ol', { class: 'stepper', 'data-testid': 'wizard-steps' });
  const panel = h('div', { class: 'card' });
  root.append(h('h1', {}, state.model ? `Upload a new version of ${state.model}` : 'Upload a model'), stepper, panel);

  const show = n => {
    replace(stepper, steps.map((s, i) => h('li', { class: i === n ? 'current' : i < n ? 'done' : '',
      'aria-current': i === n ? 'step' : null }, h('span', { class: 'num' }, String(i + 1)), ' ', s)));
    replace(panel, [stepFile, stepDeps, stepReview][n]());
    panel.querySelector('input, button, textarea, select')?.focus();
  };

  const stepFile = () => {
    const name = h('input', { value: state.model, required: true, 'data-testid': 'upload-model-name',
      autocomplete: 'off', spellcheck: 'false', pattern: NAME.source });
    const file = h('input', { type: 'file', accept: ACCEPT, required: true, 'data-testid': 'upload-file' });
    const error = h('div', { 'aria-live': 'polite' });
    const form = h('form', { 'data-testid': 'wizard-step-1' },
      h('h2', {}, '1. The model'),
      field('Model name', name, 'A new name creates the model; an existing name adds its next version.'),
      field('Model file', file, 'ONNX (.onnx), scikit-learn pickle or joblib (.pkl, .joblib), XGBoost (.json, .ubj), '
        + 'TorchScript (.pt), or an archive (.zip, .tar.gz) with one model file or a handler.py.'),
      state.file ? h('p', { class: 'muted' }, `Chosen before: ${state.file.name} — choose it again or another.`) : null,
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'wizard-next-1' }, 'Next')));
    form.addEventListener('submit', e => {
      e.preventDefault();
      const chosen = file.files[0] || state.file;
      const problems = [];
      if (!NAME.test(name.value.trim())) problems.push('the name must be 1-64 characters, start with a letter or digit and use only letters, digits, . _ -');
      if (!chosen) problems.push('choose a model file');
      if (problems.length) {
        replace(error, problem({ message: problems.join('; ') + '.', title: 'Check the form' }, 'wizard-invalid'));
        return;
      }
      state.model = name.value.trim();
      state.file = chosen;
      show(1);
    });
    return form;
  };

  const stepDeps = () => {
    const python = PYTHON.test(state.file.name);
    const req = h('input', { type: 'file', accept: '.txt,text/plain', 'data-testid': 'upload-requirements' });
    const form = h('form', { 'data-testid': 'wizard-step-2' },
      h('h2', {}, '2. Dependencies'),
      python
        ? h('p', {}, 'Python models run in their own virtual environment. Add a requirements.txt if the model needs '
          + 'packages beyond numpy, scikit-learn, XGBoost and PyTorch; pip installs them and its message is shown if it fails.')
        : h('p', { class: 'muted' }, 'ONNX models need no dependencies; you can go straight on.'),
      python ? field('requirements.txt (optional)', req) : null,
      state.requirements ? h('p', { class: 'muted' }, `Chosen before: ${state.requirements.name}`) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', 'data-testid': 'wizard-back-2', onclick: () => show(0) }, 'Back'),
        h('button', { type: 'submit', 'data-testid': 'wizard-next-2' }, 'Next')));
    form.addEventListener('submit', e => {
      e.preventDefault();
      if (req.files && req.files[0]) state.requirements = req.files[0];
      show(2);
    });
    return form;
  };

  const stepReview = () => {
    const progress = h('progress', { max: '100', value: '0', 'data-testid': 'upload-progress',
      'aria-label': 'Upload progress' });
    const progressText = h('span', { 'data-testid': 'upload-progress-text', class: 'muted' });
    const progressBox = h('div', { class: 'progress hidden', 'aria-live': 'polite' }, progress, progressText);
    const result = h('div', { 'data-testid': 'upload-result-box' });
    const start = h('button', { type: 'submit', 'data-testid': 'upload-start' }, 'Upload');
    const back = h('button', { type: 'button', class: 'secondary', 'data-testid': 'wizard-back-3', onclick: () => show(1) }, 'Back');
    const form = h('form', { 'data-testid': 'wizard-step-3' },
      h('h2', {}, '3. Review and upload'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Model'), h('dd', { 'data-testid': 'review-model' }, state.model),
        h('dt', {}, 'File'), h('dd', { 'data-testid': 'review-file' }, `${state.file.name} (${size(state.file.size)})`),
        h('dt', {}, 'requirements.txt'), h('dd', {}, state.requirements ? state.requirements.name : 'none')),
      h('div', { class: 'actions' }, back, start),
      progressBox, result);
    form.addEventListener('submit', async e => {
      e.preventDefault();
      start.disabled = true;
      back.disabled = true;
      progressBox.classList.remove('hidden');
      replace(result);
      try {
        const version = await uploadVersion(state.model, state.file, state.requirements,
          showUpload(progress, progressText, state.file));
        progressText.textContent = ' Done.';
        replace(result, versionResult(version));
      } catch (err) {
        progressText.textContent = ' Failed.';
        replace(result, await failure(state.model, err));
        start.disabled = false;
        back.disabled = false;
      }
    });
    return form;
  };

  show(0);
}

/** An upload progress callback that fills a <progress> and says what the server does once all is sent. */
export function showUpload(bar, text, file) {
  return (sent, total, done) => {
    const pct = total ? Math.round((100 * sent) / total) : 0;
    bar.value = pct;
    text.textContent = done || pct >= 100
      ? ` 100% sent — the server is checking the model${PYTHON.test(file.name) ? ' and building its environment' : ''}…`
      : ` ${pct}% (${size(sent)} of ${size(total)})`;
  };
}

/** A failed upload: the problem in words, and for a version registered as failed its status in full. */
export async function failure(model, err) {
  const parts = [problem(err, 'upload-error', 'The upload was not accepted')];
  if (err instanceof ApiError && err.code === 'environment-failed') {
    try {
      const versions = (await request('GET', `/api/v1/models/${encodeURIComponent(model)}/versions`)).items;
      const failed = versions[versions.length - 1];
      if (failed) parts.push(versionResult(failed));
    } catch { /* the problem above already says what happened */ }
  }
  return parts;
}

export function versionResult(v) {
  const ok = v.status === 'ready';
  const body = [
    h('h3', {}, `${v.model} version ${v.version}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Version'), h('dd', { 'data-testid': 'result-version' }, String(v.version)),
      h('dt', {}, 'Status'), h('dd', {}, badge(v.status, v.status, 'result-status'), ' ', badge(v.state, v.state, 'result-state')),
      h('dt', {}, 'Format'), h('dd', {}, `${v.format} (runtime: ${v.runtime})`),
      h('dt', {}, 'SHA-256'), h('dd', { class: 'mono wrap' }, v.sha256)),
    v.status_message ? h('div', {}, h('h4', {}, ok ? 'Message' : 'Why it failed'),
      h('pre', { class: 'log', 'data-testid': 'result-status-message', tabindex: '0' }, v.status_message)) : null,
    h('h4', {}, 'Signature'), signatureTable(v.signature),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: `#/models/${encodeURIComponent(v.model)}`, 'data-testid': 'result-open-model' },
        'Open the model page')),
  ];
  return ok ? success('upload-result', ...body)
    : h('div', { class: 'state error', role: 'alert', 'data-testid': 'upload-result' }, ...body);
}
