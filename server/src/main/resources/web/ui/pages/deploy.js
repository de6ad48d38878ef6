// The deploy wizard: (1) the model, a new file uploaded with a progress bar, a repository of the
// Hugging Face Hub (checked first: its files and sizes before anything downloads), or a version
// already uploaded; (2) resources; (3) dependencies (requirements.txt, environment variables);
// (4) review and deploy. Then the live progress: the upload's bytes or the import's phases, then
// the rollout's event stream.

import { request, uploadVersion, hubPreview, importVersion } from '../api.js';
import { h, replace, field, problem, empty, loading, badge } from '../dom.js';
import { rolloutProgress, importProgress } from '../progress.js';
import { failure, showUpload, size, ACCEPT, PYTHON } from './upload.js';
import { NAME } from '../rules.js';

export const id = 'deploy';

const ENV = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const STEPS = ['Model', 'Resources', 'Dependencies', 'Review and deploy'];
/** The tasks the text runtime serves (Contract 2); "auto" sends none and lets the server detect it. */
export const TASKS = ['text-classification', 'token-classification', 'feature-extraction', 'fill-mask',
  'question-answering', 'zero-shot-classification', 'text-ranking'];
/** org/name (or a bare legacy name such as gpt2), as the Hub spells repository ids. */
const REPO = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

