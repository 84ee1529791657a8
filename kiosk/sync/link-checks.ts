/**
 * What the link checks before and around a connection: that the configured URL may be used
 * (wss://, or ws:// to loopback only), and what a refused upgrade says (its status, the back
 * office's error code and time: docs/protocol.md, "Clock").
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';

export class LinkConfigError extends Error {
  override readonly name = 'LinkConfigError';
}

/**
 * Refuses anything but wss://, except ws:// to a loopback address (the reference back office
 * on the same machine, tests). A wrong URL is a configuration error to fix, never a reason to
 * talk in clear over a network.
 */
export function checkBackOfficeUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LinkConfigError(`backOffice.url is not a URL`);
  }
  if (parsed.protocol === 'wss:') return parsed;
  if (parsed.protocol !== 'ws:') throw new LinkConfigError(`backOffice.url must be wss:// (got ${parsed.protocol}//)`);
  if (!isLoopbackHost(parsed.hostname)) {
    throw new LinkConfigError(
      `backOffice.url uses plain ws:// to ${parsed.hostname}: that is allowed only to a loopback address (127.0.0.0/8, ::1, localhost); use wss://`,
    );
  }
  return parsed;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

export interface UpgradeRefusal {
  status: number;
  /** The back office's `error.code` (e.g. CLOCK_SKEW), when its body says. */
  code: string | null;
  /** The back office's time at the refusal, when it says. */
  serverTime: Date | null;
}

/** What a refusal of the upgrade says: its status, the body's error code and the server's time. */
export function readRefusal(response: IncomingMessage, body: string): UpgradeRefusal {
  let code: string | null = null;
  let serverTime: Date | null = null;
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; serverTime?: unknown } }).error;
    if (typeof error?.code === 'string' && error.code.length <= 64) code = error.code;
    if (typeof error?.serverTime === 'string') serverTime = validDate(Date.parse(error.serverTime));
  } catch {
    // Not JSON: the Date header may still tell the time.
  }
  const header = response.headers.date;
  if (serverTime === null && typeof header === 'string') serverTime = validDate(Date.parse(header));
  return { status: response.statusCode ?? 0, code, serverTime };
}

function validDate(ms: number): Date | null {
  return Number.isFinite(ms) ? new Date(ms) : null;
}
