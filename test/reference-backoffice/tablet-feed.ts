/**
 * The tablet's live work-order feed (ws /staff?view=tablet) is a tablet's, like every tablet
 * request (tablets.ts): a browser cannot set an Authorization header on a WebSocket, so the
 * tablet offers two subprotocols, `keylocker.tablet` and its credential; the back office
 * answers with `keylocker.tablet` only (the credential is never echoed). No valid credential:
 * 401 before the upgrade. Each push checks it again, so a revoked tablet's feed is closed.
 */
import type { IncomingMessage } from 'node:http';
import type { TabletRegistry } from './tablets.js';

export const TABLET_PROTOCOL = 'keylocker.tablet';
/** The close code a feed gets when its tablet is no longer enrolled. */
export const FEED_REVOKED = 4401;

/** The credential offered in Sec-WebSocket-Protocol, as an Authorization value (or undefined). */
export function feedAuthorization(request: IncomingMessage): string | undefined {
  const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const credential = offered.find((p) => p.startsWith('kt1.'));
  return offered.includes(TABLET_PROTOCOL) && credential ? `Bearer ${credential}` : undefined;
}

/** True when the tablet behind `authorization` is enrolled and not revoked. */
export async function feedAllowed(tablets: TabletRegistry, authorization: string | undefined): Promise<boolean> {
  try {
    await tablets.authenticate(authorization);
    return true;
  } catch {
    return false;
  }
}
