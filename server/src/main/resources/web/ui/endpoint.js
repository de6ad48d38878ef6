// The parts of an endpoint's page that models and deployments share: the URL with client
// snippets filled in for the model's signature, and a test console built from that signature
// (or, for a text model, from its task: see textconsole.js). A generation or embedding model's
// endpoint also shows the OpenAI clients pointed at ServeML's /v1, the console of a generation
// model streams its tokens as they come.

import { timed, streamEvents, ApiError } from './api.js';
import { h, replace, problem, copyButton, field } from './dom.js';
import { TEXT_TASKS, taskForm } from './textconsole.js';

/** The form of a text model's task, or null for a model that takes tensors. */
function textForm(meta) {
  return meta && TEXT_TASKS.has(meta.task) ? taskForm(meta.task, meta) : null;
}

/**
 * A request body with zeros of the right shape for the signature; named features when known;
 * for a text model (metadata.task) the task's example in Hugging Face's shape.
 */
export function exampleBody(sig, meta) {
  const text = textForm(meta);
  if (text) return text.read();
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

/**
 * The official OpenAI clients pointed at ServeML (base URL: this origin + /v1) for a model whose
 * task /v1 serves: completions for text-generation, embeddings for feature-extraction; `model` is
 * the model's or deployment's name, as /v1/models lists it. None for other tasks.
 */
export function openAiSnippets(task, model) {
  const base = `${location.origin}/v1`;
  const name = JSON.stringify(model);
  const py = `from openai import OpenAI\n\n# a ServeML API key with the predict scope (create one under API keys)\nclient = OpenAI(base_url="${base}", api_key="YOUR_SERVEML_API_KEY")\n\n`;
  const js = `import OpenAI from 'openai';\n\n// a ServeML API key with the predict scope (create one under API keys)\nconst client = new OpenAI({ baseURL: '${base}', apiKey: 'YOUR_SERVEML_API_KEY' });\n\n`;
  if (task === 'text-generation') {
    return [
      ['openai-python', 'OpenAI Python', `${py}stream = client.chat.completions.create(\n    model=${name},\n    messages=[{"role": "user", "content": "Once upon a time"}],\n    max_completion_tokens=20,\n    stream=True,\n)\nfor chunk in stream:\n    print(chunk.choices[0].delta.content or "", end="")`],
      ['openai-js', 'OpenAI JavaScript', `${js}const stream = await client.chat.completions.create({\n  model: ${name},\n  messages: [{ role: 'user', content: 'Once upon a time' }],\n  max_completion_tokens: 20,\n  stream: true,\n});\nfor await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta?.content ?? '');`],
    ];
  }
  if (task === 'feature-extraction') {
    return [
      ['openai-python', 'OpenAI Python', `${py}result = client.embeddings.create(\n    model=${name},\n    input=["A sentence to embed.", "Another one."],\n)\nprint(len(result.data[0].embedding))`],
      ['openai-js', 'OpenAI JavaScript', `${js}const result = await client.embeddings.create({\n  model: ${name},\n  input: ['A sentence to embed.', 'Another one.'],\n});\nconsole.log(result.data[0].embedding.length);`],
    ];
  }
  return [];
}

function snippets(url, body) {
  const json = JSON.stringify(body);
  return [
    ['curl', 'curl', `curl -X POST '${url}' \\\n  -H "Authorization: Bearer $SERVEML_API_KEY" \\\n  -H 'Content-Type: application/json' \\\n  -d '${json}'`],
    ['python', 'Python (requests)', `import os\nimport requests\n\nresponse = requests.post(\n    "${url}",\n    headers={"Authorization": "Bearer " + os.environ["SERVEML_API_KEY"]},\n    json=${JSON.stringify(body, null, 0).replace(/\btrue\b/g, 'True').replace(/\bfalse\b/g, 'False')},\n    timeout=30,\n)\nresponse.raise_for_status()\nprint(response.json())`],
    ['java', 'Java (java.net.http)', `import java.net.URI;\nimport java.net.http.HttpClient;\nimport java.net.http.HttpRequest;\nimport java.net.http.HttpResponse;\n\nvar client = HttpClient.newHttpClient();\nvar request = HttpRequest.newBuilder(URI.create("${url}"))\n        .header("Authorization", "Bearer " + System.getenv("SERVEML_API_KEY"))\n        .header("Content-Type", "application/json")\n        .POST(HttpRequest.BodyPublishers.ofString("""\n                ${json}"""))\n        .build();\nvar response = client.send(request, HttpResponse.BodyHandlers.ofString());\nSystem.out.println(response.statusCode() + " " + response.body());`],
  ];
}

/**
 * The endpoint card: the URL to POST to (a path), snippets for a body fitting the signature, and
 * for a task /v1 serves the OpenAI clients calling `name` (the model or deployment).
 */
export function endpointSection(path, signature, isPublic, metadata, name) {
  const url = `${location.origin}${path}`;
  const body = exampleBody(signature, metadata);
  const tabs = [...snippets(url, body), ...(name ? openAiSnippets(metadata?.task, name) : [])];
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
      isPublic ? ', or nothing at all: this model is public.' : '.'),
    list, pre, h('div', { class: 'actions' }, copyButton(() => pre.textContent, 'copy-snippet', 'Copy snippet')));
}

