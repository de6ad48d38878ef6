// Batch jobs (issue 16): a form that sends a file to be scored by one of the caller's models or
// deployments, and the caller's jobs, each with a bar that moves as the server reports rows (its
// event stream, read with fetch so that the token goes in a header), its rate, ETA and failed
// rows, and buttons to download the result or the errors, cancel and delete.

import { request, submitJob, download, streamEvents } from '../api.js';
import { h, replace, field, loading, empty, problem, badge, when, success, confirmButton } from '../dom.js';
import { duration } from '../progress.js';
import { size } from './upload.js';

export const id = 'jobs';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const STATUSES = ['queued', 'running', 'cancelling', 'completed', 'failed', 'cancelled'];
const BADGE = { queued: 'pending', running: 'loading', cancelling: 'pending', completed: 'ready', failed: 'failed', cancelled: 'archived' };
const ACCEPT = '.csv,.jsonl,.ndjson,.json';
const PAGE = 50;
/** A page has six connections to its server (HTTP/1.1); streams beyond these poll instead, so calls still get through. */
const MAX_STREAMS = 3;
const POLL_MS = 1_000;

/** Done and failed rows over the total, floored so that 100% means every row; null while the total is unknown. */
export function percentOf(job) {
  const r = job.rows || {};
  if (r.total == null) return job.status === 'completed' ? 100 : null;
  if (r.total === 0) return 100;
  return Math.min(100, Math.floor((100 * ((r.done || 0) + (r.failed || 0))) / r.total));
}

function targetText(job) {
  if (job.deployment) return `deployment ${job.deployment}`;
  // An OpenAI batch (POST /v1/batches) is a job whose lines name their own routes and models.
  if (!job.model) return 'OpenAI batch';
  return job.version ? `${job.model} v${job.version}` : job.model;
}

function list(text) {
  return text.split(',').map(s => s.trim()).filter(Boolean);
}

