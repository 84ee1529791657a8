/**
 * The screens' live link: a WebSocket to /ws?screen=<name> that reconnects after a drop (the
 * service restarts) with a small bounded backoff. Messages are parsed JSON; anything else is
 * ignored. The caller keeps showing its last view while the link is down.
 */

const BACKOFF_MS = [500, 1000, 2000, 4000];
const MAX_BACKOFF_MS = 5000;

/** Delay before reconnect attempt `n` (0-based): 0.5, 1, 2, 4, then 5 s, plus a little jitter. */
export function backoffDelay(attempt, random = Math.random) {
  const base = BACKOFF_MS[attempt] ?? MAX_BACKOFF_MS;
  return Math.min(MAX_BACKOFF_MS, base) + Math.floor(random() * 250);
}

/**
 * Connect and stay connected. `onMessage(data)` for each JSON message, `onStatus(up)` when the
 * link goes up (true) or down (false). Returns `{ close() }`.
 */
export function connectSocket(screen, { onMessage, onStatus = () => {} }) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/ws?screen=${encodeURIComponent(screen)}`;
  let socket = null;
  let attempt = 0;
  let timer = null;
  let closed = false;

  const open = () => {
    timer = null;
    try {
      socket = new WebSocket(url);
    } catch {
      retry();
      return;
    }
    socket.addEventListener('open', () => {
      attempt = 0;
      onStatus(true);
    });
    socket.addEventListener('message', (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data && typeof data === 'object') onMessage(data);
    });
    socket.addEventListener('close', () => {
      onStatus(false);
      retry();
    });
  };

  const retry = () => {
    if (closed || timer !== null) return;
    timer = setTimeout(open, backoffDelay(attempt));
    attempt += 1;
  };

  open();
  return {
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      socket?.close();
    },
  };
}

/** GET a JSON document; resolves to null on any failure (offline, 404, not JSON). */
export async function getJson(path) {
  try {
    const res = await fetch(path, { cache: 'no-store' });
    if (!res.ok) return null;
    return await res.json();
  } catch {
    return null;
  }
}
