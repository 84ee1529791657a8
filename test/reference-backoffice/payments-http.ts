/**
 * The web side of payments (payments.ts): the customer's phone page `/pay/<id>` (approve or
 * refuse, as on the provider's own page), the receipt page `/receipt/<id>` (the QR's link), and
 * the staff API: the payments list (filter by state and day), cancel / reopen / refund / check /
 * mark paid by hand, and the messenger's outbox ("what would have been sent", masked).
 */
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { BackOfficeError } from './errors.js';
import { OutboxMessenger } from './messenger.js';
import { ProviderError, SimulatedProvider } from './payment-provider.js';
import type { BackOfficeService } from './service.js';

type Handler = (req: Request, res: Response) => Promise<unknown>;
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => {
  handler(req, res).catch((error: unknown) => next(error instanceof ProviderError ? new BackOfficeError(error.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'CONFLICT', error.message) : error));
};
const param = (req: Request, name: string): string => {
  const value = req.params[name];
  return typeof value === 'string' ? value : '';
};
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const STATES = ['pending', 'requested', 'authorised', 'paid', 'failed', 'cancelled', 'refunded', 'expired'];

/** Routes under /api (after its JSON checks). */
export function paymentApi(service: BackOfficeService): express.Router {
  const api = express.Router();
  const desk = service.payments;
  api.get('/payments', route(async (req, res) => {
    const state = typeof req.query['state'] === 'string' && req.query['state'] !== '' ? req.query['state'] : undefined;
    const date = typeof req.query['date'] === 'string' && req.query['date'] !== '' ? req.query['date'] : undefined;
    if (state !== undefined && !STATES.includes(state)) throw new BackOfficeError('BAD_INPUT', `state must be one of ${STATES.join(', ')}`, 'state');
    if (date !== undefined && !DAY.test(date)) throw new BackOfficeError('BAD_INPUT', 'date must be YYYY-MM-DD', 'date');
    res.json(await desk.list({ state, date }));
  }));
  api.get('/outbox', (_req, res) => {
    res.json({ messages: service.messenger instanceof OutboxMessenger ? service.messenger.view() : [] });
  });
  const staff = { 'send-link': desk.sendLink, cancel: desk.cancel, reopen: desk.reopen, refund: desk.refund, check: desk.check, 'mark-paid': desk.markPaidManually } as const;
  for (const [action, run] of Object.entries(staff)) {
    api.post(`/reservations/:id/payment/${action}`, route(async (req, res) => res.json({ payment: await run.call(desk, param(req, 'id')) })));
  }
  // The pickup message's open link (open-links.ts): staff make one; the phone page reads it and presses Open.
  api.post('/reservations/:id/open-link', route(async (req, res) => res.status(201).json(await service.openLinks.issue(param(req, 'id')))));
  // The pickup message again (a new link in it), e.g. for an order that was ready before the message existed.
  api.post('/reservations/:id/pickup-message', route(async (req, res) => res.status(202).json(await service.resendPickupMessage(param(req, 'id')))));
  api.get('/open/:token', route(async (req, res) => res.json(await service.openLinks.view(param(req, 'token')))));
  api.post('/open/:token/open', route(async (req, res) => res.status(202).json(await service.openLinks.open(param(req, 'token')))));
  // The phone page's own calls: what it shows, and the customer's answer.
  api.get('/pay/:id', route(async (req, res) => {
    const page = await desk.page(param(req, 'id'));
    if (!page) throw new BackOfficeError('NOT_FOUND', 'no such payment');
    res.json(page);
  }));
  for (const answer of ['approve', 'refuse'] as const) {
    api.post(`/pay/:id/${answer}`, route(async (req, res) => {
      const provider = service.provider;
      if (!(provider instanceof SimulatedProvider)) throw new BackOfficeError('NOT_FOUND', 'payments are made on the provider\'s own page');
      const id = param(req, 'id');
      if (!(await desk.page(id))) throw new BackOfficeError('NOT_FOUND', 'no such payment');
      const changed = answer === 'approve' ? await provider.approve(id) : await provider.refuse(id);
      await desk.providerChanged(changed);
      res.json({ state: (await desk.page(id))?.state ?? null });
    }));
  }
  return api;
}

/** The phone's pages (outside /api). */
export function paymentPages(service: BackOfficeService, uiDir: string): express.Router {
  const pages = express.Router();
  pages.use('/pay', express.static(join(uiDir, 'pay'), { index: false, maxAge: 0 }));
  pages.get('/pay/:id', (_req, res) => res.sendFile(join(uiDir, 'pay', 'index.html')));
  pages.get('/open/:token', (_req, res) => res.sendFile(join(uiDir, 'pay', 'open.html')));
  pages.get('/receipt/:id', route(async (req, res) => {
    const receipt = await service.payments.receipt(param(req, 'id'));
    if (!receipt) throw new BackOfficeError('NOT_FOUND', 'no such receipt (receipts are kept 30 days)');
    res.type('text/plain; charset=utf-8').send(`${receipt.body}\n`);
  }));
  return pages;
}
