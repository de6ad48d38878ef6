// One model: its endpoint with snippets, a test console built from the serving version's
// signature, its versions with their lifecycle actions, settings, and live serving charts.

import { request, timed } from '../api.js';
import { h, replace, loading, problem, badge, when, copyButton, field, empty } from '../dom.js';
import { sampler, series, POLL_MS } from '../metrics.js';
import { lineChart } from '../chart.js';
import { servingVersion } from './models.js';

export const id = 'model';

export function signatureTable(sig) {
  if (!sig || (!sig.inputs?.length && !sig.outputs?.length)) return h('p', { class: 'muted' }, 'No signature was read from this model.');
  const row = (dir, t) => h('tr', {}, h('td', {}, dir), h('td', { class: 'mono' }, t.name), h('td', {}, t.datatype),
    h('td', { class: 'mono' }, `[${(t.shape || []).join(', ')}]`),
    h('td', {}, t.columns?.length ? t.columns.join(', ') : h('span', { class: 'muted' }, t.kind === 'tensor' ? '—' : t.kind)));
  return h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'signature-table' },
    h('thead', {}, h('tr', {}, ['', 'Name', 'Type', 'Shape', 'Columns'].map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, (sig.inputs || []).map(t => row('input', t)), (sig.outputs || []).map(t => row('output', t)))));
}

/** A request body with zeros of the right shape for the signature; named features when known. */
export function exampleBody(sig) {
  const inputs = sig?.inputs || [];
  if (inputs.length === 1) {
    const shape = inputs[0].shape || [];
    const width = shape.length === 2 && shape[1] > 0 ? shape[1] : shape.length === 1 ? 1 : null;
    if (inputs[0].columns?.length) return { data: Object.fromEntries(inputs[0].columns.map(c => [c, 0])) };
    if (width) return { features: Array(width).fill(0) };
  }
  const zeros = shape => (shape.length === 0 ? 0 : Array(shape[0] > 0 ? shape[0] : 1).fill(null).map(() => zeros(shape.slice(1))));
  return { inputs: Object.fromEntries(inputs.map(t => [t.name, zeros(t.shape?.length ? t.shape : [1])])) };
}

/** JSON with one line per top-level key, values on one line: a row reads as a row. */
function compact(body) {
  return `{\n${Object.entries(body).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v).replace(/,/g, ', ')}`).join(',\n')}\n}`;
}

function snippets(url, body) {
  const json = JSON.stringify(body);
  return [
    ['curl', 'curl', `curl -X POST '${url}' \\\n  -H "Authorization: Bearer $SERVEML_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${json}'`],
    ['python', 'Python (requests)', `import os\nimport requests\n\nresponse = requests.post(\n    "${url}",\n    headers={"Authorization": "Bearer " + os.environ["SERVEML_API_KEY"]},\n    json=${JSON.stringify(body, null, 0).replace(/\btrue\b/g, 'True').replace(/\bfalse\b/g, 'False')},\n    timeout=30,\n)\nresponse.raise_for_status()\nprint(response.json())`],
    ['java', 'Java (java.net.http)', `import java.net.URI;\nimport java.net.http.HttpClient;\nimport java.net.http.HttpRequest;\nimport java.net.http.HttpResponse;\n\nvar client = HttpClient.newHttpClient();\nvar request = HttpRequest.newBuilder(URI.create("${url}"))\n        .header("Authorization", "Bearer " + System.getenv("SERVEML_API_KEY"))\n        .header("Content-Type", "application/json")\n        .POST(HttpRequest.BodyPublishers.ofString("""\n                ${json}"""))\n        .build();\nvar response = client.send(request, HttpResponse.BodyHandlers.ofString());\nSystem.out.println(response.statusCode() + " " + response.body());`],
  ];
}

