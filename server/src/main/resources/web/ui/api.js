// The API client: the session (access token in memory and sessionStorage, refreshed before it
// expires, never put in a URL), JSON calls that turn problem details into errors with words,
// and uploads through XMLHttpRequest so that their progress can be shown.

const STORE = 'serveml.session';
const REFRESH_MARGIN_MS = 60_000;

/** An API failure: the problem detail's words, its code and status. */
export class ApiError extends Error {
  constructor(status, problem) {
    const p = problem || {};
    super(p.detail || p.title || p.error || `the server answered ${status}`);
    this.status = status;
    this.code = p.code || '';
    this.title = p.title || '';
    this.problem = p;
  }
}

let session = load();
let refreshTimer = null;
let refreshing = null;
const listeners = new Set();

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || 'null');
  } catch {
    return null;
  }
}

function save(next) {
  session = next;
  if (next) {
    sessionStorage.setItem(STORE, JSON.stringify(next));
  } else {
    sessionStorage.removeItem(STORE);
  }
  schedule();
  listeners.forEach(fn => fn(session));
}

function fromAnswer(a) {
  return {
    accessToken: a.access_token,
    refreshToken: a.refresh_token,
    expiresAt: Date.now() + a.expires_in * 1000,
    user: a.user,
  };
}

function schedule() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5_000, session.expiresAt - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => refresh().catch(() => save(null)), wait);
}

export function currentSession() {
  return session;
}

export function onSessionChange(fn) {
  listeners.add(fn);
}

export async function login(username, password) {
  const a = await request('POST', '/api/v1/auth/login', { username, password }, { anonymous: true });
  save(fromAnswer(a));
  return session;
}

export async function register(username, password) {
  await request('POST', '/api/v1/auth/register', { username, password }, { anonymous: true });
  return login(username, password);
}

export async function logout() {
  const s = session;
  save(null);
  if (s) {
    await request('POST', '/api/v1/auth/logout', { refresh_token: s.refreshToken }, { anonymous: true })
      .catch(() => {});
  }
}

/** Rotates the refresh token; concurrent callers share one rotation (a reused token revokes the family). */
export function refresh() {
  if (!session) return Promise.reject(new ApiError(401, { detail: 'not signed in' }));
  if (!refreshing) {
    const token = session.refreshToken;
    refreshing = request('POST', '/api/v1/auth/refresh', { refresh_token: token }, { anonymous: true })
      .then(a => save({ ...fromAnswer(a), user: a.user || session?.user }))
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function readProblem(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.trim() || `the server answered ${response.status} ${response.statusText}` };
  }
}

/**
 * Sends one call with the session's token and answers the Response when it is 2xx. A 401 with a
 * session refreshes once and retries; a 401 after that ends the session. Anything else not 2xx
 * becomes an ApiError with the problem's words.
 */
