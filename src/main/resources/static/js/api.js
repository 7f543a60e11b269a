// The public API as the dashboard uses it. Every call sends the key from the header field as a bearer token when one
// is set, multipart uploads, images and downloads included (an <img src> could not carry the header, so those go
// through blobs).

const KEY = 'sightline.apiKey';

export function apiKey() {
  return localStorage.getItem(KEY) ?? '';
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY, key);
  else localStorage.removeItem(KEY);
}

function headers(extra) {
  const out = new Headers(extra);
  const key = apiKey();
  if (key) out.set('Authorization', `Bearer ${key}`);
  return out;
}

/** A non-2xx answer; message is the RFC 9457 problem's detail (which already names each offending field). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function send(method, path, body) {
  const init = {method, headers: headers({Accept: 'application/json'})};
  // FormData: the browser writes the multipart Content-Type with its boundary; only the key is added
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  return res;
}

export const get = async path => (await send('GET', path)).json();
export const post = async (path, body) => (await send('POST', path, body)).json();

/** Path with its query string; null and empty values are left out. */
export function withQuery(path, query) {
  const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== ''));
  return q.size ? `${path}?${q}` : path;
}

// images are addressed by their content's sha256, so a fetched one never goes stale
const images = new Map();

/** An object URL for an image path such as /v1/images/{sha256}. */
export function imageUrl(path) {
  if (!images.has(path)) {
    images.set(path, send('GET', path).then(r => r.blob()).then(b => URL.createObjectURL(b)));
  }
  return images.get(path);
}

/** Saves a response (the items CSV) as a file. */
export async function download(path, filename) {
  const blob = await (await send('GET', path)).blob();
  const a = Object.assign(document.createElement('a'), {href: URL.createObjectURL(blob), download: filename});
  a.click();
  URL.revokeObjectURL(a.href);
}