function endpointSection(model, serving) {
  const url = `${location.origin}/api/v1/models/${encodeURIComponent(model.name)}/predict`;
  const body = exampleBody(serving?.signature);
  const tabs = snippets(url, body);
  const pre = h('pre', { class: 'code', 'data-testid': 'snippet', tabindex: '0' });
  const list = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Client snippets' });
  const select = i => {
    [...list.children].forEach((b, j) => { b.setAttribute('aria-selected', String(i === j)); b.tabIndex = i === j ? 0 : -1; });
    pre.textContent = tabs[i][2];
    pre.dataset.lang = tabs[i][0];
  };
  tabs.forEach(([key, label], i) => list.append(h('button', { type: 'button', role: 'tab', 'data-testid': `snippet-tab-${key}`,
    onclick: () => select(i),
    onkeydown: e => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        const n = (i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length;
        select(n); list.children[n].focus();
      }
    } }, label)));
  select(0);
  return h('section', { class: 'card', 'aria-labelledby': 'endpoint-h' },
    h('h2', { id: 'endpoint-h' }, 'Endpoint'),
    h('p', { class: 'endpoint' }, h('code', { 'data-testid': 'endpoint-url' }, `POST ${url}`), ' ', copyButton(url, 'copy-endpoint', 'Copy URL')),
    h('p', { class: 'muted small' }, 'Send an API key with the predict scope (create one under API keys)',
      model.public ? ', or nothing at all: this model is public.' : '.'),
    list, pre, h('div', { class: 'actions' }, copyButton(() => pre.textContent, 'copy-snippet', 'Copy snippet')));
}

function consoleSection(model, versions) {
  const live = versions.filter(v => !v.deleted_at);
  const chooser = h('select', { 'data-testid': 'console-version' },
    h('option', { value: '' }, 'Default (latest active)'),
    live.map(v => h('option', { value: String(v.version) }, `v${v.version} (${v.state}, ${v.status})`)));
  const form = h('form', { 'data-testid': 'console-form' });
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'console-result-box' });
  let read = () => ({});
  const build = () => {
    const n = Number(chooser.value);
    const v = n ? live.find(x => x.version === n) : servingVersion(versions);
    const sig = v?.signature;
    const inputs = sig?.inputs || [];
    const named = inputs.length === 1 && inputs[0].columns?.length;
    const body = named
      ? h('fieldset', { class: 'features', 'data-testid': 'console-features' }, h('legend', {}, `Features of ${inputs[0].name}`),
        inputs[0].columns.map(c => field(c, h('input', { type: 'number', step: 'any', value: '0', name: c,
          'data-testid': `console-feature-${c}`, required: true }))))
      : field('Request body (JSON)', h('textarea', { rows: '6', class: 'mono', 'data-testid': 'console-json', spellcheck: 'false' }),
        'Prefilled with one row of zeros of the width the model takes. Also accepted: {"instances": [[...], ...]}, {"inputs": {name: tensor}}.');
    if (!named) body.querySelector('textarea').value = compact(exampleBody(sig));
    read = named
      ? () => ({ data: Object.fromEntries(inputs[0].columns.map(c => [c, Number(form.querySelector(`[name="${CSS.escape(c)}"]`).value)])) })
      : () => JSON.parse(form.querySelector('textarea').value);
    replace(form, field('Version', chooser), body,
      h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'console-send' }, 'Send')));
  };
  chooser.addEventListener('change', build);
  build();
  form.addEventListener('submit', async e => {
    e.preventDefault();
    let payload;
    try {
      payload = read();
    } catch (err) {
      replace(out, problem({ message: `The body is not valid JSON: ${err.message}`, title: 'Check the request' }, 'console-error'));
      return;
    }
    replace(out, h('p', { class: 'state loading', role: 'status' }, 'Calling the model…'));
    const path = `/api/v1/models/${encodeURIComponent(model.name)}${chooser.value ? `/versions/${chooser.value}` : ''}/predict`;
    try {
      const { answer, browserMs } = await timed('POST', path, payload);
      replace(out, h('div', { class: 'state success', 'data-testid': 'console-result' },
        h('dl', { class: 'facts inline' },
          h('dt', {}, 'Served by'), h('dd', { 'data-testid': 'console-served-version' }, `v${answer.version}`),
          h('dt', {}, 'Latency'), h('dd', { 'data-testid': 'console-latency' },
            `${answer.latency_ms.toFixed(2)} ms on the server (model ${answer.inference_ms.toFixed(2)} ms), ${browserMs.toFixed(0)} ms round trip`)),
        h('pre', { class: 'code', 'data-testid': 'console-output', tabindex: '0' },
          JSON.stringify(answer.predictions ?? answer.outputs, null, 2))));
    } catch (err) {
      replace(out, problem(err, 'console-error', 'The model did not answer'));
    }
  });
  return h('section', { class: 'card', 'aria-labelledby': 'console-h' }, h('h2', { id: 'console-h' }, 'Test console'), form, out);
}