async function send(method, path, { headers = {}, body, anonymous = false } = {}, retried = false) {
  const all = { ...headers };
  if (!anonymous && session) {
    if (session.expiresAt - Date.now() < 5_000) await refresh().catch(() => {});
    if (session) all.Authorization = `Bearer ${session.accessToken}`;
  }
  let response;
  try {
    response = await fetch(path, { method, headers: all, body, credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, { detail: `the server could not be reached (${e.message})` });
  }
  if (response.status === 401 && !anonymous && session && !retried) {
    try {
      await refresh();
    } catch {
      save(null);
      throw new ApiError(401, await readProblem(response));
    }
    return send(method, path, { headers, body, anonymous }, true);
  }
  if (!response.ok) throw new ApiError(response.status, await readProblem(response));
  return response;
}

/**
 * Calls the API and answers the parsed JSON (or text for non-JSON answers). A 401 with a
 * session refreshes once and retries; a 401 after that ends the session.
 */
export async function request(method, path, body, options = {}) {
  const headers = { Accept: 'application/json, text/plain', ...(options.headers || {}) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await send(method, path,
    { headers, body: body === undefined ? undefined : JSON.stringify(body), anonymous: options.anonymous });
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/**
 * Fetches a file the API serves as an attachment (with the token, which a plain link cannot
 * send) and answers {blob, filename}: the name from Content-Disposition, else `fallbackName`.
 * The whole file is held in memory as a Blob until the caller saves it.
 */
export async function download(path, fallbackName) {
  const response = await send('GET', path, { headers: { Accept: '*/*' } });
  const disposition = response.headers.get('Content-Disposition') || '';
  const quoted = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  let filename = fallbackName;
  if (quoted) {
    try { filename = decodeURIComponent(quoted[1]); } catch { filename = quoted[1]; }
  }
  return { blob: await response.blob(), filename: filename.replace(/[\\/]/g, '_') };
}

/**
 * A Hub token for one call only: sent as X-HF-Token and nowhere else (never in a URL, never
 * stored: the caller keeps it in a form field).
 */
function hubHeaders(token) {
  return token ? { 'X-HF-Token': token } : {};
}

/** What importing `repo` at `revision` would fetch (GET /api/v1/hub/preview). */
export function hubPreview(repo, revision, variant, token) {
  const q = new URLSearchParams({ repo });
  if (revision) q.set('revision', revision);
  if (variant) q.set('variant', variant);
  return request('GET', `/api/v1/hub/preview?${q}`, undefined, { headers: hubHeaders(token) });
}

/** Starts a Hub import of a new version of `model`; answers the ImportView (202). */
export function importVersion(model, body, token) {
  return request('POST', `/api/v1/models/${encodeURIComponent(model)}/versions`, body, { headers: hubHeaders(token) });
}

/** The same call with the time it took in the browser, for the test console. */
export async function timed(method, path, body) {
  const started = performance.now();
  const answer = await request(method, path, body);
  return { answer, browserMs: performance.now() - started };
}

/**
 * Uploads a model version as multipart (part `file`, optional part `requirements`) and reports
 * the bytes sent through onProgress(sent, total); resolves with the version, rejects with an
 * ApiError carrying the problem detail.
 */
export async function uploadVersion(model, file, requirements, onProgress) {
  const form = new FormData();
  form.append('file', file, file.name);
  if (requirements) form.append('requirements', requirements, requirements.name || 'requirements.txt');
  return sendForm(`/api/v1/models/${encodeURIComponent(model)}/versions`, form, file.size, onProgress);
}

/**
 * Submits a batch job as multipart: the field `spec` (the job's JSON, first so that the server
 * can refuse a bad spec before the file) and the part `file`. Reports the bytes sent as
 * uploadVersion does; resolves with the job view (202), rejects with an ApiError.
 */
export async function submitJob(file, spec, onProgress) {
  const form = new FormData();
  form.append('spec', JSON.stringify(spec));
  form.append('file', file, file.name);
  return sendForm('/api/v1/jobs', form, file.size, onProgress);
}

/**
 * POSTs a FormData through XMLHttpRequest, whose upload events give the progress that fetch
 * cannot; the token is refreshed first when it would expire during a long upload.
 */
async function sendForm(path, form, size, onProgress) {
  if (session && session.expiresAt - Date.now() < 5 * 60_000) await refresh().catch(() => {});
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('Accept', 'application/json');
    if (session) xhr.setRequestHeader('Authorization', `Bearer ${session.accessToken}`);
    xhr.upload.addEventListener('progress', e => onProgress(e.loaded, e.lengthComputable ? e.total : size));
    xhr.upload.addEventListener('load', () => onProgress(size, size, true));
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { detail: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, { detail: 'the upload was interrupted (network error)' })));
    xhr.addEventListener('abort', () => reject(new ApiError(0, { detail: 'the upload was cancelled' })));
    xhr.send(form);
  });
}

schedule();

/**
 * Reads a Server-Sent Events stream with fetch, so that the token goes in the Authorization
 * header (EventSource cannot send one, and a token must never be in a URL). Calls onEvent({id,
 * event, data}) per event, data parsed as JSON when it is; resolves when the server ends the
 * stream, rejects with an ApiError when it refuses it (a problem answer instead of a stream).
 * Abort with the AbortSignal: the connection closes, and a generation stops. With `body`, the
 * stream is the answer to POSTing it as JSON (a streamed prediction).
 */
export async function streamEvents(path, onEvent, signal, body) {
  if (session && session.expiresAt - Date.now() < 5_000) await refresh().catch(() => {});
  const headers = { Accept: 'text/event-stream, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session) headers.Authorization = `Bearer ${session.accessToken}`;
  let response;
  try {
    response = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, signal, credentials: 'omit',
      cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    if (signal?.aborted) return;
    throw new ApiError(0, { detail: `the server could not be reached (${e.message})` });
  }
  if (!response.ok) throw new ApiError(response.status, await readProblem(response));
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = { id: '', event: 'message', data: [] };
  const dispatch = () => {
    if (event.data.length) {
      const text = event.data.join('\n');
      let data = text;
      try { data = JSON.parse(text); } catch { /* plain text data */ }
      onEvent({ id: event.id, event: event.event, data });
    }
    event = { id: event.id, event: 'message', data: [] };
  };
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (signal?.aborted) return;
      throw new ApiError(0, { detail: `the event stream broke off (${e.message})` });
    }
    if (chunk.done) break;
    buffer += chunk.value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === '') { dispatch(); continue; }
      if (line.startsWith(':')) continue; // a comment: the server is still waiting
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.data.push(value);
      else if (field === 'event') event.event = value;
      else if (field === 'id') event.id = value;
    }
  }
  dispatch();
}