function sleep(ms, signal) {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export async function render(root, params) {
  const outcome = h('div', { 'aria-live': 'polite', 'data-testid': 'job-submit-outcome' });
  const formBox = h('section', { class: 'card' }, h('h2', {}, 'Score a file'), loading('your models', 'job-form-loading'));
  const status = h('select', { 'data-testid': 'jobs-filter', 'aria-label': 'Show jobs that are' },
    h('option', { value: '' }, 'all'), STATUSES.map(s => h('option', { value: s }, s)));
  const body = h('div', {}, loading('your jobs', 'jobs-loading'));
  const pager = h('div', { class: 'actions' });
  root.append(h('h1', {}, 'Batch jobs'),
    h('p', { class: 'muted' }, 'Score a whole file (CSV with a header, JSON Lines or a JSON array of rows) against a model; '
      + 'a bad row goes to the errors file and never fails the job.'),
    formBox,
    h('section', { class: 'card' }, h('div', { class: 'page-head' }, h('h2', {}, 'Your jobs'),
      h('label', { class: 'small' }, 'Show ', status)), body, pager));

  const controller = new AbortController();
  const rows = new Map();
  const followed = new Map();
  let streams = 0;
  let offset = 0;

  const show = view => rows.get(view.id)?.update(view);

  /** Keeps one job's row live until it is settled: its event stream while a slot is free, else a poll. */
  const follow = job => {
    if (TERMINAL.has(job.status) || followed.has(job.id)) return;
    const stop = new AbortController();
    controller.signal.addEventListener('abort', () => stop.abort(), { once: true });
    followed.set(job.id, stop);
    const path = `/api/v1/jobs/${encodeURIComponent(job.id)}`;
    (async () => {
      let view = job;
      while (!TERMINAL.has(view.status) && !stop.signal.aborted) {
        try {
          if (streams < MAX_STREAMS) {
            streams++;
            try {
              await streamEvents(job.events_url || `${path}/events`, e => {
                if (e.data && typeof e.data === 'object' && e.data.id === job.id) { view = e.data; show(view); }
              }, stop.signal);
            } finally {
              streams--;
            }
          }
          // After a stream has ended (or instead of one): the view as it is now, in case an event was missed.
          if (!TERMINAL.has(view.status) && !stop.signal.aborted) { view = await request('GET', path); show(view); }
        } catch (e) {
          if (stop.signal.aborted) break;
          rows.get(job.id)?.lost(e);
          if (e.status && e.status < 500 && e.status !== 429) break; // gone (404) or refused: polling will not help
        }
        if (!TERMINAL.has(view.status)) await sleep(POLL_MS, stop.signal);
      }
      followed.delete(job.id);
    })();
  };

  const load = async () => {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (status.value) q.set('status', status.value);
    let page;
    try {
      page = await request('GET', `/api/v1/jobs?${q}`);
    } catch (e) {
      replace(body, problem(e, 'jobs-error', 'Could not list your jobs'));
      return;
    }
    const seen = new Set(page.jobs.map(j => j.id));
    for (const [jobId, stop] of followed) if (!seen.has(jobId)) stop.abort();
    rows.clear();
    replace(pager);
    if (!page.jobs.length) {
      replace(body, empty('jobs-empty', status.value ? `No ${status.value} jobs` : 'No jobs yet',
        h('p', {}, 'Choose a file above: its rows are scored in the background, and the result is kept for you to download.')));
    } else {
      for (const j of page.jobs) rows.set(j.id, jobRow(j, { reload: load }));
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'stack jobs', 'data-testid': 'jobs-table' },
        h('caption', { class: 'visually-hidden' }, 'Your batch jobs, newest first'),
        h('thead', {}, h('tr', {}, ['Job', 'Target', 'Status', 'Progress', 'Rate', 'Time left', ''].map(t => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, [...rows.values()].map(r => r.element)))));
      page.jobs.forEach(follow);
    }
    if (offset > 0) pager.append(h('button', { type: 'button', class: 'secondary', 'data-testid': 'jobs-newer',
      onclick: () => { offset = Math.max(0, offset - PAGE); load(); } }, 'Newer'));
    if (offset + page.jobs.length < page.total) pager.append(h('button', { type: 'button', class: 'secondary',
      'data-testid': 'jobs-older', onclick: () => { offset += PAGE; load(); } }, 'Older'));
    pager.append(h('span', { class: 'muted small', 'data-testid': 'jobs-total' },
      ` ${page.total} job${page.total === 1 ? '' : 's'}`));
  };
  status.addEventListener('change', () => { offset = 0; load(); });

  const submitted = view => {
    replace(outcome, success('job-submitted', h('strong', {}, 'Submitted: '), h('span', { class: 'mono', 'data-job-id': view.id,
      'data-testid': 'job-submitted-id' }, view.id), ` (${targetText(view)}, ${view.status}).`));
    offset = 0;
    status.value = '';
    return load();
  };

  await Promise.all([submitForm(formBox, outcome, params.query, submitted), load()]);
  return () => controller.abort();
}

