/**
 * The payment provider the reference back office talks to, as an interface: a real adapter
 * (Vipps MobilePay ePayment, Nets Easy, Klarna) implements the same five calls against its API
 * and reports changes the way its webhooks do; none is built here. The simulated provider
 * follows a real one's states so the demo and the tests walk every path with no internet:
 *
 *   created --approve--> authorised --capture--> captured --refund--> refunded
 *      |  \--refuse--> refused
 *      |   \--cancel--> cancelled      (authorised --cancel--> cancelled)
 *       \--(expiresAfterMs, seen by status())--> expired
 *
 * The customer's side (approve, refuse) is what a phone does on the provider's page: here the
 * back office's own `/pay/<id>` page.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

export type ProviderState = 'created' | 'authorised' | 'captured' | 'refused' | 'cancelled' | 'refunded' | 'expired';

export interface ProviderPayment {
  /** The provider's id, also the last part of the payment page's URL. */
  id: string;
  /** Ours: the reservation it pays. */
  reference: string;
  amount: number;
  currency: string;
  /** link: a payment page (QR); vipps-push: a request sent to the phone's app. */
  method: 'link' | 'vipps-push';
  /** vipps-push: the phone asked (E.164); never shown in clear. */
  phone: string | null;
  state: ProviderState;
  createdAt: string;
  updatedAt: string;
}

export interface NewProviderPayment {
  reference: string;
  amount: number;
  currency: string;
  method: 'link' | 'vipps-push';
  phone: string | null;
}

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly code: 'NOT_FOUND' | 'WRONG_STATE',
    message: string,
  ) {
    super(message);
  }
}

export interface PaymentProvider {
  create(payment: NewProviderPayment): Promise<ProviderPayment>;
  /** The provider's current view (a check the customer or staff asked for). */
  status(id: string): Promise<ProviderPayment>;
  capture(id: string): Promise<ProviderPayment>;
  cancel(id: string): Promise<ProviderPayment>;
  refund(id: string): Promise<ProviderPayment>;
}

/** What the simulated provider tells, as a real one's webhook would: a payment changed on the customer's side. */
export interface ProviderEvents {
  changed: [payment: ProviderPayment];
}

export interface SimulatedProviderOptions {
  now?: () => Date;
  /** A payment nobody approves expires (default 15 min, like a Vipps request's lifetime). */
  expiresAfterMs?: number;
}

export class SimulatedProvider implements PaymentProvider {
  readonly events = new EventEmitter<ProviderEvents>();
  readonly #payments = new Map<string, ProviderPayment>();
  readonly #now: () => Date;
  readonly #expiresAfterMs: number;

  constructor(options: SimulatedProviderOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#expiresAfterMs = options.expiresAfterMs ?? 15 * 60_000;
  }

  async create(payment: NewProviderPayment): Promise<ProviderPayment> {
    const at = this.#now().toISOString();
    // Unguessable: the page is the only thing between a stranger and someone else's invoice.
    const created: ProviderPayment = { ...payment, id: `pay-${randomBytes(12).toString('base64url')}`, state: 'created', createdAt: at, updatedAt: at };
    this.#payments.set(created.id, created);
    return { ...created };
  }

  async status(id: string): Promise<ProviderPayment> {
    const payment = this.#get(id);
    if (payment.state === 'created' && this.#now().getTime() - Date.parse(payment.createdAt) > this.#expiresAfterMs) this.#move(payment, 'expired');
    return { ...payment };
  }

  async capture(id: string): Promise<ProviderPayment> {
    return this.#transition(id, ['authorised'], 'captured');
  }

  async cancel(id: string): Promise<ProviderPayment> {
    return this.#transition(id, ['created', 'authorised'], 'cancelled');
  }

  async refund(id: string): Promise<ProviderPayment> {
    return this.#transition(id, ['captured'], 'refunded');
  }

  // --- the customer's side (the phone) ---------------------------------------------------

  /** The customer approves on the phone: authorised, reported as a webhook would. */
  async approve(id: string): Promise<ProviderPayment> {
    await this.status(id); // an expired one cannot be approved
    const payment = await this.#transition(id, ['created'], 'authorised');
    this.events.emit('changed', payment);
    return payment;
  }

  /** The customer (or the card issuer) refuses. */
  async refuse(id: string): Promise<ProviderPayment> {
    await this.status(id);
    const payment = await this.#transition(id, ['created'], 'refused');
    this.events.emit('changed', payment);
    return payment;
  }

  /** The page's view of a payment, or null (an unknown id is not an error for the page). */
  peek(id: string): ProviderPayment | null {
    const payment = this.#payments.get(id);
    return payment ? { ...payment } : null;
  }

  async #transition(id: string, from: readonly ProviderState[], to: ProviderState): Promise<ProviderPayment> {
    const payment = this.#get(id);
    if (!from.includes(payment.state)) throw new ProviderError('WRONG_STATE', `payment is ${payment.state}, not ${from.join(' or ')}`);
    this.#move(payment, to);
    return { ...payment };
  }

  #move(payment: ProviderPayment, to: ProviderState): void {
    payment.state = to;
    payment.updatedAt = this.#now().toISOString();
  }

  #get(id: string): ProviderPayment {
    const payment = this.#payments.get(id);
    if (!payment) throw new ProviderError('NOT_FOUND', 'no such payment');
    return payment;
  }
}
