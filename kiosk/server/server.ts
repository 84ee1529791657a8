/**
 * The screens' server: express serves ui/ and a small JSON API, ws pushes live state to each
 * screen. Bound to loopback by default (the screens run on the same Pi).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { SimBoard } from '../../controller/drivers/sim.js';
import type { CompartmentWiring } from '../../controller/lock-bank.js';
import { parseAction } from '../core/actions.js';
import type { Journeys } from '../core/journeys.js';
import type { JourneyStore } from '../core/ports.js';
import type { TopView } from '../core/session-view.js';
import { toHttpError } from '../errors.js';
import { checkRequest, hostGuard, ownHostNames, type HostGuardOptions } from './host-guard.js';
import { simRouter, simSnapshot } from './sim-routes.js';
import { securityHeaders } from './security-headers.js';

export interface ServerOptions {
  journeys: Journeys;
  store: JourneyStore;
  uiDir: string;
  logger: Logger;
  /** What the top screen shows; default the journey's (the locker adds the mechanic's QR). */
  topView?: () => TopView;
  /** What /health reports beyond "ok". */
  health: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** The simulator, when the locker runs on it: enables /sim and /api/sim. */
  sim?: { board: SimBoard; wiring: readonly CompartmentWiring[] };
  /** Host names requests may name, and the screens' secret beyond loopback (host-guard.ts). Default: loopback, no secret. */
  guard?: HostGuardOptions;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Required by the config beyond loopback: what the screens present. */
  screenSecret?: string | null;
  /** Extra names requests may use for this server (a DNS name of the Pi). */
  allowedHosts?: readonly string[];
}

export interface RunningServer {
  url: string;
  port: number;
  /** Push the current state to every screen now. */
  broadcast(): void;
  close(): Promise<void>;
}

type Screen = 'bottom' | 'top' | 'sim';
const SCREENS: readonly Screen[] = ['bottom', 'top', 'sim'];
const MAX_WS_MESSAGE = 4096;


export function createApp(options: ServerOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  // Before anything else: a request that names another host (DNS rebinding) or comes from
  // another origin, or a screen without the secret, never reaches a route.
  app.use(hostGuard(options.guard ?? { names: ownHostNames('127.0.0.1') }));
  app.use(express.json({ limit: '8kb' }));
  const topView = options.topView ?? (() => options.journeys.topView());

  app.get('/', (_req, res) => res.redirect('/bottom/'));
  app.get('/health', async (_req, res) => {
    res.json({ status: 'ok', ...(await options.health()) });
  });
  app.get('/api/session', (_req, res) => {
    res.json({ view: options.journeys.view() });
  });
  app.post('/api/session', async (req, res) => {
    const view = await options.journeys.dispatch(parseAction(req.body));
    res.json({ view });
  });
  app.get('/api/top', (_req, res) => {
    res.json({ view: topView() });
  });
  if (options.sim) {
    app.use('/api/sim', simRouter(options.sim.board, options.sim.wiring, options.store));
  } else {
    app.use(['/sim', '/api/sim'], (_req, res) => {
      res.status(404).json({ error: { code: 'NOT_FOUND', message: 'the simulator runs only with hardware.kind "sim"' } });
    });
  }
  app.use(express.static(options.uiDir, { index: 'index.html', maxAge: 0, fallthrough: true }));
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such page' } });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = toHttpError(error);
    if (status >= 500) options.logger.error({ err: String(error), path: req.path }, 'request failed');
    res.status(status).json(body);
  });
  return app;
}

export async function startServer(options: ServerOptions, listen: ListenOptions): Promise<RunningServer> {
  const guard: HostGuardOptions = options.guard ?? { names: ownHostNames(listen.host, listen.allowedHosts ?? []), secret: listen.screenSecret ?? null };
  const app = createApp({ ...options, guard });
  const http: Server = createServer(app);
  const wss = new WebSocketServer({
    server: http,
    path: '/ws',
    maxPayload: MAX_WS_MESSAGE,
    // The same Host, Origin and secret checks as every request: a cross-origin page must not
    // open the screens' live view.
    verifyClient: (info, done) => {
      const verdict = checkRequest(info.req, guard, 'upgrade');
      if (verdict.ok) done(true);
      else done(false, verdict.status, verdict.message);
    },
  });
  const topView = options.topView ?? (() => options.journeys.topView());
  const clients = new Map<WebSocket, Screen>();

  const payloadFor = async (screen: Screen): Promise<string | null> => {
    if (screen === 'bottom') return JSON.stringify({ type: 'session', view: options.journeys.view() });
    if (screen === 'top') return JSON.stringify({ type: 'top', view: topView() });
    if (!options.sim) return null;
    return JSON.stringify({ type: 'sim', ...(await simSnapshot(options.sim.board, options.sim.wiring, options.store)) });
  };

  const send = async (socket: WebSocket, screen: Screen): Promise<void> => {
    try {
      const payload = await payloadFor(screen);
      if (payload !== null && socket.readyState === socket.OPEN) socket.send(payload);
    } catch (error) {
      options.logger.warn({ err: String(error), screen }, 'could not push state');
    }
  };

  // Coalesce bursts of changes (a pulse, a door, a store write) into one push per screen.
  let pending = false;
  const broadcast = (): void => {
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      for (const [socket, screen] of clients) void send(socket, screen);
    });
  };

  wss.on('connection', (socket, request) => {
    const screen = new URL(request.url ?? '/', 'http://localhost').searchParams.get('screen');
    if (!screen || !(SCREENS as readonly string[]).includes(screen) || (screen === 'sim' && !options.sim)) {
      socket.close(1008, 'screen must be bottom, top or sim');
      return;
    }
    clients.set(socket, screen as Screen);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => clients.delete(socket));
    // Screens only listen; actions go through POST /api/session.
    socket.on('message', () => socket.send(JSON.stringify({ type: 'error', error: { code: 'BAD_ACTION', message: 'send actions to POST /api/session' } })));
    void send(socket, screen as Screen);
  });

  options.journeys.events.on('changed', broadcast);
  options.sim?.board.world.on('changed', broadcast);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(listen.port, listen.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;

  return {
    url: `http://${host}:${port}`,
    port,
    broadcast,
    close: async () => {
      options.journeys.events.off('changed', broadcast);
      options.sim?.board.world.off('changed', broadcast);
      for (const socket of clients.keys()) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
