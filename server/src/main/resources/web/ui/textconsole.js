// The test console of a text model, keyed on the version's metadata.task: a form for the task's
// inputs, the request in Hugging Face's shape for the native predict route, and the answer drawn
// for the task (bars for labels, entities highlighted in the text, the answer in its context...).
// A text-generation model's form streams: its `stream` says so, and the console draws the tokens
// as they come (see endpoint.js).
// Every text shown here came from a user or a model: it goes into the page as text nodes (h()
// makes them) and attributes, never as HTML, so a label such as <img src=x onerror=...> is text.

import { h, field } from './dom.js';

export const TEXT_TASKS = new Set(['text-classification', 'token-classification', 'feature-extraction', 'fill-mask',
  'question-answering', 'zero-shot-classification', 'text-ranking', 'text-generation']);

const textarea = (testid, value, rows = '3') => {
  const t = h('textarea', { rows, 'data-testid': testid, spellcheck: 'false', required: true });
  t.value = value;
  return t;
};
const number = (testid, value, min = '1') => h('input', { type: 'number', min, step: '1', value, 'data-testid': testid });
const lines = text => text.split('\n').map(l => l.trim()).filter(Boolean);
/** An optional number field: empty means the model's default (the parameter is left out). */
const optional = (testid, placeholder, step = 'any', min = '0') => h('input', { type: 'number', min, step, placeholder,
  'data-testid': testid });
const valueOf = input => (input.value.trim() === '' ? undefined : Number(input.value));

/** The cosine similarity of two vectors of one length; NaN when either is zero or they differ in length. */
export function cosine(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length || !a.length) return NaN;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : NaN;
}

/** A score from 0 to 1 as a bar with its label and percent; one per label or candidate. */
function bar(label, score, testid = 'console-bar') {
  const s = Number(score) || 0;
  return h('li', { class: 'score-bar', 'data-testid': testid, 'data-label': String(label), 'data-score': String(s) },
    h('span', { class: 'score-label', 'data-testid': `${testid}-label` }, String(label)),
    h('meter', { min: '0', max: '1', value: String(s), 'aria-label': `score of ${label}` }),
    h('span', { class: 'score-value mono', 'data-testid': `${testid}-score` }, `${(100 * s).toFixed(1)}%`));
}

function bars(pairs, testid = 'console-bars') {
  return h('ol', { class: 'score-bars', 'data-testid': testid },
    [...pairs].sort((a, b) => b[1] - a[1]).map(([label, score]) => bar(label, score)));
}

/**
 * `text` with the [start, end) character ranges of `spans` ({start, end, label, title}) marked,
 * built from text nodes and <mark> elements; overlapping or out-of-range spans are left out.
 * Offsets count Unicode code points, as Hugging Face's (Python's) do: an emoji is one character
 * there and two UTF-16 units in a JavaScript string, so the text is cut by code points.
 */
export function highlighted(text, spans, testid = 'console-entity') {
  const chars = Array.from(text);
  const cut = (from, to) => chars.slice(from, to).join('');
  const parts = [];
  let at = 0;
  const ordered = spans.filter(s => Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0
    && s.end <= chars.length && s.start < s.end).sort((a, b) => a.start - b.start);
  for (const s of ordered) {
    if (s.start < at) continue;
    if (s.start > at) parts.push(cut(at, s.start));
    parts.push(h('mark', { class: 'entity', 'data-testid': testid, 'data-label': s.label ?? '', title: s.title ?? null },
      cut(s.start, s.end), s.label != null ? h('span', { class: 'entity-label' }, String(s.label)) : null));
    at = s.end;
  }
  if (at < chars.length) parts.push(cut(at));
  return parts;
}

/** Hugging Face's answers are lists; a list of texts gives a list per text: the first text's. */
const first = answer => (Array.isArray(answer) && Array.isArray(answer[0]) && !Number.isFinite(answer[0][0]) ? answer[0] : answer);
const asList = answer => (Array.isArray(answer) ? answer : answer == null ? [] : [answer]);

/**
 * The form of one task: answers {fields: elements, read(): request body, show(answer): elements}.
 * `meta` is the version's metadata (labels, mask token where the runtime reports one).
 */