/** The submit form, once the caller's models and deployments are known. */
async function submitForm(box, outcome, query, onSubmitted) {
  let models;
  let deployments;
  try {
    [models, deployments] = await Promise.all([request('GET', '/api/v1/models').then(r => r.items),
      request('GET', '/api/v1/deployments').then(r => r.items)]);
  } catch (e) {
    replace(box, h('h2', {}, 'Score a file'), problem(e, 'job-form-error', 'Could not list your models'));
    return;
  }
  if (!models.length && !deployments.length) {
    replace(box, h('h2', {}, 'Score a file'), empty('job-form-empty', 'No model to score with yet',
      h('p', {}, 'A job runs a file through one of your models or deployments.'),
      h('a', { href: '#/upload', class: 'button', 'data-testid': 'job-form-upload' }, 'Upload a model')));
    return;
  }
  const wanted = query.get('deployment') ? `deployment:${query.get('deployment')}` : `model:${query.get('model') || ''}`;
  const target = h('select', { required: true, 'data-testid': 'job-target' },
    models.length ? h('optgroup', { label: 'Models' }, models.map(m =>
      h('option', { value: `model:${m.name}`, selected: wanted === `model:${m.name}` }, m.name))) : null,
    deployments.length ? h('optgroup', { label: 'Deployments' }, deployments.map(d =>
      h('option', { value: `deployment:${d.name}`, selected: wanted === `deployment:${d.name}` }, `${d.name} (${d.model})`))) : null);
  const version = h('input', { type: 'number', min: '1', step: '1', 'data-testid': 'job-version', placeholder: 'the serving one' });
  const syncVersion = () => { version.disabled = !target.value.startsWith('model:'); };
  target.addEventListener('change', syncVersion);
  syncVersion();
  const file = h('input', { type: 'file', accept: ACCEPT, required: true, 'data-testid': 'job-file' });
  const inputFormat = h('select', { 'data-testid': 'job-input-format' },
    [['', 'From the file name'], ['csv', 'CSV with a header'], ['jsonl', 'JSON Lines'], ['json', 'JSON array of rows']]
      .map(([value, label]) => h('option', { value }, label)));
  const outputFormat = h('select', { 'data-testid': 'job-output-format' },
    [['', 'Default'], ['csv', 'CSV'], ['jsonl', 'JSON Lines']]
      .map(([value, label]) => h('option', { value }, label)));
  const passthrough = h('input', { 'data-testid': 'job-passthrough', placeholder: 'e.g. id', autocomplete: 'off', spellcheck: 'false' });
  const features = h('input', { 'data-testid': 'job-features', placeholder: "the signature's", autocomplete: 'off', spellcheck: 'false' });
  const rowsPerCall = h('input', { type: 'number', min: '1', max: '10000', step: '1', placeholder: '1024', 'data-testid': 'job-rows-per-call' });
  const priority = h('input', { type: 'number', min: '-100', max: '100', step: '1', value: '0', 'data-testid': 'job-priority' });
  priority.defaultValue = '0';
  const bar = h('progress', { max: '100', value: '0', 'data-testid': 'job-upload-progress', 'aria-label': 'Upload progress' });
  const barText = h('span', { class: 'muted', 'data-testid': 'job-upload-text' });
  const barBox = h('div', { class: 'progress hidden' }, bar, barText);
  const submit = h('button', { type: 'submit', 'data-testid': 'job-submit' }, 'Start the job');
  const form = h('form', { 'data-testid': 'job-form' },
    h('div', { class: 'form-grid' },
      field('File', file, 'CSV with a header, JSON Lines (.jsonl, .ndjson) or a JSON array (.json).'),
      field('Model or deployment', target),
      field('Version (models only)', version, 'Empty: the version a call without one gets.'),
      field('Input format', inputFormat),
      field('Output format', outputFormat, 'Default: CSV for a CSV input, else JSON Lines.'),
      field('Pass-through columns', passthrough, 'Copied to each output row, comma-separated, e.g. an id.'),
      field('Feature columns', features, "Comma-separated; empty: the inputs the model's signature names."),
      field('Rows per model call', rowsPerCall, '1 to 10,000; empty for 1,024.'),
      field('Priority', priority, '-100 to 100; higher runs first.')),
    h('div', { class: 'actions' }, submit), barBox);
  replace(box, h('h2', {}, 'Score a file'), form, outcome);

  form.addEventListener('submit', async e => {
    e.preventDefault();
    const chosen = file.files[0];
    if (!chosen || !target.value) {
      replace(outcome, problem({ title: 'Check the form', message: 'Choose a file and a model or deployment.' }, 'job-submit-error'));
      return;
    }
    const at = target.value.indexOf(':');
    const spec = { [target.value.slice(0, at)]: target.value.slice(at + 1) };
    if (spec.model && version.value) spec.version = Number(version.value);
    if (inputFormat.value) spec.input_format = inputFormat.value;
    if (outputFormat.value) spec.output_format = outputFormat.value;
    if (list(passthrough.value).length) spec.passthrough = list(passthrough.value);
    if (list(features.value).length) spec.features = list(features.value);
    if (rowsPerCall.value) spec.rows_per_call = Number(rowsPerCall.value);
    if (priority.value && Number(priority.value) !== 0) spec.priority = Number(priority.value);
    submit.disabled = true;
    barBox.classList.remove('hidden');
    replace(outcome);
    try {
      const view = await submitJob(chosen, spec, (sent, total, done) => {
        const pct = total ? Math.round((100 * sent) / total) : 0;
        bar.value = pct;
        barText.textContent = done || pct >= 100 ? ' Sent — the server is checking the file against the model…'
          : ` ${pct}% (${size(sent)} of ${size(total)})`;
      });
      barText.textContent = ' Accepted.';
      file.value = ''; // the options stay for the next file
      await onSubmitted(view);
    } catch (err) {
      barText.textContent = ' Not accepted.';
      const refused = problem(err, 'job-submit-error', 'The job was not accepted');
      const columns = fieldErrors(err);
      if (columns) refused.append(columns);
      replace(outcome, refused);
    } finally {
      submit.disabled = false;
    }
  });
}

