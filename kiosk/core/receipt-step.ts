/**
 * The receipt after a paid pickup (docs/protocol.md, "Receipts"): SMS or e-mail to the order's
 * own phone or e-mail (offered masked; the back office sends it), or a QR on the top screen.
 * No "digital bin" choice (not allowed in Norway). The locker keeps no receipt: it writes
 * `receipt.requested` and shows the QR link the back office answers with (`receipt.link`) for
 * `qrMs` (60 s), even after the session moved on; the bottom screen leaves the step by itself
 * after `stepMs` (30 s).
 *
 * The customer's last choice is remembered by the back office (by the customer: first phone,
 * else e-mail), which sends it on `payment.status` as `receiptChannel`; the screen offers it
 * first. The locker remembers nothing about customers itself.
 */
import type { Country } from '../config/schema.js';
import { normalisePhone } from './normalise.js';
import type { Clock } from '../lib/clock.js';
import { DomainError } from '../errors.js';
import { maskEmail, maskPhone } from './mask.js';
import type { JourneyStore } from './ports.js';
import type { SessionView } from './session-view.js';
import type { Reservation } from './types.js';

export type ReceiptChannel = 'sms' | 'email' | 'qr';

export const RECEIPT_STEP_MS = 30_000;
export const RECEIPT_QR_MS = 60_000;

export interface ReceiptStepOptions {
  store: JourneyStore;
  clock: Clock;
  renderQr?: ((text: string) => Promise<string>) | undefined;
  /** The top screen changed (a QR came or went). */
  changed: () => void;
  qrMs?: number;
  /** A typed phone number without +country is read in this country. */
  defaultCountry?: Country;
}

/** A plain e-mail address: local@domain.tld, no spaces, at most 254 characters. */
const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;

export class ReceiptStep {
  readonly #o: ReceiptStepOptions;
  #asked: { reservationId: string; channel: ReceiptChannel; at: number } | null = null;
  #qr: { reservationId: string; svg: string; timer: unknown } | null = null;

  constructor(options: ReceiptStepOptions) {
    this.#o = options;
  }

  /** Whether a finished pickup is offered a receipt: it was paid at the locker's gate. */
  static offeredFor(r: Reservation): boolean {
    return r.kind === 'pickup' && r.paymentRequired && r.paymentStatus === 'paid';
  }

  /** What the bottom screen offers: the order's phone and e-mail, masked. */
  view(r: Reservation | null, preferred: ReceiptChannel | null): SessionView['receipt'] {
    if (!r) return null;
    const phone = r.phones[0];
    return {
      sms: phone === undefined ? null : maskPhone(phone),
      email: r.email ? maskEmail(r.email) : null,
      preferred,
      asked: this.#asked?.reservationId === r.id ? this.#asked.channel : null,
    };
  }

  /** The customer chose a channel: the back office is told (masked destination only). */
  /**
   * `typed`: a number (sms) or e-mail (email) the customer typed instead of the order's own. It
   * is validated, sent to the back office only in the event (it must send there), shown and
   * logged only masked; null: the order's own, named only masked.
   */
  async request(r: Reservation, channel: ReceiptChannel, typed: string | null = null): Promise<void> {
    const destination = typed === null ? null : this.#typedDestination(channel, typed);
    const own = channel === 'sms' ? (r.phones[0] ?? null) : channel === 'email' ? r.email : null;
    const shown = destination ?? own;
    const destinationMasked = shown === null ? null : channel === 'email' ? maskEmail(shown) : maskPhone(shown);
    if (channel !== 'qr' && destinationMasked === null) throw new DomainError('BAD_ACTION', `the order has no ${channel === 'sms' ? 'mobile number' : 'e-mail'}: type one`);
    await this.#o.store.transaction((tx) => tx.event('receipt.requested', { reservationId: r.id, channel, destination, destinationMasked }));
    this.#asked = { reservationId: r.id, channel, at: this.#o.clock.now() };
  }

  #typedDestination(channel: ReceiptChannel, typed: string): string {
    if (channel === 'sms') {
      const phone = normalisePhone(typed, this.#o.defaultCountry ?? 'NO');
      if (!phone.ok) throw new DomainError('PHONE_INVALID', 'that does not look like a mobile number');
      return phone.e164;
    }
    if (channel === 'email') {
      const email = typed.trim();
      if (email.length > 254 || !EMAIL.test(email)) throw new DomainError('EMAIL_INVALID', 'that does not look like an e-mail address');
      return email;
    }
    throw new DomainError('BAD_ACTION', 'a QR receipt goes to no address');
  }

  /** Whether a receipt.link for this reservation is for the customer who asked for a QR just now. */
  accepts(reservationId: string): boolean {
    const asked = this.#asked;
    return asked?.reservationId === reservationId && asked.channel === 'qr' && this.#o.clock.now() - asked.at <= (this.#o.qrMs ?? RECEIPT_QR_MS);
  }

  /** receipt.link arrived: shown when this reservation's customer asked for a QR just now. */
  async showLink(reservationId: string, link: string): Promise<boolean> {
    // Only the customer who just asked: a late link never shows to the next one.
    if (!this.accepts(reservationId) || !this.#o.renderQr) return false;
    const svg = await this.#o.renderQr(link);
    this.#clearQr();
    const timer = this.#o.clock.setTimeout(() => {
      this.#qr = null;
      this.#asked = null;
      this.#o.changed();
    }, this.#o.qrMs ?? RECEIPT_QR_MS);
    this.#qr = { reservationId, svg, timer };
    this.#o.changed();
    return true;
  }

  /** The receipt QR while it lasts (it outlives the session: 60 s). */
  qr(): { svg: string; captionKey: string } | null {
    return this.#qr ? { svg: this.#qr.svg, captionKey: 'qr.receipt' } : null;
  }

  /** The customer asked nothing (or the session ended without a QR): forget the ask, keep a shown QR. */
  sessionEnded(): void {
    if (this.#asked?.channel !== 'qr') this.#asked = null;
  }

  stop(): void {
    this.#clearQr();
  }

  #clearQr(): void {
    if (this.#qr) this.#o.clock.clearTimeout(this.#qr.timer);
    this.#qr = null;
  }
}
