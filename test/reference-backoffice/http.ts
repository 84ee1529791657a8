/**
 * The reference back office's web side: the JSON API the staff page and the mechanic's tablet
 * use, and their static files (ui/backoffice/ at /, ui/tablet/ at /tablet/). Same style as the
 * locker's own server: a strict CSP, JSON errors, nothing personal in the logs.
 *
 * There is no staff login: the reference back office listens on loopback. To keep other web
 * pages open in the same browser from driving it, every request must name this server in its
 * Host (a DNS-rebinding page names its own: 421), every POST must be `application/json` (a
 * cross-site form cannot send that without a CORS preflight, which is never answered) and,
 * when the browser names an Origin, it must be this server's (kiosk/server/host-guard.ts).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../kiosk/logging.js';
import { BackOfficeError, type BackOfficeService } from './service.js';
import { paymentApi, paymentPages } from './payments-http.js';
import { securityHeaders } from '../../kiosk/server/security-headers.js';
import { hostGuard, ownHostNames, type HostGuardOptions } from '../../kiosk/server/host-guard.js';

export interface BackOfficeAppOptions {
  service: BackOfficeService;
  /** The repository's ui/ folder. */
  uiDir: string;
  logger: Logger;
  /** Host names requests may name; default: loopback. */
  guard?: HostGuardOptions;
}


const JSQR_PATH = createRequire(import.meta.url).resolve('jsqr');

type Handler = (req: Request, res: Response) => Promise<unknown>;

/** Express 5 forwards rejected promises to the error handler; this only keeps the routes short. */
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
  handler(req, res).catch(next);
};

export function createBackOfficeApp(options: BackOfficeAppOptions): express.Express {
  const { service } = options;
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders());
  app.use(hostGuard(options.guard ?? { names: ownHostNames('127.0.0.1') }));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  const api = express.Router();
  api.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    if (req.method !== 'POST') return next();
    if (!req.is('application/json')) {
      res.status(415).json({ error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'send JSON (Content-Type: application/json)', field: null } });
      return;
    }
    next();
  });
  api.use(express.json({ limit: '16kb', strict: true }));

  api.get('/state', route(async (_req, res) => res.json(await service.staffState())));

  api.post('/reservations', route(async (req, res) => res.status(201).json({ reservation: await service.createReservation(req.body) })));
  api.post('/reservations/:id', route(async (req, res) => res.json({ reservation: await service.updateReservation(param(req, 'id'), req.body) })));
  api.post('/reservations/:id/cancel', route(async (req, res) => res.json({ reservation: await service.cancelReservation(param(req, 'id')) })));
  api.post('/reservations/:id/reset', route(async (req, res) => res.json({ reservation: await service.resetReservation(param(req, 'id')) })));
  api.post('/reservations/:id/lift-lockout', route(async (req, res) => res.status(202).json(await service.liftLockout({ reservationId: param(req, 'id') }))));
  api.post('/units/:unitId/compartments/:compartment/clear-quarantine', route(async (req, res) => res.status(202).json(await service.clearQuarantine(param(req, 'unitId'), Number(param(req, 'compartment')), req.body))));
  api.post('/units/:unitId/compartments/:compartment/remote-open', route(async (req, res) => res.status(202).json(await service.staff.remoteOpen(param(req, 'unitId'), Number(param(req, 'compartment')), req.body))));
  api.post('/help/:id/ignore', route(async (req, res) => res.json(await service.staff.ignoreHelp(param(req, 'id'), req.body))));
  api.post('/units/:unitId/lift-lockout', route(async (req, res) => res.status(202).json(await service.liftLockout({ unitId: param(req, 'unitId') }))));
  api.post('/reservations/:id/payment', route(async (req, res) => res.json({ reservation: await service.setPayment(param(req, 'id'), req.body) })));
  api.post('/help/:id/take', route(async (req, res) => res.json({ helpCall: await service.takeHelpCall(param(req, 'id'), req.body) })));
  api.post('/help/:id/close', route(async (req, res) => res.json({ helpCall: await service.closeHelpCall(param(req, 'id'), req.body) })));
  // Mechanic tablets: staff make enrolment codes and revoke; a tablet enrols once, then every
  // request it makes carries its credential (tablets.ts).
  const tablet = (req: Request) => service.tablets.authenticate(req.get('authorization'));
  api.get('/tablets', route(async (_req, res) => res.json({ tablets: await service.tablets.list() })));
  api.post('/tablets/enrolment-code', route(async (_req, res) => res.status(201).json(await service.tablets.enrolmentCode())));
  api.post('/tablets/enrol', route(async (req, res) => res.status(201).json(await service.tablets.enrol(req.body))));
  api.post('/tablets/:id/revoke', route(async (req, res) => {
    await service.tablets.revoke(param(req, 'id'));
    res.json({ revoked: true });
  }));
  api.get('/tablets/me', route(async (req, res) => res.json({ tablet: await tablet(req) })));
  // The tablet's work-order feed, for enrolled tablets only (the live one is ws /staff?view=tablet, tablet-feed.ts).
  api.get('/tablet', route(async (req, res) => {
    await tablet(req);
    res.json(await service.tabletState());
  }));
  api.post('/mechanic/request', route(async (req, res) => res.status(202).json(await service.mechanicRequest(req.body, (await tablet(req)).tabletId))));
  api.post('/mechanic/scan', route(async (req, res) => res.status(202).json(await service.mechanicScan(req.body, (await tablet(req)).tabletId))));
  api.use(paymentApi(service));
  api.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such API', field: null } });
  });
  app.use('/api', api);

  // The tablet's QR decoder where the browser has no BarcodeDetector (Chromium on Linux, Firefox).
  app.get('/tablet/vendor/jsQR.js', (_req, res) => res.type('text/javascript').sendFile(JSQR_PATH));
  app.use(paymentPages(service, options.uiDir));
  app.use('/tablet', express.static(join(options.uiDir, 'tablet'), { index: 'index.html', maxAge: 0 }));
  app.use(express.static(join(options.uiDir, 'backoffice'), { index: 'index.html', maxAge: 0 }));
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such page', field: null } });
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof BackOfficeError) {
      res.status(error.status).json({ error: { code: error.code, message: error.message, field: error.field } });
      return;
    }
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const tooLarge = status === 413;
      res.status(status).json({
        error: { code: tooLarge ? 'TOO_LARGE' : 'BAD_INPUT', message: tooLarge ? 'the request body is too large' : 'the request body is not valid JSON', field: null },
      });
      return;
    }
    options.logger.error({ err: String(error), path: req.path, method: req.method }, 'request failed');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error', field: null } });
  });
  return app;
}

function param(req: Request, name: string): string {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
}