/** A validation problem's errors (the columns a file lacks or has too many of), one a line. */
function fieldErrors(err) {
  const errors = err?.problem?.errors;
  if (!Array.isArray(errors) || !errors.length) return null;
  return h('ul', { 'data-testid': 'job-submit-errors' }, errors.map(x =>
    h('li', {}, x.pointer ? h('span', { class: 'mono' }, x.pointer.replace(/^\/columns\//, ''), ': ') : null, x.message || '')));
}

/** One job's row: answers {element, update(view), lost(error)}; update redraws the cells in place. */
function jobRow(job, { reload }) {
  const key = job.id;
  const statusCell = h('td', { 'data-label': 'Status' });
  const bar = h('progress', { max: '100', 'data-testid': `job-progress-${key}`, 'aria-label': `Progress of ${key}` });
  const percent = h('span', { class: 'muted', 'data-testid': `job-percent-${key}` });
  const done = h('span', { class: 'small', 'data-testid': `job-rows-${key}` });
  const failed = h('span', { class: 'small', 'data-testid': `job-failed-${key}` });
  const note = h('div', { 'aria-live': 'polite' });
  const rate = h('td', { 'data-label': 'Rate', 'data-testid': `job-rate-${key}` });
  const eta = h('td', { 'data-label': 'Time left', 'data-testid': `job-eta-${key}` });
  const buttons = h('div', { class: 'row-actions' });
  const flash = h('div', { 'aria-live': 'polite' });
  const element = h('tr', { 'data-testid': `job-row-${key}`, 'data-job-id': key },
    h('th', { scope: 'row', 'data-label': 'Job' }, h('span', { class: 'mono small', title: key }, key.replace(/^job-/, '').slice(0, 8)),
      h('div', { class: 'muted small' }, when(job.created_at))),
    h('td', { 'data-label': 'Target', 'data-testid': `job-target-${key}` }, targetText(job)),
    statusCell,
    h('td', { 'data-label': 'Progress', class: 'job-progress' }, h('div', {}, bar, ' ', percent),
      h('div', {}, done, ' · ', failed), note),
    rate, eta,
    h('td', { 'data-label': 'Actions', class: 'job-actions' }, buttons, flash));
  let drawn = '';

  const update = view => {
    const pct = percentOf(view);
    const settled = TERMINAL.has(view.status);
    if (pct == null) bar.removeAttribute('value'); // indeterminate until the input has been read through
    else bar.value = pct;
    // A job that ended before its input was read through has no percent, and nothing moves any more.
    bar.classList.toggle('hidden', pct == null && settled);
    percent.textContent = pct != null ? `${pct}%` : settled ? '—' : '…';
    const r = view.rows || {};
    const counted = (r.done || 0) + (r.failed || 0);
    done.textContent = r.total != null ? `${counted.toLocaleString()} of ${r.total.toLocaleString()} rows`
      : `${counted.toLocaleString()} rows ${settled ? 'done' : 'so far'}`;
    failed.textContent = `${(r.failed || 0).toLocaleString()} failed`;
    failed.classList.toggle('bad', r.failed > 0);
    replace(statusCell, badge(view.status, BADGE[view.status] || 'none', `job-status-${key}`),
      view.finished_at ? h('div', { class: 'muted small' }, 'ended ', when(view.finished_at)) : null);
    rate.textContent = view.status === 'running' && view.rows_per_second != null
      ? `${Math.round(view.rows_per_second).toLocaleString()} rows/s` : '—';
    eta.textContent = view.status === 'running' && view.eta_seconds != null ? `about ${duration(view.eta_seconds)}` : '—';
    if (view.error) {
      const p = view.error;
      replace(note, problem({ message: p.detail || p.title || 'the job failed', code: p.code, title: p.title },
        `job-error-${key}`, 'The job failed'));
    } else {
      replace(note);
    }
    // The buttons only when what they offer changes, so that a click under way is not redrawn away.
    const offer = `${view.status}/${r.done > 0}/${r.failed > 0}`;
    if (offer !== drawn) {
      drawn = offer;
      replace(buttons, actionsFor(view, { flash, update, reload }));
    }
  };
  update(job);
  return { element, update, lost: e => replace(note, problem(e, `job-live-error-${key}`, 'Lost the live progress')) };
}

/** Download result / rows so far / errors, cancel while it runs, delete once it has ended. */
function actionsFor(view, { flash, update, reload }) {
  const key = view.id;
  const r = view.rows || {};
  const out = [];
  const ext = view.output_format === 'csv' ? 'csv' : 'jsonl';
  const saveButton = (testid, label, path, name) => {
    const b = h('button', { type: 'button', class: 'secondary small', 'data-testid': testid }, label);
    b.addEventListener('click', async () => {
      b.disabled = true;
      replace(flash);
      try {
        const { blob, filename } = await download(path, name);
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: filename, class: 'offscreen' });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000); // the download reads it after the click
      } catch (e) {
        replace(flash, problem(e, `${testid}-error`, 'The download failed'));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };
  const base = `/api/v1/jobs/${encodeURIComponent(key)}`;
  if (TERMINAL.has(view.status)) {
    out.push(saveButton(`job-download-${key}`, 'Download result', view.result_url || `${base}/result`, `${key}-result.${ext}`));
  } else if (r.done > 0) {
    out.push(saveButton(`job-download-partial-${key}`, 'Download rows so far',
      `${view.result_url || `${base}/result`}?partial=true`, `${key}-partial.${ext}`));
  }
  if (r.failed > 0) {
    out.push(saveButton(`job-download-errors-${key}`, 'Download errors', view.errors_url || `${base}/errors`, `${key}-errors.jsonl`));
  }
  if (view.status === 'queued' || view.status === 'running') {
    const cancel = h('button', { type: 'button', class: 'danger small', 'data-testid': `job-cancel-${key}` }, 'Cancel');
    cancel.addEventListener('click', async () => {
      cancel.disabled = true;
      try {
        update(await request('POST', `${base}/cancel`));
      } catch (e) {
        replace(flash, problem(e, `job-cancel-error-${key}`, 'Not cancelled'));
        cancel.disabled = false;
      }
    });
    out.push(cancel);
  }
  if (TERMINAL.has(view.status)) {
    out.push(confirmButton({ label: 'Delete', testid: `job-delete-${key}`, confirm: 'Delete now',
      warning: 'Its result and errors go too.', errorLead: 'Not deleted',
      onConfirm: async () => { await request('DELETE', base); await reload(); } }));
  }
  return out;
}
