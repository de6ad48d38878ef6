// The deploy wizard: (1) the model, a new file uploaded with a progress bar or a version already
// uploaded; (2) resources; (3) dependencies (requirements.txt, environment variables); (4) review
// and deploy. Then the live progress: the upload's bytes, then the rollout's event stream.

import { request, uploadVersion } from '../api.js';
import { h, replace, field, problem, empty, loading } from '../dom.js';
import { rolloutProgress } from '../progress.js';
import { failure, showUpload, size, ACCEPT, PYTHON } from './upload.js';
import { NAME } from '../rules.js';

export const id = 'deploy';

const ENV = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const STEPS = ['Model', 'Resources', 'Dependencies', 'Review and deploy'];

/** NAME=value lines into an object, or the list of lines that are not. */
function parseEnv(text) {
  const env = {};
  const bad = [];
  text.split('\n').map(l => l.trim()).filter(Boolean).forEach((line, i) => {
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !ENV.test(key)) bad.push(`line ${i + 1} ("${line}")`);
    else env[key] = line.slice(eq + 1);
  });
  return { env, bad };
}

function invalid(messages) {
  return problem({ message: `${messages.join('; ')}.`, title: 'Check the form' }, 'wizard-invalid');
}

export async function render(root, params) {
  const state = {
    source: 'upload', model: params.query.get('model') || '', file: null, version: null, requirements: null,
    resources: { cache: '', warmup: '', instances: '', max_batch_size: 1, max_queue_delay_ms: 2, timeout_s: 30, memory_limit: '', idle_unload_min: 0, pinned: false },
    envText: '', name: '',
  };
  const stepper = h('ol', { class: 'stepper', 'data-testid': 'wizard-steps' });
  const panel = h('div', { class: 'card', 'data-testid': 'wizard-panel' }, loading('your models'));
  root.append(h('h1', {}, 'Deploy a model'), stepper, panel);
  let models = [];
  try {
    models = (await request('GET', '/api/v1/models')).items;
  } catch (e) {
    replace(panel, problem(e, 'wizard-error', 'Could not list your models'));
    return undefined;
  }
  if (state.model && models.some(m => m.name === state.model)) state.source = 'existing';
  let progress = null;

  const show = n => {
    replace(stepper, STEPS.map((s, i) => h('li', { class: i === n ? 'current' : i < n ? 'done' : '',
      'aria-current': i === n ? 'step' : null }, h('span', { class: 'num' }, String(i + 1)), ' ', s)));
    replace(panel, [stepModel, stepResources, stepDependencies, stepReview][n]());
    panel.querySelector('h2')?.setAttribute('tabindex', '-1');
    panel.querySelector('h2')?.focus();
  };
  const nav = (back, next, label = 'Next') => h('div', { class: 'actions' },
    back === null ? null : h('button', { type: 'button', class: 'secondary', 'data-testid': `wizard-back-${back + 2}`,
      onclick: () => show(back) }, 'Back'),
    h('button', { type: 'submit', 'data-testid': `wizard-next-${next}` }, label));

  const stepModel = () => {
    const error = h('div', { 'aria-live': 'polite' });
    const radio = (value, label, disabled) => h('div', { class: 'check' },
      h('input', { type: 'radio', name: 'source', id: `source-${value}`, value, checked: state.source === value, disabled,
        'data-testid': `wizard-source-${value}` }), h('label', { for: `source-${value}` }, label));
    const uploadBox = h('div', { 'data-testid': 'wizard-upload' });
    const name = h('input', { value: state.model, 'data-testid': 'wizard-model-name', autocomplete: 'off', spellcheck: 'false' });
    const file = h('input', { type: 'file', accept: ACCEPT, 'data-testid': 'wizard-file' });
    replace(uploadBox, field('Model name', name, 'A new name creates the model; an existing name adds its next version.'),
      field('Model file', file, 'ONNX (.onnx), scikit-learn pickle or joblib (.pkl, .joblib), XGBoost (.json, .ubj), '
        + 'TorchScript (.pt), or an archive (.zip, .tar.gz) with one model file or a handler.py.'),
      state.file ? h('p', { class: 'muted' }, `Chosen before: ${state.file.name} (${size(state.file.size)}).`) : null);
    const existingBox = h('div', { 'data-testid': 'wizard-existing' });
    const modelSelect = h('select', { 'data-testid': 'wizard-existing-model' },
      models.map(m => h('option', { value: m.name, selected: m.name === state.model }, m.name)));
    const versionSelect = h('select', { 'data-testid': 'wizard-existing-version' });
    const loadVersions = async () => {
      replace(versionSelect, h('option', { value: '' }, 'Loading…'));
      try {
        const vs = (await request('GET', `/api/v1/models/${encodeURIComponent(modelSelect.value)}/versions`)).items
          .filter(v => v.status !== 'failed' && v.state !== 'archived');
        replace(versionSelect, vs.length ? [...vs].reverse().map(v => h('option', { value: String(v.version),
          selected: state.version === v.version }, `v${v.version} — ${v.format}, ${v.state}`))
          : h('option', { value: '' }, 'No deployable version'));
      } catch (e) {
        replace(versionSelect, h('option', { value: '' }, `Could not list versions: ${e.message}`));
      }
    };
    modelSelect.addEventListener('change', loadVersions);
    if (models.length) {
      replace(existingBox, field('Model', modelSelect), field('Version', versionSelect, 'Archived and failed versions cannot be deployed.'));
      loadVersions();
    } else {
      replace(existingBox, empty('wizard-no-models', 'No models yet', h('p', {}, 'Upload a model file above; it becomes version 1.')));
    }
    const sync = () => {
      const chosen = form.querySelector('input[name=source]:checked').value;
      uploadBox.classList.toggle('hidden', chosen !== 'upload');
      existingBox.classList.toggle('hidden', chosen !== 'existing');
    };
    const form = h('form', { 'data-testid': 'wizard-step-1', onchange: e => { if (e.target.name === 'source') sync(); } },
      h('h2', {}, '1. The model'),
      h('fieldset', {}, h('legend', {}, 'Where the model comes from'),
        radio('upload', 'Upload a model file'), radio('existing', 'A model I uploaded before', !models.length)),
      uploadBox, existingBox, error, nav(null, 1));
    sync();
    form.addEventListener('submit', e => {
      e.preventDefault();
      state.source = form.querySelector('input[name=source]:checked').value;
      const problems = [];
      if (state.source === 'upload') {
        const chosen = file.files[0] || state.file;
        if (!NAME.test(name.value.trim())) problems.push('the model name must be 1-64 letters, digits, . _ - starting with a letter or digit');
        if (!chosen) problems.push('choose a model file');
        if (!problems.length) {
          state.model = name.value.trim();
          state.file = chosen;
          state.version = null;
        }
      } else {
        if (!versionSelect.value) problems.push('choose a version that can be deployed');
        else {
          state.model = modelSelect.value;
          state.version = Number(versionSelect.value);
          state.file = null;
          state.requirements = null;
        }
      }
      if (problems.length) { replace(error, invalid(problems)); return; }
      if (!state.name) state.name = state.model;
      show(1);
    });
    return form;
  };

  const stepResources = () => {
    const r = state.resources;
    const num = (key, min, max, optional = false) => h('input', { type: 'number', min, max, step: '1',
      value: String(r[key]), required: !optional, placeholder: optional ? 'server default' : null,
      'data-testid': `wizard-${key.replaceAll('_', '-')}` });
    const inputs = {
      instances: num('instances', '1', '64', true),
      max_batch_size: num('max_batch_size', '1', '4096'),
      max_queue_delay_ms: num('max_queue_delay_ms', '0', '60000'),
      timeout_s: num('timeout_s', '1', '86400'),
      idle_unload_min: num('idle_unload_min', '0', '1440'),
    };
    const memory = h('input', { value: r.memory_limit, placeholder: 'server default', 'data-testid': 'wizard-memory-limit',
      pattern: '^\\s*\\d+(\\.\\d+)?\\s*([KMGT]i?B?|B)?\\s*$', autocomplete: 'off' });
    const pinned = h('input', { type: 'checkbox', id: 'wizard-pinned', checked: r.pinned, 'data-testid': 'wizard-pinned' });
    const cache = h('select', { 'data-testid': 'wizard-cache' },
      [['', "The model's setting"], ['on', 'On'], ['off', 'Off']].map(([value, label]) =>
        h('option', { value, selected: r.cache === value }, label)));
    const warmup = h('textarea', { rows: '2', class: 'mono', spellcheck: 'false', 'data-testid': 'wizard-warmup',
      placeholder: '{"features": [5.1, 3.5, 1.4, 0.2]}' });
    warmup.value = r.warmup;
    const error = h('div', { 'aria-live': 'polite' });
    const form = h('form', { 'data-testid': 'wizard-step-2' },
      h('h2', {}, '2. Resources'),
      h('div', { class: 'form-grid' },
        field('Instances', inputs.instances, 'Calls run at once: Python worker processes, or concurrent runs of the ONNX session (1-64); empty for the server default.'),
        field('Largest batch (rows)', inputs.max_batch_size, '1 turns dynamic batching off.'),
        field('Batch wait (ms)', inputs.max_queue_delay_ms, 'Longest a call waits for others to join its batch.'),
        field('Timeout (s)', inputs.timeout_s, 'Deadline of a call that sends no X-Request-Timeout.'),
        field('Memory limit', memory, 'For Python workers, e.g. 512MB or 2GB; empty for the server default.'),
        field('Unload when idle (minutes)', inputs.idle_unload_min, '0 keeps the model loaded.'),
        field('Response cache', cache, 'Identical calls answered from the cache.')),
      field('Warm-up sample (optional)', warmup, 'A predict body the model must answer before the deployment is active.'),
      h('div', { class: 'switch' }, pinned, h('label', { for: 'wizard-pinned' }, 'Keep loaded whatever the memory budget says (pin)')),
      error, nav(0, 2));
    form.addEventListener('submit', e => {
      e.preventDefault();
      for (const [k, input] of Object.entries(inputs)) r[k] = input.value === '' ? '' : Number(input.value);
      r.memory_limit = memory.value.trim();
      r.pinned = pinned.checked;
      r.cache = cache.value;
      r.warmup = warmup.value.trim();
      if (r.warmup) {
        try {
          JSON.parse(r.warmup);
        } catch (err) {
          replace(error, invalid([`the warm-up sample is not JSON: ${err.message}`]));
          return;
        }
      }
      show(2);
    });
    return form;
  };

  const stepDependencies = () => {
    const python = state.file ? PYTHON.test(state.file.name) : null;
    const req = h('input', { type: 'file', accept: '.txt,text/plain', 'data-testid': 'wizard-requirements' });
    const env = h('textarea', { rows: '4', class: 'mono', spellcheck: 'false', 'data-testid': 'wizard-env',
      placeholder: 'LOG_LEVEL=info' });
    env.value = state.envText;
    const error = h('div', { 'aria-live': 'polite' });
    const form = h('form', { 'data-testid': 'wizard-step-3' },
      h('h2', {}, '3. Dependencies'),
      python === true ? [h('p', {}, 'Python models run in their own virtual environment. Add a requirements.txt if the model needs '
        + 'packages beyond numpy, scikit-learn, XGBoost and PyTorch; pip installs them, and its message is shown if it fails.'),
      field('requirements.txt (optional)', req), state.requirements ? h('p', { class: 'muted' }, `Chosen before: ${state.requirements.name}`) : null]
        : h('p', { class: 'muted' }, python === false ? 'ONNX models need no packages.'
          : 'The packages of a version were installed when it was uploaded.'),
      field('Environment variables (Python models)', env, 'One NAME=value a line; given to the model\'s worker processes.'),
      error, nav(1, 3));
    form.addEventListener('submit', e => {
      e.preventDefault();
      const { bad } = parseEnv(env.value);
      if (bad.length) { replace(error, invalid([`write NAME=value on ${bad.join(', ')}`])); return; }
      state.envText = env.value;
      if (req.files && req.files[0]) state.requirements = req.files[0];
      show(3);
    });
    return form;
  };

  const config = () => {
    const r = state.resources;
    const c = { instances: r.instances === '' ? null : r.instances, max_batch_size: r.max_batch_size, max_queue_delay: r.max_queue_delay_ms,
      timeout: r.timeout_s * 1000, idle_unload: r.idle_unload_min * 60_000, min_instances: r.pinned ? 1 : 0,
      env: parseEnv(state.envText).env };
    if (r.memory_limit) c.memory_limit = r.memory_limit;
    if (r.cache) c.cache = { enabled: r.cache === 'on' };
    if (r.warmup) c.warmup = JSON.parse(r.warmup);
    return c;
  };

  const stepReview = () => {
    const r = state.resources;
    const name = h('input', { value: state.name, required: true, 'data-testid': 'wizard-deployment-name', autocomplete: 'off', spellcheck: 'false' });
    const error = h('div', { 'aria-live': 'polite' });
    const env = Object.keys(parseEnv(state.envText).env);
    const form = h('form', { 'data-testid': 'wizard-step-4' },
      h('h2', {}, '4. Review and deploy'),
      field('Deployment name', name, 'Clients call /api/v1/deployments/<name>/predict. 1-64 letters, digits, . _ -'),
      h('dl', { class: 'facts', 'data-testid': 'wizard-review' },
        h('dt', {}, 'Model'), h('dd', { 'data-testid': 'review-model' }, state.file
          ? `${state.model}: a new version from ${state.file.name} (${size(state.file.size)})` : `${state.model} v${state.version}`),
        h('dt', {}, 'Traffic'), h('dd', {}, 'All calls to this version'),
        h('dt', {}, 'Instances'), h('dd', {}, r.instances === '' ? 'server default' : String(r.instances)),
        h('dt', {}, 'Batching'), h('dd', {}, r.max_batch_size > 1 ? `up to ${r.max_batch_size} rows, waiting up to ${r.max_queue_delay_ms} ms` : 'off'),
        h('dt', {}, 'Timeout'), h('dd', {}, `${r.timeout_s} s`),
        h('dt', {}, 'Memory limit'), h('dd', {}, r.memory_limit || 'server default'),
        h('dt', {}, 'Idle unload'), h('dd', {}, r.idle_unload_min ? `after ${r.idle_unload_min} min` : 'never', r.pinned ? ' (pinned)' : ''),
        h('dt', {}, 'Response cache'), h('dd', {}, r.cache === '' ? "the model's setting" : r.cache),
        h('dt', {}, 'Warm-up sample'), h('dd', { class: 'mono' }, r.warmup || 'a row of zeros from the signature'),
        h('dt', {}, 'requirements.txt'), h('dd', {}, state.requirements ? state.requirements.name : 'none'),
        h('dt', {}, 'Environment'), h('dd', { class: 'mono' }, env.length ? env.join(', ') : 'none')),
      error, nav(2, 4, 'Deploy'));
    form.addEventListener('submit', e => {
      e.preventDefault();
      if (!NAME.test(name.value.trim())) {
        replace(error, invalid(['the deployment name must be 1-64 letters, digits, . _ - starting with a letter or digit']));
        return;
      }
      state.name = name.value.trim();
      deploy();
    });
    return form;
  };

  /** The progress view: upload bytes (for a new file), the deployment's creation, then its events. */
  const deploy = async () => {
    replace(stepper, STEPS.map((s, i) => h('li', { class: i === 3 ? 'current' : 'done' }, h('span', { class: 'num' }, String(i + 1)), ' ', s)));
    const log = h('div', { 'aria-live': 'polite' });
    const view = h('section', { 'data-testid': 'deploy-progress' }, h('h2', { tabindex: '-1' }, `Deploying ${state.name}`), log);
    replace(panel, view);
    view.querySelector('h2').focus();
    const back = () => h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', 'data-testid': 'wizard-retry',
      onclick: () => show(3) }, 'Back to the review'));
    let version = state.version;
    if (state.file) {
      const bar = h('progress', { max: '100', value: '0', 'data-testid': 'upload-progress', 'aria-label': 'Upload progress' });
      const text = h('span', { class: 'muted', 'data-testid': 'upload-progress-text' }, ' 0%');
      log.append(h('h3', {}, `Uploading ${state.file.name}`), h('div', { class: 'progress' }, bar, text));
      try {
        const v = await uploadVersion(state.model, state.file, state.requirements, showUpload(bar, text, state.file));
        text.textContent = ` Uploaded as ${v.model} v${v.version}.`;
        version = v.version;
      } catch (err) {
        text.textContent = ' Failed.';
        log.append(...await failure(state.model, err), back());
        return;
      }
    }
    log.append(h('h3', {}, 'Rollout'));
    try {
      await request('POST', '/api/v1/deployments', { name: state.name, model: state.model,
        policy: { versions: [{ version, weight: 100 }] }, config: config() });
    } catch (err) {
      log.append(problem(err, 'deploy-error', 'The deployment was not created'), back());
      state.file = null; // the version is uploaded now: going back deploys it instead of uploading again
      state.source = 'existing';
      state.version = version;
      return;
    }
    progress = rolloutProgress(state.name, status => {
      log.append(h('div', { class: 'actions' }, h('a', { class: 'button', href: `#/deployments/${encodeURIComponent(state.name)}`,
        'data-testid': 'open-deployment' }, status === 'active' ? 'Open the deployment' : 'Open the deployment to see why')));
    });
    log.append(progress.element);
  };

  show(0);
  return () => progress?.stop();
}
