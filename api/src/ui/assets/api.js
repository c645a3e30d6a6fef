// The API client of the dashboard: the key lives in this tab's sessionStorage (never in a URL)
// and goes in `x-api-key`; job events are read with fetch + a stream reader (EventSource cannot
// send headers); covers are fetched with the key and shown through blob URLs.

const KEY_NAME = 'tokworks.apiKey';

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function setApiKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

/** Forgets the key and every cover fetched with it. */
export function signOut() {
  sessionStorage.removeItem(KEY_NAME);
  for (const pending of covers.values()) {
    pending.then((url) => url && URL.revokeObjectURL(url));
  }
  covers.clear();
}

/** A refused call: the HTTP status and the problem+json body when there is one. */
export class ApiError extends Error {
  constructor(status, problem, text) {
    const code = problem?.code ? `${problem.code}: ` : '';
    super(`${status} ${code}${problem?.detail || problem?.title || text || 'request failed'}`);
    this.status = status;
    this.problem = problem;
  }
}

function headers(extra) {
  return { 'x-api-key': apiKey() || '', ...extra };
}

/** A 401 anywhere but at sign-in means the key no longer works: back to the sign-in form. */
function signedOutBy(response, options) {
  if (response.status === 401 && !options.signIn) {
    signOut();
    window.dispatchEvent(new Event('tokworks:signed-out'));
  }
}

/** Calls the API; resolves to the JSON body, rejects with an ApiError. */
export async function api(path, options = {}) {
  const init = {
    method: options.method || 'GET',
    headers: headers({ accept: 'application/json', ...(options.headers || {}) }),
    cache: 'no-store',
    credentials: 'omit',
    signal: options.signal,
  };
  if (options.body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    signedOutBy(response, options);
    throw new ApiError(response.status, body, text.slice(0, 200));
  }
  return body;
}

const covers = new Map();

/** A blob URL of the stored cover of `videoId` (fetched once per tab), or null when none. */
export function coverUrl(videoId) {
  if (!covers.has(videoId)) {
    const pending = fetch(`/v1/videos/${encodeURIComponent(videoId)}/cover`, {
      headers: headers({ accept: 'image/*' }),
      credentials: 'omit',
    })
      .then(async (response) => (response.ok ? URL.createObjectURL(await response.blob()) : null))
      .catch(() => null);
    covers.set(videoId, pending);
  }
  return covers.get(videoId);
}

/**
 * Reads one connection of a Server-Sent Events stream, calling `onEvent({type, data, id})` per
 * event; resolves to the last event id seen when the server closes it.
 */
export async function readEvents(path, { signal, lastEventId, onEvent }) {
  const extra = { accept: 'text/event-stream' };
  if (lastEventId) extra['last-event-id'] = lastEventId;
  const response = await fetch(path, { headers: headers(extra), signal, cache: 'no-store', credentials: 'omit' });
  if (!response.ok) {
    signedOutBy(response, {});
    const text = await response.text();
    let problem = null;
    try { problem = JSON.parse(text); } catch { problem = null; }
    throw new ApiError(response.status, problem, text.slice(0, 200));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventParser(lastEventId, onEvent);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value);
  }
  return parser.lastEventId;
}

/** The text/event-stream grammar (WHATWG HTML, "Parsing an event stream"). */
export class EventParser {
  constructor(lastEventId, onEvent) {
    this.lastEventId = lastEventId || null;
    this.onEvent = onEvent;
    this.buffer = '';
    this.type = '';
    this.data = [];
  }

  push(chunk) {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      if (end < 0) return;
      // A lone CR at the end of a chunk may be the first half of CRLF: wait for more.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) return;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      this.line(line);
    }
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) {
        this.onEvent({ type: this.type || 'message', data: this.data.join('\n'), id: this.lastEventId });
      }
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
  }
}