export function taskForm(task, meta = {}) {
  const labels = Array.isArray(meta.labels) ? meta.labels : [];
  switch (task) {
    case 'text-classification': {
      const text = textarea('console-text', 'I loved this movie!');
      const topK = number('console-top-k', String(Math.max(1, labels.length || 1)));
      return {
        fields: [field('Text', text), field('Labels to show (top_k)', topK, labels.length ? `The model has ${labels.length}: ${labels.join(', ')}.` : null)],
        read: () => ({ inputs: text.value, parameters: { top_k: Number(topK.value) || 1 } }),
        show: answer => [bars(asList(first(answer)).map(r => [r.label, r.score]))],
      };
    }
    case 'token-classification': {
      const text = textarea('console-text', 'My name is Wolfgang and I live in Berlin.');
      const aggregation = h('select', { 'data-testid': 'console-aggregation' },
        ['simple', 'first', 'max', 'none'].map(a => h('option', { value: a }, a)));
      return {
        fields: [field('Text', text), field('Aggregation', aggregation, 'simple, first and max join a word\'s pieces into one entity; none shows each token.')],
        read: () => ({ inputs: text.value, parameters: { aggregation_strategy: aggregation.value } }),
        show: answer => {
          const sent = text.value;
          const entities = asList(first(answer));
          const spans = entities.map(e => ({ start: e.start, end: e.end, label: e.entity_group ?? e.entity,
            title: `${e.entity_group ?? e.entity} ${(100 * (e.score ?? 0)).toFixed(1)}%` }));
          return [h('p', { class: 'entities', 'data-testid': 'console-entities' }, highlighted(sent, spans)),
            entities.length ? h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'console-entity-table' },
              h('thead', {}, h('tr', {}, ['Entity', 'Word', 'Score', 'Characters'].map(t => h('th', { scope: 'col' }, t)))),
              h('tbody', {}, entities.map(e => h('tr', {}, h('td', {}, String(e.entity_group ?? e.entity ?? '')),
                h('td', { class: 'mono' }, String(e.word ?? '')), h('td', {}, (e.score ?? 0).toFixed(4)),
                h('td', { class: 'muted small' }, `${e.start}-${e.end}`))))))
              : h('p', { class: 'muted', 'data-testid': 'console-no-entities' }, 'No entities found.')];
        },
      };
    }
    case 'question-answering': {
      const question = h('input', { value: 'Where does Wolfgang live?', 'data-testid': 'console-question', required: true });
      const context = textarea('console-context', 'My name is Wolfgang and I live in Berlin.', '4');
      return {
        fields: [field('Question', question), field('Context', context)],
        read: () => ({ inputs: { question: question.value, context: context.value } }),
        show: answer => {
          const best = asList(first(answer))[0] || {};
          return [h('p', {}, h('strong', {}, 'Answer: '), h('span', { 'data-testid': 'console-answer' }, String(best.answer ?? '')),
            h('span', { class: 'muted small', 'data-testid': 'console-answer-score' }, ` (score ${(best.score ?? 0).toFixed(4)})`)),
          h('p', { class: 'entities', 'data-testid': 'console-answer-context' },
            highlighted(context.value, [{ start: best.start, end: best.end, label: null }], 'console-answer-span'))];
        },
      };
    }
    case 'feature-extraction': {
      const text = textarea('console-text', 'A sentence to embed.');
      const other = textarea('console-text-2', 'A phrase to compare it with.', '2');
      other.required = false;
      return {
        fields: [field('Text', text), field('Compare with (optional)', other,
          'A second text: both are embedded in one call and the cosine similarity of their vectors is shown.')],
        read: () => ({ inputs: other.value.trim() ? [text.value, other.value] : text.value }),
        show: answer => {
          const shape = [];
          let v = answer;
          while (Array.isArray(v)) { shape.push(v.length); v = v[0]; }
          // one text: the vector itself (or a list of token vectors); two: one such per text
          const pair = Array.isArray(answer) && answer.length === 2 && Array.isArray(answer[0]) && other.value.trim();
          const vectorOf = a => { let x = a; while (Array.isArray(x) && Array.isArray(x[0])) x = x[0]; return Array.isArray(x) ? x : []; };
          const values = vectorOf(pair ? answer[0] : answer);
          const similarity = pair ? cosine(vectorOf(answer[0]), vectorOf(answer[1])) : null;
          return [h('dl', { class: 'facts' },
            h('dt', {}, 'Dimension'), h('dd', { 'data-testid': 'console-dimension' }, String(values.length)),
            h('dt', {}, 'Shape'), h('dd', { class: 'mono', 'data-testid': 'console-shape' }, `[${shape.join(', ')}]`),
            similarity != null ? [h('dt', {}, 'Cosine similarity'), h('dd', { 'data-testid': 'console-cosine',
              'data-value': String(similarity) }, Number.isFinite(similarity) ? similarity.toFixed(4) : 'undefined (a zero vector)')] : null,
            h('dt', {}, 'First values'), h('dd', { class: 'mono wrap', 'data-testid': 'console-values' },
              values.slice(0, 8).map(x => Number(x).toFixed(4)).join(', ') + (values.length > 8 ? ', …' : '')))];
        },
      };
    }
    case 'text-generation': {
      const text = textarea('console-text', 'Once upon a time', '4');
      const maxNew = number('console-max-new-tokens', String(meta.max_new_tokens ?? 20));
      const sample = h('input', { type: 'checkbox', id: 'console-do-sample', 'data-testid': 'console-do-sample' });
      const temperature = optional('console-temperature', '1.0', '0.05');
      const topP = optional('console-top-p', '1.0', '0.05');
      const topK = optional('console-top-k', '0 (off)', '1');
      const seed = optional('console-seed', 'random', '1');
      const stop = h('input', { 'data-testid': 'console-stop-strings', placeholder: 'none' });
      const full = h('input', { type: 'checkbox', id: 'console-full-text', 'data-testid': 'console-full-text' });
      const parameters = () => {
        const p = { max_new_tokens: Number(maxNew.value) || 20 };
        if (sample.checked) {
          p.do_sample = true;
          for (const [name, input] of [['temperature', temperature], ['top_p', topP], ['top_k', topK], ['seed', seed]]) {
            if (valueOf(input) !== undefined) p[name] = valueOf(input);
          }
        }
        const stops = stop.value.split(',').map(x => x.trim()).filter(Boolean);
        if (stops.length) p.stop = stops;
        if (!full.checked) p.return_full_text = false;
        return p;
      };
      return {
        stream: true,
        fields: [field('Prompt', text),
          h('div', { class: 'param-grid' },
            field('Most new tokens (max_new_tokens)', maxNew),
            field('Stop strings (stop)', stop, 'Separated by commas; the text ends with the first one met.'),
            h('div', { class: 'switch' }, sample, h('label', { for: 'console-do-sample' }, 'Sample (do_sample); greedy when off')),
            field('Temperature', temperature), field('top_p', topP), field('top_k', topK),
            field('Seed', seed, 'The same seed samples the same text.'),
            h('div', { class: 'switch' }, full, h('label', { for: 'console-full-text' }, 'Answer the prompt too (return_full_text)')))],
        read: () => ({ inputs: text.value, parameters: parameters() }),
        // The answer all at once (no stream): Hugging Face's [{generated_text}]
        show: answer => [h('pre', { class: 'generated', 'data-testid': 'console-generated' },
          String(asList(first(answer))[0]?.generated_text ?? ''))],
      };
    }
    case 'fill-mask': {
      const mask = typeof meta.mask_token === 'string' && meta.mask_token ? meta.mask_token : '[MASK]';
      const text = textarea('console-text', `The capital of France is ${mask}.`);
      const topK = number('console-top-k', '5');
      return {
        fields: [field('Text', text, `Put ${mask} where a word is missing.`), field('Candidates (top_k)', topK)],
        read: () => ({ inputs: text.value, parameters: { top_k: Number(topK.value) || 5 } }),
        show: answer => [h('ol', { class: 'score-bars', 'data-testid': 'console-candidates' },
          asList(first(answer)).map(c => h('li', { class: 'candidate', 'data-testid': 'console-candidate' },
            bar(c.token_str ?? c.token, c.score, 'console-candidate-bar'),
            c.sequence != null ? h('span', { class: 'muted small' }, String(c.sequence)) : null)))],
      };
    }
    case 'zero-shot-classification': {
      const text = textarea('console-text', 'The team won the final in extra time.');
      const candidates = h('input', { value: 'sports, politics, cooking', 'data-testid': 'console-candidate-labels', required: true });
      const multi = h('input', { type: 'checkbox', id: 'console-multi-label', 'data-testid': 'console-multi-label' });
      return {
        fields: [field('Text', text), field('Candidate labels', candidates, 'Separated by commas.'),
          h('div', { class: 'switch' }, multi, h('label', { for: 'console-multi-label' }, 'Several labels may be true (multi_label)'))],
        read: () => ({ inputs: text.value, parameters: { candidate_labels: candidates.value.split(',').map(s => s.trim()).filter(Boolean),
          multi_label: multi.checked } }),
        show: answer => {
          const a = asList(answer)[0] || {};
          return [bars((a.labels || []).map((l, i) => [l, a.scores?.[i]]))];
        },
      };
    }
    case 'text-ranking': {
      const query = h('input', { value: 'What is the capital of France?', 'data-testid': 'console-query', required: true });
      const passages = textarea('console-passages', 'Paris is the capital of France.\nBerlin is the capital of Germany.\nCats sleep a lot.', '4');
      return {
        fields: [field('Query', query), field('Passages', passages, 'One a line.')],
        read: () => ({ inputs: { query: query.value, texts: lines(passages.value) } }),
        show: answer => {
          const texts = lines(passages.value);
          // [{index, score}] (best first, as rerankers answer), or one score per passage in order.
          const ranked = asList(first(answer)).map((r, i) => (typeof r === 'number' ? { index: i, score: r }
            : { index: r.index ?? r.corpus_id ?? i, score: r.score, text: r.text })).sort((a, b) => b.score - a.score);
          return [h('ol', { class: 'ranking', 'data-testid': 'console-ranking' }, ranked.map(r =>
            h('li', { 'data-testid': 'console-ranked', 'data-index': String(r.index) },
              h('span', { class: 'mono' }, Number(r.score).toFixed(4)), ' ',
              String(r.text ?? texts[r.index] ?? `passage ${r.index}`))))];
        },
      };
    }
    default:
      return null;
  }
}
