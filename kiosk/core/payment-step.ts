/**
 * The pickup's payment step (docs/protocol.md, "Payments"): what the customer sees while paying
 * and what the locker asks of the back office. The locker never decides that something is paid:
 * only a `payment.status` over the back-office link moves the gate (kiosk/sync/commands/
 * payments.ts); this step asks for a payment page (`payment.requested`, method link), a Vipps
 * request to a phone (method vipps-push), or a fresh look (`payment.check-requested`), and
 * shows the provider's state and the payment page's QR.
 *
 * Personal data: the order's phone is only ever shown and sent masked; a number the customer
 * types is normalised, sent once to the back office in the event (it needs it), shown masked
 * and never logged.
 */
import type { Logger } from 'pino';
import type { Country } from '../config/schema.js';
import { DomainError } from '../errors.js';
import { maskPhone } from './mask.js';
import { normalisePhone } from './normalise.js';
import type { JourneyStore, PaymentDetailsView } from './ports.js';
import type { SessionView } from './session-view.js';
import type { Reservation } from './types.js';

export interface PaymentStepOptions {
  store: JourneyStore;
  defaultCountry: Country;
  logger: Logger;
  /** Renders a link as an SVG QR code, on the locker (no network); absent: no QR is shown. */
  renderQr?: ((text: string) => Promise<string>) | undefined;
}

type Requested = 'link' | 'vipps-push';

export class PaymentStep {
  readonly #o: PaymentStepOptions;
  #details: PaymentDetailsView | null = null;
  /** What this session asked for the payment version it saw (a new version clears it). */
  #clubConsent: boolean | null = null;
  #requested: { method: Requested; version: number; phoneMasked: string | null } | null = null;
  #linkAskedFor: number | null = null;
  #qr: { link: string; svg: string } | null = null;

  constructor(options: PaymentStepOptions) {
    this.#o = options;
  }

  /** A new customer (or none): forget what the last one saw and asked. */
  reset(): void {
    this.#clubConsent = null;
    this.#details = null;
    this.#requested = null;
    this.#linkAskedFor = null;
    this.#qr = null;
  }

  /** The customer reached the payment step: ask for the payment page unless one is held for this payment. */
  async enter(reservation: Reservation): Promise<void> {
    this.reset();
    await this.refresh(reservation);
    await this.#askForLinkIfNone(reservation);
  }

  /** A payment status arrived (or the step was entered): reload the detail and its QR. */
  async refresh(reservation: Reservation): Promise<void> {
    const details = (await this.#o.store.paymentDetails?.(reservation.id)) ?? null;
    // A detail older than the gate's version (written before migration 8) says nothing.
    this.#details = details && details.version === reservation.paymentVersion ? details : null;
    // A refused, cancelled or expired request is over: the buttons come back.
    if (this.#details && ['failed', 'cancelled', 'expired'].includes(this.#details.state)) this.#requested = null;
    await this.#renderQr();
  }

  /** "Pay with Vipps": to the order's number (phone null) or to one the customer typed. */
  async payVipps(reservation: Reservation, typed: string | null): Promise<void> {
    this.#requireUnpaid(reservation);
    let phone: string | null = null;
    let phoneMasked: string | null;
    if (typed !== null) {
      const normalised = normalisePhone(typed, this.#o.defaultCountry);
      if (!normalised.ok) throw new DomainError('PHONE_INVALID', 'that does not look like a mobile number');
      phone = normalised.e164;
      phoneMasked = maskPhone(phone);
    } else {
      const own = reservation.phones[0];
      if (own === undefined) throw new DomainError('PHONE_INVALID', 'the order has no mobile number: type one');
      phoneMasked = maskPhone(own);
    }
    await this.#o.store.transaction((tx) => tx.event('payment.requested', { reservationId: reservation.id, method: 'vipps-push', phone, phoneMasked }));
    this.#requested = { method: 'vipps-push', version: reservation.paymentVersion, phoneMasked };
    this.#o.logger.info({ reservation: reservation.id, typed: phone !== null }, 'vipps payment requested');
  }

  /** "Check payment": the back office asks its provider and sends a newer status if it changed. */
  async check(reservation: Reservation): Promise<void> {
    this.#requireUnpaid(reservation);
    await this.#o.store.transaction((tx) => tx.event('payment.check-requested', { reservationId: reservation.id, version: reservation.paymentVersion }));
    this.#o.logger.info({ reservation: reservation.id }, 'payment check requested');
    // A dead page (failed, cancelled, expired) is replaced by a new one.
    if (!this.#details?.link || ['failed', 'cancelled', 'expired'].includes(this.#details.state)) await this.#askForLinkIfNone(reservation, true);
  }

  /**
   * "Join the workshop's customer club with Vipps": the consent (or its withdrawal at this step)
   * goes to the back office as an event; the locker keeps nothing beyond this session.
   */
  async clubConsent(reservation: Reservation, consent: boolean): Promise<void> {
    if (this.#clubConsent === consent) return; // one event per change, however often it is tapped
    await this.#o.store.transaction((tx) => tx.event('customer.club-consent', { reservationId: reservation.id, method: 'vipps', consent }));
    this.#clubConsent = consent;
    this.#o.logger.info({ reservation: reservation.id, consent }, 'customer club consent');
  }

  view(r: Reservation): NonNullable<SessionView['payment']> {
    const own = r.phones[0];
    return {
      amount: r.paymentAmount,
      currency: r.paymentCurrency,
      status: r.paymentStatus,
      state: this.#details?.state ?? r.paymentStatus,
      link: this.#qr !== null,
      orderPhone: own === undefined ? null : maskPhone(own),
      requested: this.#requested ? { method: this.#requested.method, phoneMasked: this.#requested.phoneMasked } : null,
      clubConsent: this.#clubConsent,
    };
  }

  /** The channel the customer chose for the last receipt, as the back office sent it. */
  receiptChannel(): 'sms' | 'email' | 'qr' | null {
    return this.#details?.receiptChannel ?? null;
  }

  /** The payment page's QR for the top screen; null without a live link. */
  qr(): { svg: string; captionKey: string } | null {
    return this.#qr ? { svg: this.#qr.svg, captionKey: 'qr.payment' } : null;
  }

  async #askForLinkIfNone(reservation: Reservation, again = false): Promise<void> {
    const live = this.#details?.link && !['failed', 'cancelled', 'expired', 'refunded'].includes(this.#details.state);
    if (live || reservation.paymentStatus === 'paid') return;
    // Once per payment version and session, so that a customer tapping around does not make pages.
    if (!again && this.#linkAskedFor === reservation.paymentVersion) return;
    this.#linkAskedFor = reservation.paymentVersion;
    await this.#o.store.transaction((tx) => tx.event('payment.requested', { reservationId: reservation.id, method: 'link', phone: null, phoneMasked: null }));
  }

  async #renderQr(): Promise<void> {
    const details = this.#details;
    const live = details?.link && !['failed', 'cancelled', 'expired', 'refunded', 'paid'].includes(details.state) ? details.link : null;
    if (live === null || !this.#o.renderQr) {
      this.#qr = null;
      return;
    }
    if (this.#qr?.link === live) return;
    this.#qr = { link: live, svg: await this.#o.renderQr(live) };
  }

  #requireUnpaid(reservation: Reservation): void {
    if (!reservation.paymentRequired || reservation.paymentStatus === 'paid') throw new DomainError('BAD_ACTION', 'nothing to pay');
  }
}
