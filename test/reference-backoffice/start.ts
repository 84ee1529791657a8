/**
 * Starts the reference back office: its SQLite file, the staff/tablet web app, the locker
 * endpoint (`/locker`) and the staff push (`/staff`), all on one HTTP server bound to loopback
 * by default.
 *
 * A program of its own: the locker never imports it. Tests and the demo launcher
 * (`test/demo/run.ts`, `npm start`) start it with `startReferenceBackOffice({...})`, then
 * `registerUnit(id, jwk)`; `main.ts` beside this file runs it standalone.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JWK } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Country } from '../../kiosk/config/schema.js';
import type { ScryptCost } from '../../kiosk/core/pin.js';
import { moduleLogger, type Logger } from '../../kiosk/logging.js';
import { createValidator } from '../../kiosk/sync/validate.js';
import { checkRequest, ownHostNames, refuseUpgrade } from '../../kiosk/server/host-guard.js';
import { createBackOfficeApp } from './http.js';
import { LockerProtocolServer } from './protocol-server.js';
import { BackOfficeService } from './service.js';
import { openBackOfficeDatabase } from './store.js';
import { FEED_REVOKED, TABLET_PROTOCOL, feedAllowed, feedAuthorization } from './tablet-feed.js';

/** The staff and tablet pages: ui/ at the top of the repository. */
const HERE = dirname(fileURLToPath(import.meta.url));
const UI_DIR = resolve(HERE, '..', '..', 'ui');
const MAX_STAFF_MESSAGE = 1024;

export interface ReferenceBackOfficeOptions {
  /** Where backoffice.db lives. */
  dataDir: string;
  /** 127.0.0.1 unless said otherwise: there is no staff login. */
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** The JWT audience lockers must name. */
  audience: string;
  logger: Logger;
  /** For "today" and the demo's dates. */
  timeZone: string;
  /** Seed the README's demo appointments for the first unit registered. */
  demo: boolean;
  /** A JSON file of units to register at start (standalone runs). */
  unitsFile?: string;
  defaultCountry?: Country;
  pingIntervalMs?: number;
  /** Tests lower the scrypt cost of generated PINs. */
  pinCost?: ScryptCost;
  /** Host names, besides loopback and `host`, that requests may name. */
  allowedHosts?: readonly string[];
  /** Tests script the PINs drawn. */
  pinGenerator?: () => string;
  now?: () => Date;
  uiDir?: string;
}

export interface ReferenceBackOffice {
  /** The staff page. */
  url: string;
  /** Where lockers connect: ws://host:port/locker. */
  lockerUrl: string;
  port: number;
  /** Registers (or re-keys) a unit; with `demo`, seeds the demo appointments for it once. */
  registerUnit(unitId: string, publicJwk: JWK): Promise<void>;
  service: BackOfficeService;
  stop(): Promise<void>;
}

type View = 'staff' | 'tablet';

