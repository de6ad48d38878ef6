// The test console of a text model, keyed on the version's metadata.task: a form for the task's
// inputs, the request in Hugging Face's shape for the native predict route, and the answer drawn
// for the task (bars for labels, entities highlighted in the text, the answer in its context...).
// Every text shown here came from a user or a model: it goes into the page as text nodes (h()
// makes them) and attributes, never as HTML, so a label such as <img src=x onerror=...> is text.

import { h, field } from './dom.js';

export const TEXT_TASKS = new Set(['text-classification', 'token-classification', 'feature-extraction', 'fill-mask',
  'question-answering', 'zero-shot-classification', 'text-ranking']);

const textarea = (testid, value, rows = '3') => {
  const t = h('textarea', { rows, 'data-testid': testid, spellcheck: 'false', required: true });
  t.value = value;
  return t;
};
const number = (testid, value, min = '1') => h('input', { type: 'number', min, step: '1', value, 'data-testid': testid });
const lines = text => text.split('\n').map(l => l.trim()).filter(Boolean);

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
      return {
        fields: [field('Text', text)],
        read: () => ({ inputs: text.value }),
        show: answer => {
          const shape = [];
          let v = answer;
          while (Array.isArray(v)) { shape.push(v.length); v = v[0]; }
          let vector = answer;
          while (Array.isArray(vector) && Array.isArray(vector[0])) vector = vector[0];
          const values = Array.isArray(vector) ? vector : [];
          return [h('dl', { class: 'facts' },
            h('dt', {}, 'Dimension'), h('dd', { 'data-testid': 'console-dimension' }, String(values.length)),
            h('dt', {}, 'Shape'), h('dd', { class: 'mono', 'data-testid': 'console-shape' }, `[${shape.join(', ')}]`),
            h('dt', {}, 'First values'), h('dd', { class: 'mono wrap', 'data-testid': 'console-values' },
              values.slice(0, 8).map(x => Number(x).toFixed(4)).join(', ') + (values.length > 8 ? ', …' : '')))];
        },
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