/** A repository id as typed or pasted: hf://org/name and https://huggingface.co/org/name become org/name. */
export function repoId(text) {
  return text.trim().replace(/^hf:\/\//, '').replace(/^https?:\/\/(www\.)?huggingface\.co\//, '')
    .replace(/\/(tree|blob|resolve)\/.*$/, '').replace(/\/+$/, '');
}

/** A model name from a repository id: its last part, as a name the server takes. */
function nameFromRepo(repo) {
  return (repo.split('/').pop() || '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
}

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
    // The Hub token lives in this closure only: sent as X-HF-Token, never stored anywhere.
    hub: { repo: '', revision: 'main', variant: 'fp32', task: '', token: '', preview: null },
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
  let importer = null;

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
    const hub = hubBox(state.hub, () => state.source === 'hub' ? state.model : '');
    const sync = () => {
      const chosen = form.querySelector('input[name=source]:checked').value;
      uploadBox.classList.toggle('hidden', chosen !== 'upload');
      hub.element.classList.toggle('hidden', chosen !== 'hub');
      existingBox.classList.toggle('hidden', chosen !== 'existing');
    };
    const form = h('form', { 'data-testid': 'wizard-step-1', onchange: e => { if (e.target.name === 'source') sync(); } },
      h('h2', {}, '1. The model'),
      h('fieldset', {}, h('legend', {}, 'Where the model comes from'),
        radio('upload', 'Upload a model file'), radio('hub', 'From the Hugging Face Hub'),
        radio('existing', 'A model I uploaded before', !models.length)),
      uploadBox, hub.element, existingBox, error, nav(null, 1));
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
      } else if (state.source === 'hub') {
        problems.push(...hub.read());
        if (!problems.length) {
          state.model = hub.model();
          state.file = null;
          state.version = null;
          state.requirements = null;
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
    const python = state.source === 'hub' ? false : state.file ? PYTHON.test(state.file.name) : null;
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
        : h('p', { class: 'muted' }, state.source === 'hub' ? 'Text models from the Hub run in the server (their tokenizer and ONNX '
          + 'export): no packages are needed.' : python === false ? 'ONNX models need no packages.'
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
        h('dt', {}, 'Model'), h('dd', { 'data-testid': 'review-model' }, state.source === 'hub'
          ? `${state.model}: a new version from hf://${state.hub.repo} at ${state.hub.revision || 'main'} (${state.hub.variant || 'fp32'}, `
            + `task ${state.hub.task || 'detected'})` : state.file
            ? `${state.model}: a new version from ${state.file.name} (${size(state.file.size)})` : `${state.model} v${state.version}`),
        state.source === 'hub' && state.hub.preview ? [h('dt', {}, 'Download'), h('dd', { 'data-testid': 'review-download' },
          `${size(state.hub.preview.needed_bytes)}${state.hub.preview.cached ? ' (already in the cache)' : ''}`)] : null,
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
      error, nav(2, 4, state.source === 'hub' ? 'Import and deploy' : 'Deploy'));
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
    if (state.source === 'hub') {
      log.append(h('h3', {}, `Importing hf://${state.hub.repo}`));
      const body = { source: `hf://${state.hub.repo}`, revision: state.hub.revision || 'main', variant: state.hub.variant || 'fp32' };
      if (state.hub.task) body.task = state.hub.task;
      let started;
      try {
        started = await importVersion(state.model, body, state.hub.token);
      } catch (err) {
        log.append(problem(err, 'import-error', 'The import was not started'), back());
        return;
      }
      state.hub.token = ''; // the server has what it needs; the token goes no further
      importer = importProgress(started);
      log.append(importer.element);
      const finished = await importer.done;
      if (!finished || finished.phase !== 'ready') {
        log.append(back());
        return;
      }
      version = finished.version;
    } else if (state.file) {
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
      state.file = null; // the version is uploaded or imported now: going back deploys it instead of fetching it again
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
  return () => { progress?.stop(); importer?.stop(); };
}

/**
 * The Hub part of step one: repository id, revision, variant, task, an optional token, and
 * "Check", which shows what an import would fetch. Answers {element, read, model}: read() keeps
 * the fields in `hub` and answers what is wrong with them; model() the model name chosen.
 */
function hubBox(hub, currentModel) {
  const model = h('input', { value: currentModel(), 'data-testid': 'wizard-hub-model-name', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'the repository\'s name' });
  const repo = h('input', { value: hub.repo, 'data-testid': 'wizard-hub-repo', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'distilbert/distilbert-base-uncased-finetuned-sst-2-english' });
  const revision = h('input', { value: hub.revision, 'data-testid': 'wizard-hub-revision', autocomplete: 'off', spellcheck: 'false' });
  const variant = h('select', { 'data-testid': 'wizard-hub-variant' });
  const variants = list => replace(variant, [...new Set(['fp32', ...list, hub.variant])].map(v =>
    h('option', { value: v, selected: v === hub.variant }, v)));
  variants(hub.preview?.variants || []);
  const task = h('select', { 'data-testid': 'wizard-hub-task' }, h('option', { value: '' }, 'Detect it (auto)'),
    TASKS.map(t => h('option', { value: t, selected: t === hub.task }, t)));
  // Never autofilled, never saved by the browser, never in storage: the field is the only copy.
  const token = h('input', { type: 'password', value: hub.token, 'data-testid': 'wizard-hub-token', autocomplete: 'new-password',
    spellcheck: 'false', placeholder: 'hf_… (only for private or gated repositories)' });
  const check = h('button', { type: 'button', class: 'secondary', 'data-testid': 'wizard-hub-check' }, 'Check');
  const preview = h('div', { 'aria-live': 'polite', 'data-testid': 'wizard-hub-preview-box' });
  const keep = () => {
    hub.repo = repoId(repo.value);
    hub.revision = revision.value.trim() || 'main';
    hub.variant = variant.value || 'fp32';
    hub.task = task.value;
    hub.token = token.value.trim();
  };
  const run = async () => {
    keep();
    if (!REPO.test(hub.repo)) {
      replace(preview, invalid(['write the repository as org/name, e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english']));
      return;
    }
    check.disabled = true;
    replace(preview, h('p', { class: 'state loading', role: 'status' }, `Reading hf://${hub.repo}…`));
    try {
      hub.preview = await hubPreview(hub.repo, hub.revision, hub.variant, hub.token);
      variants(hub.preview.variants || []);
      if (!model.value.trim()) model.value = nameFromRepo(hub.repo);
      replace(preview, previewView(hub.preview));
    } catch (e) {
      hub.preview = null;
      replace(preview, problem(e, 'wizard-hub-error', 'The repository cannot be imported'));
    } finally {
      check.disabled = false;
    }
  };
  check.addEventListener('click', run);
  // What is fetched depends on the variant: a preview shown is redrawn for the one chosen.
  variant.addEventListener('change', () => { if (hub.preview) run(); });
  if (hub.preview) replace(preview, previewView(hub.preview));
  const element = h('div', { 'data-testid': 'wizard-hub' },
    field('Repository', repo, 'The id on huggingface.co (org/name); the repository needs an ONNX export.'),
    h('div', { class: 'form-grid' },
      field('Revision', revision, 'A branch, tag or commit; the version pins the commit it resolves to.'),
      field('Variant', variant, 'Which ONNX file: fp32, or a quantized or half-precision one the repository has.'),
      field('Task', task, 'Detected from the repository unless you choose one.'),
      field('Model name', model, 'A new name creates the model; an existing name adds its next version.')),
    field('Hub token (optional)', token, 'Sent once with the check and the import, as the X-HF-Token header; never stored.'),
    h('div', { class: 'actions' }, check), preview);
  const read = () => {
    keep();
    const problems = [];
    if (!REPO.test(hub.repo)) problems.push('write the repository as org/name');
    if (!model.value.trim() && REPO.test(hub.repo)) model.value = nameFromRepo(hub.repo);
    if (!NAME.test(model.value.trim())) problems.push('the model name must be 1-64 letters, digits, . _ - starting with a letter or digit');
    return problems;
  };
  return { element, read, model: () => model.value.trim() };
}

/** What an import would fetch: the repository's files with sizes, which are needed, the total. */
function previewView(p) {
  const files = p.files || [];
  return h('div', { class: 'hub-preview', 'data-testid': 'wizard-hub-preview' },
    h('dl', { class: 'facts inline' },
      h('dt', {}, 'Commit'), h('dd', { class: 'mono', 'data-testid': 'hub-commit' }, (p.commit || '').slice(0, 12) || '—'),
      h('dt', {}, 'Task'), h('dd', { 'data-testid': 'hub-task' }, p.task || 'not one ServeML serves',
        p.pipeline_tag && p.pipeline_tag !== p.task ? h('span', { class: 'muted' }, ` (the Hub says ${p.pipeline_tag})`) : null),
      h('dt', {}, 'Access'), h('dd', { 'data-testid': 'hub-access' }, p.private ? badge('private', 'failed') : badge('public', 'public'),
        p.gated ? [' ', badge('gated', 'deprecated')] : null),
      h('dt', {}, 'Download'), h('dd', { 'data-testid': 'hub-needed-bytes' },
        `${files.filter(f => f.needed).length} of ${files.length} files, ${size(p.needed_bytes ?? 0)}`,
        p.cached ? h('span', { class: 'muted' }, ' (already in the cache: nothing to download)') : null)),
    h('div', { class: 'table-wrap hub-files' }, h('table', { 'data-testid': 'hub-files' },
      h('thead', {}, h('tr', {}, ['File', 'Size', ''].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, files.map(f => h('tr', { 'data-testid': 'hub-file', 'data-path': f.path, class: f.needed ? 'needed' : 'skipped' },
        h('td', { class: 'mono wrap' }, f.path), h('td', {}, size(f.size ?? 0)),
        h('td', {}, f.needed ? badge('downloaded', 'ready') : h('span', { class: 'muted small' }, 'not needed'))))))));
}