/**
 * A test console: a form built from the signature of the chosen entry of `choices` ([{value,
 * label, signature, metadata}], the first the default), sent to pathOf(value); shows the answer,
 * the version that served it and the latency. `note` says how the default is routed. A text
 * model's entry (metadata.task) gets its task's form and its answer drawn (bars, entities...).
 */
export function consoleSection(choices, pathOf, note) {
  const chooser = h('select', { 'data-testid': 'console-version' },
    choices.map(c => h('option', { value: c.value }, c.label)));
  const form = h('form', { 'data-testid': 'console-form' });
  const out = h('div', { 'aria-live': 'polite', 'data-testid': 'console-result-box' });
  let read = () => ({});
  let text = null;
  const build = () => {
    const choice = choices.find(c => c.value === chooser.value) || choices[0];
    const sig = choice?.signature;
    text = textForm(choice?.metadata);
    if (text) {
      read = text.read;
      replace(form, choices.length > 1 ? field('Version', chooser) : null, note ? h('p', { class: 'muted small' }, note) : null,
        h('div', { class: 'text-form', 'data-testid': 'console-text-form', 'data-task': choice.metadata.task },
          h('p', { class: 'muted small' }, `A ${choice.metadata.task} model: the request and the answer are Hugging Face's.`), text.fields),
        h('div', { class: 'actions' }, h('button', { type: 'submit', 'data-testid': 'console-send' }, 'Send')));
      return;
    }
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
    replace(form, choices.length > 1 ? field('Version', chooser) : null, note ? h('p', { class: 'muted small' }, note) : null, body,
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
    const path = pathOf(chooser.value);
    if (text?.stream) {
      await streamInto(out, path, payload, form.querySelector('[data-testid=console-send]'));
      return;
    }
    replace(out, h('p', { class: 'state loading', role: 'status' }, 'Calling the model…'));
    try {
      const { answer, browserMs } = await timed('POST', path, payload);
      if (text) {
        replace(out, textResult(text, answer, browserMs));
        return;
      }
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

/** A text model's answer: drawn for its task, with the JSON as it came and the round trip. */
function textResult(text, answer, browserMs) {
  let drawn;
  try {
    drawn = text.show(answer);
  } catch {
    drawn = [h('p', { class: 'muted', 'data-testid': 'console-undrawn' }, 'The answer is not in the shape this task gives; here it is as it came.')];
  }
  return h('div', { class: 'state success text-result', 'data-testid': 'console-result' },
    h('dl', { class: 'facts inline' },
      h('dt', {}, 'Latency'), h('dd', { 'data-testid': 'console-latency' }, `${browserMs.toFixed(0)} ms round trip`)),
    h('div', { class: 'text-answer', 'data-testid': 'console-drawn' }, drawn),
    h('details', {}, h('summary', {}, 'The answer as JSON'),
      h('pre', { class: 'code', 'data-testid': 'console-output', tabindex: '0' }, JSON.stringify(answer, null, 2))));
}

/**
 * Streams a generation into `out`: each token's text is appended as it comes (a text node: model
 * output is never markup), with a Stop button that aborts the fetch (the server then stops
 * generating); the last event says why it ended and how many tokens it took. A refusal before
 * the first token is the problem answer; an error event after it is shown below the text.
 */
async function streamInto(out, path, payload, send) {
  const controller = new AbortController();
  const generated = h('pre', { class: 'generated', 'data-testid': 'console-generated', 'aria-busy': 'true' });
  const status = h('p', { class: 'muted small', role: 'status', 'data-testid': 'console-stream-status' }, 'Generating…');
  const stop = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'console-stop',
    onclick: () => controller.abort() }, 'Stop');
  const started = performance.now();
  let tokens = 0;
  let finished = false;
  let failed = null;
  replace(out, h('div', { class: 'state success text-result', 'data-testid': 'console-result' },
    h('div', { class: 'actions', 'data-testid': 'console-stop-bar' }, stop), generated, status));
  if (send) send.disabled = true;
  try {
    await streamEvents(path, ({ data }) => {
      if (data && typeof data === 'object' && 'error' in data) {
        failed = new ApiError(500, { detail: String(data.error), code: data.error_type });
        return;
      }
      const token = data?.token;
      if (token && !token.special && typeof token.text === 'string') {
        tokens++;
        generated.append(token.text);
      }
      if (data?.details) {
        finished = true;
        const d = data.details;
        status.dataset.finish = String(d.finish_reason ?? '');
        status.textContent = `Done: ${d.generated_tokens ?? tokens} tokens (${d.finish_reason}), `
          + `${(performance.now() - started).toFixed(0)} ms round trip.`;
      }
    }, controller.signal, { ...payload, stream: true });
    if (failed) {
      out.append(problem(failed, 'console-error', 'The generation failed part way'));
    } else if (!finished) {
      status.dataset.finish = 'stopped';
      status.textContent = controller.signal.aborted ? `Stopped after ${tokens} tokens.` : 'The stream ended without its last event.';
    }
  } catch (err) {
    replace(out, problem(err, 'console-error', 'The model did not answer'));
  } finally {
    generated.removeAttribute('aria-busy');
    stop.parentElement?.remove();
    if (send) send.disabled = false;
  }
}
