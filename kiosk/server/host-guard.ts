/**
 * Who may talk to a server of this project (the screens' server, the reference back office):
 *
 * - Host: every request and every WebSocket upgrade must name this server by one of its own
 *   names and its port. A DNS-rebinding page (evil.example resolving to 127.0.0.1) sends
 *   `Host: evil.example` and is refused with 421 Misdirected Request before any route runs.
 * - Origin: a state-changing request (anything but GET/HEAD/OPTIONS) and every upgrade that
 *   carries an Origin must come from this very origin (`http://<the Host it named>`);
 *   anything else, `null` included, is 403.
 * - Secret (the screens' server beyond loopback): every request but `GET /health` presents
 *   the screens' secret, once as `?screenKey=` (which sets a cookie and redirects away from
 *   the key), then as the cookie. Compared in constant time; never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { RequestHandler } from 'express';

export interface HostGuardOptions {
  /** Host names and addresses (no port) requests may name; compared case-insensitively. */
  names: readonly string[];
  /** When set, every request but GET /health must present it. */
  secret?: string | null;
}

export type GuardVerdict = { ok: true; setCookie?: string; redirectTo?: string } | { ok: false; status: 401 | 403 | 421; code: string; message: string };

export const SCREEN_COOKIE = 'keylocker_screen';
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The names a server bound to `bindHost` answers to: loopback, the bound address, every
 * address of this machine when bound to all of them, and `extra` (a DNS name of the Pi).
 */
export function ownHostNames(bindHost: string, extra: readonly string[] = []): string[] {
  const names = new Set([...LOOPBACK_NAMES, ...extra.map((name) => name.toLowerCase())]);
  if (bindHost === '0.0.0.0' || bindHost === '::') {
    for (const list of Object.values(networkInterfaces())) for (const address of list ?? []) names.add(address.address.toLowerCase());
  } else {
    names.add(bindHost.toLowerCase());
  }
  return [...names];
}

/** `host[:port]` from a Host header (IPv6 in brackets), lower case; null when unreadable. */
export function parseHostHeader(value: string | undefined): { name: string; port: number | null } | null {
  if (!value) return null;
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return null;
  const name = (match[1] ?? match[2] ?? '').toLowerCase();
  return { name, port: match[3] === undefined ? null : Number(match[3]) };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function sameSecret(given: string | null | undefined, secret: string): boolean {
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(secret));
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** The decision for one request or upgrade (pure apart from reading the request). */
export function checkRequest(req: IncomingMessage, options: HostGuardOptions, kind: 'http' | 'upgrade'): GuardVerdict {
  const host = parseHostHeader(req.headers.host);
  const localPort = req.socket.localPort ?? null;
  const portOk = host !== null && (host.port === null ? localPort === 80 : host.port === localPort);
  if (!host || !portOk || !options.names.includes(host.name)) {
    return { ok: false, status: 421, code: 'MISDIRECTED', message: 'this server does not answer to that host name' };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && (kind === 'upgrade' || !SAFE_METHODS.has(req.method ?? 'GET'))) {
    const own = [`http://${req.headers.host ?? ''}`, `https://${req.headers.host ?? ''}`].map((o) => o.toLowerCase());
    if (!own.includes(origin.toLowerCase())) return { ok: false, status: 403, code: 'FORBIDDEN', message: 'cross-origin requests are refused' };
  }
  const secret = options.secret ?? null;
  if (secret === null) return { ok: true };
  const url = new URL(req.url ?? '/', 'http://x');
  if (kind === 'http' && req.method === 'GET' && url.pathname === '/health') return { ok: true };
  if (sameSecret(cookieValue(req.headers.cookie, SCREEN_COOKIE), secret)) return { ok: true };
  const offered = url.searchParams.get('screenKey');
  if (sameSecret(offered, secret)) {
    if (kind === 'upgrade') return { ok: true };
    url.searchParams.delete('screenKey');
    const cookie = `${SCREEN_COOKIE}=${encodeURIComponent(secret)}; Path=/; HttpOnly; SameSite=Strict`;
    return req.method === 'GET' ? { ok: true, setCookie: cookie, redirectTo: `${url.pathname}${url.search}` } : { ok: true, setCookie: cookie };
  }
  return { ok: false, status: 401, code: 'SCREEN_KEY_REQUIRED', message: 'this screen has not presented the screens\u2019 key' };
}

/** Express middleware: the checks above for every request. */
export function hostGuard(options: HostGuardOptions): RequestHandler {
  return (req, res, next) => {
    const verdict = checkRequest(req, options, 'http');
    if (!verdict.ok) {
      res.status(verdict.status).json({ error: { code: verdict.code, message: verdict.message } });
      return;
    }
    if (verdict.setCookie) res.append('Set-Cookie', verdict.setCookie);
    if (verdict.redirectTo) {
      res.redirect(303, verdict.redirectTo);
      return;
    }
    next();
  };
}

/** Refuses an upgrade on the raw socket, the way the HTTP side would have. */
export function refuseUpgrade(socket: { end(data: string): void; destroyed?: boolean }, verdict: Extract<GuardVerdict, { ok: false }>): void {
  if (socket.destroyed) return;
  const reason = { 401: 'Unauthorized', 403: 'Forbidden', 421: 'Misdirected Request' }[verdict.status];
  const body = JSON.stringify({ error: { code: verdict.code, message: verdict.message } });
  socket.end(`HTTP/1.1 ${verdict.status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

