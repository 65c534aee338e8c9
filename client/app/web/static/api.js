// api.js: calls to the app's own JSON API. The browser adds the session
// cookie and the Origin header the server checks.

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { error: text }; }
  if (!res.ok && res.status !== 202) throw new APIError(res.status, data.error || res.statusText);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body = {}) => api('POST', path, body);

// $ finds an element by id.
export const $ = (id) => document.getElementById(id);

// el builds an element with text content (never HTML: message text is data).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function showError(err) {
  const box = $('error');
  box.textContent = err ? String(err.message || err) : '';
  box.hidden = !err;
}

export function shortID(id) { return id ? id.slice(0, 8) + '…' + id.slice(-6) : ''; }
