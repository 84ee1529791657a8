/**
 * What the staff page and the mechanic's tablet share: building elements, calling the JSON
 * API, the live push from /staff, and formatting. Plain ES module, no framework.
 */

/** Create an element. `props`: `class`, `text`, `on<event>` handlers; false/null skip; the rest are attributes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replace an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** An error from the API, with the field it names (or null). */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** POST JSON to the API; resolves with the body, rejects with an ApiError. */
export async function post(path, body = {}) {
  let res;
  try {
    res = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'OFFLINE', 'the back office cannot be reached', null);
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const error = data.error ?? {};
    throw new ApiError(res.status, error.code ?? 'ERROR', error.message ?? `request failed (${res.status})`, error.field ?? null);
  }
  return data;
}

/**
 * The live state: pushed over ws /staff on every change, reconnecting with backoff. `onState`
 * gets each state, `onLink` true/false as the push connects and drops. `protocols()`: the
 * WebSocket subprotocols to offer at each (re)connection (the tablet's credential).
 */
export function live(view, onState, onLink, protocols = () => undefined) {
  let delay = 500;
  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/staff?view=${view}`, protocols());
    socket.addEventListener('open', () => {
      delay = 500;
      onLink(true);
    });
    socket.addEventListener('message', (event) => {
      try {
        const message = JSON.parse(event.data);
        if (message.type === view) onState(message.state);
      } catch {
        // ignore what cannot be read
      }
    });
    socket.addEventListener('close', () => {
      onLink(false);
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 10_000);
    });
  };
  open();
}

/** HH:MM of an ISO time in the back office's time zone. */
export function clock(iso, timeZone, seconds = false) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) }).format(date);
}

/** "2 min ago" between two ISO times. */
export function ago(iso, nowIso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.parse(nowIso) - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Minor units as money, e.g. 189000 NOK -> "NOK 1,890.00". */
export function money(minor, currency) {
  if (typeof minor !== 'number') return '';
  try {
    return new Intl.NumberFormat('en-GB', { style: 'currency', currency: currency || 'NOK' }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency ?? ''}`;
  }
}

/** A short-lived message at the bottom of the page. */
export function toast(text, kind = 'ok') {
  const box = document.getElementById('toast');
  if (!box) return;
  box.className = `toast ${kind}`;
  box.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    box.className = 'toast';
    box.textContent = '';
  }, 5000);
}