const TRANSITIONS = { active: ['deprecated', 'archived'], deprecated: ['active', 'archived'], archived: ['active', 'deprecated'] };
const VERB = { active: 'Activate', deprecated: 'Deprecate', archived: 'Archive' };

function versionsSection(model, versions, reload) {
  const status = h('div', { 'aria-live': 'polite' });
  const act = async (label, method, path, body) => {
    replace(status, h('p', { class: 'state loading', role: 'status' }, `${label}…`));
    try {
      await request(method, path, body);
      await reload(`${label}: done.`);
    } catch (e) {
      replace(status, problem(e, 'version-action-error', `${label} failed`));
    }
  };
  const base = `/api/v1/models/${encodeURIComponent(model.name)}/versions`;
  const rows = [...versions].reverse().map(v => h('tr', { 'data-testid': `version-row-${v.version}`, class: v.deleted_at ? 'deleted' : '' },
    h('th', { scope: 'row', 'data-label': 'Version' }, `v${v.version}`),
    h('td', { 'data-label': 'State' }, v.deleted_at ? badge('deleted', 'deleted', `version-state-${v.version}`)
      : badge(v.state, v.state, `version-state-${v.version}`)),
    h('td', { 'data-label': 'Status' }, badge(v.status, v.status, `version-status-${v.version}`),
      v.status_message ? h('details', {}, h('summary', {}, 'message'), h('pre', { class: 'log', 'data-testid': `version-message-${v.version}` }, v.status_message)) : null),
    h('td', { 'data-label': 'File' }, h('span', { class: 'mono small' }, v.file_name), h('div', { class: 'muted small' }, `${v.format} · ${v.runtime}`)),
    h('td', { 'data-label': 'Uploaded' }, when(v.created_at)),
    h('td', { 'data-label': 'Actions', class: 'row-actions' }, v.deleted_at
      ? h('button', { type: 'button', class: 'secondary small', 'data-testid': `version-restore-${v.version}`,
        onclick: () => act(`Restore v${v.version}`, 'POST', `${base}/${v.version}/restore`) }, 'Restore')
      : [...TRANSITIONS[v.state].map(s => h('button', { type: 'button', class: 'secondary small', 'data-testid': `version-${s}-${v.version}`,
        onclick: () => act(`${VERB[s]} v${v.version}`, 'PATCH', `${base}/${v.version}`, { state: s }) }, VERB[s])),
      h('button', { type: 'button', class: 'danger small', 'data-testid': `version-delete-${v.version}`,
        onclick: () => act(`Delete v${v.version}`, 'DELETE', `${base}/${v.version}`) }, 'Delete')]),
  ));
  return h('section', { class: 'card', 'aria-labelledby': 'versions-h' },
    h('div', { class: 'page-head' }, h('h2', { id: 'versions-h' }, 'Versions'),
      h('a', { class: 'button secondary', href: `#/upload?model=${encodeURIComponent(model.name)}`, 'data-testid': 'upload-new-version' }, 'Upload a new version')),
    h('p', { class: 'muted small' }, 'Calls without a version go to the latest active version. Deleted versions can be restored.'),
    status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'stack', 'data-testid': 'versions-table' },
      h('thead', {}, h('tr', {}, ['Version', 'State', 'Status', 'File', 'Uploaded', 'Actions'].map(t => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))));
}

function settingsSection(model) {
  const status = h('div', { 'aria-live': 'polite' });
  const toggle = h('input', { type: 'checkbox', role: 'switch', checked: model.public, 'data-testid': 'model-public' });
  const limit = h('input', { type: 'number', min: '0', step: '1', value: model.rate_limit_per_minute ?? '', 'data-testid': 'model-rate-limit', placeholder: 'server default' });
  const save = async (body, what) => {
    replace(status, h('p', { class: 'state loading', role: 'status' }, 'Saving…'));
    try {
      const m = await request('PATCH', `/api/v1/models/${encodeURIComponent(model.name)}`, body);
      toggle.checked = !!m.public;
      replace(status, h('p', { class: 'state success', role: 'status', 'data-testid': 'settings-saved' }, `${what}: saved.`));
    } catch (e) {
      toggle.checked = !!model.public;
      replace(status, problem(e, 'settings-error', `${what}: not saved`));
    }
  };
  toggle.addEventListener('change', () => save({ public: toggle.checked }, toggle.checked ? 'Public' : 'Private'));
  const limitForm = h('form', { class: 'inline-form' }, field('Rate limit per caller (requests/minute, 0 clears)', limit),
    h('button', { type: 'submit', class: 'secondary', 'data-testid': 'model-rate-limit-save' }, 'Save limit'));
  limitForm.addEventListener('submit', e => { e.preventDefault(); save({ rate_limit_per_minute: Number(limit.value || 0) }, 'Rate limit'); });
  return h('section', { class: 'card', 'aria-labelledby': 'settings-h' }, h('h2', { id: 'settings-h' }, 'Settings'),
    h('div', { class: 'switch' }, toggle, h('label', { for: toggle.id = 'public-toggle' }, 'Public: anyone may call predict without a credential (rate-limited by address)')),
    limitForm, status);
}