export async function startReferenceBackOffice(options: ReferenceBackOfficeOptions): Promise<ReferenceBackOffice> {
  const log = moduleLogger(options.logger, 'backoffice');
  const host = options.host ?? '127.0.0.1';
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    log.warn({ host }, 'the reference back office has no staff login and is listening beyond loopback');
  }
  const validator = createValidator();
  const db = await openBackOfficeDatabase(join(options.dataDir, 'backoffice.db'), options.logger);
  const service = new BackOfficeService({
    db,
    logger: log,
    timeZone: options.timeZone,
    validator,
    ...(options.defaultCountry ? { defaultCountry: options.defaultCountry } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.pinCost ? { pinCost: options.pinCost } : {}),
    ...(options.pinGenerator ? { pinGenerator: options.pinGenerator } : {}),
  });
  await service.markAllOffline();
  await service.payments.ready();

  const registerUnit = async (unitId: string, publicJwk: JWK): Promise<void> => {
    await service.registerUnit(unitId, publicJwk);
    if (options.demo) await service.seedDemo(unitId);
  };
  if (options.unitsFile) {
    for (const unit of await readUnitsFile(options.unitsFile)) await registerUnit(unit.unitId, unit.publicJwk);
  }

  const guard = { names: ownHostNames(host, options.allowedHosts ?? []) };
  const app = createBackOfficeApp({ service, uiDir: options.uiDir ?? UI_DIR, logger: log, guard });
  const http: Server = createServer(app);
  const lockers = new LockerProtocolServer({
    service,
    audience: options.audience,
    logger: log,
    validator,
    ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  });

  // Staff and tablet pages: the state is pushed on every change (coalesced), they only listen.
  const staff = new WebSocketServer({ noServer: true, maxPayload: MAX_STAFF_MESSAGE, handleProtocols: (offered) => (offered.has(TABLET_PROTOCOL) ? TABLET_PROTOCOL : false) });
  const viewers = new Map<WebSocket, View>();
  const feedCredentials = new WeakMap<WebSocket, string | undefined>();
  const push = async (socket: WebSocket, view: View): Promise<void> => {
    try {
      if (view === 'tablet' && !(await feedAllowed(service.tablets, feedCredentials.get(socket)))) {
        socket.close(FEED_REVOKED, 'this tablet is no longer enrolled');
        return;
      }
      const state = view === 'staff' ? await service.staffState() : await service.tabletState();
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ type: view, state }));
    } catch (error) {
      log.warn({ err: String(error), view }, 'could not push state');
    }
  };
  let pending: NodeJS.Timeout | null = null;
  const broadcast = (): void => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      for (const [socket, view] of viewers) void push(socket, view);
    }, 50);
  };
  service.on('changed', broadcast);
  staff.on('connection', (socket, request) => {
    const view: View = new URL(request.url ?? '/', 'http://localhost').searchParams.get('view') === 'tablet' ? 'tablet' : 'staff';
    viewers.set(socket, view);
    feedCredentials.set(socket, feedAuthorization(request));
    socket.on('close', () => viewers.delete(socket));
    socket.on('error', () => viewers.delete(socket));
    socket.on('message', () => socket.send(JSON.stringify({ type: 'error', message: 'send changes to the JSON API' })));
    void push(socket, view);
  });

  http.on('upgrade', (request, socket, head) => {
    // Host (DNS rebinding) and Origin for every upgrade, before anything else.
    const verdict = checkRequest(request, guard, 'upgrade');
    if (!verdict.ok) {
      refuseUpgrade(socket, verdict);
      return;
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/locker') {
      lockers.handleUpgrade(request, socket, head);
    } else if (path === '/staff') {
      // The push carries the demo PINs: no other site's page may open it (cross-site WebSocket
      // hijacking); the Origin was checked above.
      const tabletView = new URL(request.url ?? '/', 'http://localhost').searchParams.get('view') === 'tablet';
      const upgrade = () => staff.handleUpgrade(request, socket, head, (ws) => staff.emit('connection', ws, request));
      if (!tabletView) upgrade();
      else {
        // The tablet feed needs the tablet's credential (tablet-feed.ts).
        void feedAllowed(service.tablets, feedAuthorization(request)).then((allowed) => {
          if (allowed) upgrade();
          else socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        });
      }
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });

  try {
    await new Promise<void>((resolvePromise, reject) => {
      http.once('error', reject);
      http.listen(options.port, host, () => {
        http.off('error', reject);
        resolvePromise();
      });
    });
  } catch (error) {
    await lockers.close();
    await db.close();
    throw error;
  }
  const port = (http.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const url = `http://${hostInUrl}:${port}`;
  service.payments.setPublicUrl(url);
  service.openLinks.setPublicUrl(url);
  log.info({ url, demo: options.demo }, 'reference back office listening');

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      service.off('changed', broadcast);
      if (pending) clearTimeout(pending);
      await lockers.close();
      for (const socket of viewers.keys()) socket.terminate();
      await new Promise<void>((resolvePromise) => staff.close(() => resolvePromise()));
      http.closeAllConnections();
      await new Promise<void>((resolvePromise) => http.close(() => resolvePromise()));
      await db.close();
      log.info('reference back office stopped');
    })();
    return stopping;
  };

  return { url: `${url}/`, lockerUrl: `ws://${hostInUrl}:${port}/locker`, port, registerUnit, service, stop };
}

export async function readUnitsFile(path: string): Promise<{ unitId: string; publicJwk: JWK }[]> {
  const value: unknown = JSON.parse(await readFile(path, 'utf8'));
  const list = Array.isArray(value) ? value : (value as { units?: unknown })?.units;
  if (!Array.isArray(list)) throw new Error(`${path}: expected an array of { unitId, publicJwk }`);
  return list.map((entry: unknown, index) => {
    const unit = entry as { unitId?: unknown; publicJwk?: unknown };
    if (typeof unit.unitId !== 'string' || typeof unit.publicJwk !== 'object' || unit.publicJwk === null) {
      throw new Error(`${path}: entry ${index} needs a unitId and a publicJwk`);
    }
    return { unitId: unit.unitId, publicJwk: unit.publicJwk as JWK };
  });
}