function chartsSection(model, ctx) {
  const box = h('div', { class: 'charts', 'data-testid': 'charts' });
  const section = h('section', { class: 'card', 'aria-labelledby': 'charts-h' }, h('h2', { id: 'charts-h' }, 'Serving, last hour'), box);
  if (!ctx.isAdmin) {
    box.append(h('div', { class: 'state empty', 'data-testid': 'charts-needs-admin' },
      h('strong', {}, 'Charts need the admin scope'),
      h('p', {}, 'They are computed from /metrics, which only admins may read. Ask an administrator, or sign in with an admin account.')));
    return { section, stop: () => {} };
  }
  box.append(loading('the first figures', 'charts-loading'));
  const stop = sampler.watch(({ scrapes, error }) => {
    if (error && !scrapes.length) { replace(box, problem(error, 'charts-error', 'Could not read /metrics')); return; }
    const points = series(scrapes, model.name);
    if (points.length === 0) { replace(box, loading('the first figures', 'charts-loading')); return; }
    replace(box,
      lineChart({ id: 'rps', title: 'Requests per second', unit: 'req/s', points,
        series: [{ key: 'rps', label: 'now', cls: 's1' }] }),
      lineChart({ id: 'latency', title: 'Model latency', unit: 'ms', points,
        series: [{ key: 'p50', label: 'p50', cls: 's1' }, { key: 'p95', label: 'p95', cls: 's2' }, { key: 'p99', label: 'p99', cls: 's3' }] }),
      lineChart({ id: 'errors', title: 'Error rate (5xx and 429, all predict routes)', unit: '%', points,
        series: [{ key: 'errorRate', label: 'now', cls: 's3' }] }),
      h('p', { class: 'muted small' }, `Sampled every ${POLL_MS / 1000} s since this page opened in this tab; `
        + 'latency is the model\'s own time (from the inference histogram), requests per second counts model calls.'),
      error ? problem(error, 'charts-error', 'The last read of /metrics failed') : null);
  });
  return { section, stop };
}

export async function render(root, params, ctx) {
  const name = params.name;
  const head = h('div', { class: 'page-head' }, h('h1', { 'data-testid': 'model-name' }, name));
  const body = h('div', { class: 'model-grid' }, loading('the model', 'model-loading'));
  root.append(h('p', { class: 'crumbs' }, h('a', { href: '#/models' }, 'Models'), ' / ', name), head, body);
  let charts = null;
  const path = `/api/v1/models/${encodeURIComponent(name)}`;

  const draw = async message => {
    let model;
    let versions;
    try {
      [model, versions] = await Promise.all([request('GET', path),
        request('GET', `${path}/versions?include_deleted=true`).then(v => v.items)]);
    } catch (e) {
      replace(body, problem(e, 'model-error', e.status === 404 ? 'No such model' : 'Could not read the model'));
      return;
    }
    const serving = servingVersion(versions);
    replace(head, h('h1', { 'data-testid': 'model-name' }, name), h('span', { class: 'badges', 'data-testid': 'model-status' },
      serving ? [badge(`v${serving.version} ${serving.state}`, serving.state), ' ', badge(serving.status, serving.status)] : badge('no versions', 'none')));
    if (!charts) charts = chartsSection(model, ctx);
    replace(body,
      message ? h('p', { class: 'state success', role: 'status', 'data-testid': 'model-flash' }, message) : null,
      serving ? endpointSection(model, serving) : empty('model-no-versions', 'No live version', h('p', {}, 'Upload or restore a version to serve this model.')),
      serving ? consoleSection(model, versions) : null,
      charts.section,
      versionsSection(model, versions, draw),
      settingsSection(model));
  };
  await draw();
  return () => charts?.stop();
}
