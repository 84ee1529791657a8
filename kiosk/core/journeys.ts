/**
 * The customer at the bottom screen: one session at a time, driven through the state machine
 * of session-machine.ts. This service decides (is the PIN right, may the door open, what must
 * be written) and renders the result as a SessionView; it never touches hardware or SQL
 * directly, only the ports.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Country, Language } from '../config/schema.js';
import { DomainError, describeError, isDomainError } from '../errors.js';
import { Actuator } from './actuator.js';
import { Identify, type IdentifyThrottles } from './identify.js';
import { JourneyContext, type JourneySettings } from './journey-context.js';
import { abandon, closedAfterAbandon, chooseReceipt, endQueued, settlementNow } from './journey-endings.js';
import { back, callHelp, confirm, details, enterPin, lookup, paymentChanged, sendPin, setIdentifyMode, switchJourney } from './journey-steps.js';
import { PaymentStep } from './payment-step.js';
import { ReceiptStep } from './receipt-step.js';
import type { UnitPinHashing } from './pin.js';
import type { JourneyStore, LockPort, PinGuard } from './ports.js';
import { paymentSummary, reservationSummary, topViewOf } from './render.js';
import { newSession } from './session.js';
import { progressOf } from './session-machine.js';
import { DEFAULT_IDLE_LIMITS, SessionTimers, type IdleLimits } from './session-timers.js';
import { endingOf } from './door-settlement.js';
import type { JourneyKind, SessionAction, SessionView, TopView } from './session-view.js';

export interface JourneyOptions {
  store: JourneyStore;
  locks: LockPort;
  pins: PinGuard;
  /** The unit's PIN salt and cost (core/pin.ts); null or absent: legacy hashes only. */
  pinHashing?: UnitPinHashing | null;
  /** Lookup and PIN-delivery throttles (defaults in identify.ts). */
  throttles?: IdentifyThrottles;
  actuator: Actuator;
  clock: Clock;
  /** Wall time (for dates, lockouts and records); injectable for tests. */
  wallClock: () => Date;
  logger: Logger;
  timeZone: string;
  defaultCountry: Country;
  defaultLanguage: Language;
  /** Inactivity before a session ends on the typing steps (default 60 s) and the warning before it (10 s). */
  idleTimeoutMs?: number;
  idleWarningMs?: number;
  /** The other steps' idle limits (session-timers.ts; defaults there): at a door, paying, waiting for a PIN. */
  idleLimits?: Partial<Omit<IdleLimits, 'inputMs'>>;
  /** How long "thank you" stays up. */
  doneMs?: number;
  /** The back-office link's state, shown discreetly. */
  linkState?: () => 'online' | 'offline';
  /** True while the locker cannot open anything (a lock board down): the screens say so. */
  outOfOrder?: () => boolean;
  /** Renders the payment page's link as an SVG QR for the top screen (payment-step.ts); absent: no QR. */
  renderQr?: (text: string) => Promise<string>;
}

export interface JourneyEvents {
  /** The view changed: push it to the screens. */
  changed: [];
}

export class Journeys {
  readonly events = new EventEmitter<JourneyEvents>();
  readonly #c: JourneyContext;

  constructor(options: JourneyOptions) {
    const o: JourneySettings = { idleTimeoutMs: 60_000, idleWarningMs: 10_000, doneMs: 8_000, ...options };
    const idleLimits: IdleLimits = { ...DEFAULT_IDLE_LIMITS, ...options.idleLimits, inputMs: o.idleTimeoutMs };
    const changed = (): void => {
      this.events.emit('changed');
    };
    this.#c = new JourneyContext(
      o,
      idleLimits,
      options.logger,
      new SessionTimers(options.clock),
      new Identify(options),
      new PaymentStep({ store: options.store, defaultCountry: options.defaultCountry, logger: options.logger, renderQr: options.renderQr }),
      new ReceiptStep({ store: options.store, clock: options.clock, renderQr: options.renderQr, changed, defaultCountry: options.defaultCountry }),
      changed,
    );
    this.#c.onIdle = () => void endQueued(this.#c, 'idle');
    o.locks.events.on('doorClosed', (id) => this.#onDoor(id, 'closed'));
    o.locks.events.on('doorOpened', (id) => this.#onDoor(id, 'open'));
  }

  /** Handle one action from the bottom screen, one at a time. Throws DomainError to refuse. */
  dispatch(action: SessionAction): Promise<SessionView> {
    const run = this.#c.busy.then(() => this.#handle(action));
    this.#c.busy = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every action and ending queued so far has run (shutdown, tests). */
  async settled(): Promise<void> {
    let seen: Promise<unknown> | null = null;
    // Endings queue themselves behind the current work: wait until nothing new was queued.
    while (seen !== this.#c.busy) {
      seen = this.#c.busy;
      await seen;
    }
  }

  /** The back office took (or closed) the help call. */
  setHelpCall(state: 'none' | 'requested' | 'taken'): void {
    this.#c.helpCall = state;
    if (state === 'none') this.#c.helpCallId = null;
    this.#changed();
  }

  /**
   * The back office changed a reservation. A customer whose reservation was cancelled before
   * any door opened is sent back to the start politely; once a door is open, the journey
   * finishes as it is (the back office refuses to cancel then anyway).
   */
  reservationChanged(id: string, change: string): void {
    const s = this.#c.session;
    if (!s || s.reservationId !== id) return;
    // The payment screen promises that the door opens as soon as the payment is confirmed.
    if (change === 'payment' && s.step === 'payment') {
      this.#c.busy = this.#c.busy
        .then(() => paymentChanged(this.#c, s))
        .catch((error: unknown) => this.#c.log.error({ err: describeError(error) }, 'payment status not applied to the journey'));
      return;
    }
    if (change !== 'cancelled') return;
    if (s.doorOpened || s.step === 'opening') return;
    void endQueued(this.#c, 'cancelled').then(() => {
      this.#c.error = { code: 'NOT_FOUND' };
      this.#changed();
    });
  }

  /** Stop timers (shutdown). An unfinished session is left to recovery at next start. */
  stop(): void {
    this.#c.clearTimers();
    this.#c.receipt.stop();
  }

  /** receipt.link: whether the customer who asked for a QR receipt for this reservation is to be shown it. */
  receiptLinkAccepted(reservationId: string): boolean {
    return this.#c.receipt.accepts(reservationId);
  }

  /** receipt.link, after its commit: the QR on the top screen for 60 s. */
  showReceiptLink(reservationId: string, link: string): void {
    this.#c.receipt.showLink(reservationId, link).catch((error: unknown) => this.#c.log.error({ err: describeError(error) }, 'receipt QR not shown'));
  }

  view(): SessionView {
    const s = this.#c.session;
    const r = this.#c.reservation;
    const step = s?.step ?? 'welcome';
    return {
      sessionId: s?.id ?? null,
      journey: s?.journey ?? null,
      step,
      lang: this.#c.lang,
      progress: s ? progressOf(s.journey, step) : null,
      identifyMode: s?.identifyMode ?? 'pin',
      error: this.#c.error,
      destinations: s?.destinations ?? [],
      reservation: reservationSummary(r, s),
      compartment: s?.compartment ?? null,
      door: s?.compartment ? this.#c.o.locks.doorState(s.compartment) : null,
      payment: paymentSummary(r, s) && r ? this.#c.payment.view(r) : null,
      receipt: step === 'receipt' ? this.#c.receipt.view(r, this.#c.payment.receiptChannel()) : null,
      idleWarning: this.#c.idleWarning,
      idleEnds: s ? endingOf(settlementNow(this.#c, s)) : null,
      itemInside: s?.compartment ? this.#c.itemPresent(s.compartment) : null,
      confirmAbandon: this.#c.confirmAbandon,
      helpOpen: this.#c.helpOpen,
      helpCall: this.#c.helpCall,
      link: this.#c.o.linkState?.() ?? 'offline',
      outOfOrder: this.#c.o.outOfOrder?.() ?? false,
      offer: {
        callHelp: this.#c.error !== null || step === 'locked-out' || step === 'failed',
        switchJourney: s?.switchOffer ? (s.journey === 'pickup' ? 'dropoff' : 'pickup') : null,
      },
    };
  }

  topView(): TopView {
    const top = topViewOf(this.view());
    // The receipt QR outlives the session (60 s); the payment QR lives on the payment step.
    const qr = this.#c.session?.step === 'payment' ? this.#c.payment.qr() : this.#c.receipt.qr();
    return qr ? { ...top, qr } : top;
  }

  async #handle(action: SessionAction): Promise<SessionView> {
    // A touch, the help panel or another language keep the error on screen; anything the
    // customer asks for anew replaces it.
    if (!['activity', 'help', 'language'].includes(action.type)) this.#c.error = null;
    try {
      await this.#apply(action);
    } catch (error) {
      if (!isDomainError(error)) {
        this.#c.log.error({ err: describeError(error), action: action.type }, 'action failed');
        this.#c.error = { code: 'SERVER' };
        this.#changed();
        throw new DomainError('SERVER', 'internal error');
      }
      this.#c.error = { code: error.code, ...error.params };
      this.#changed();
      throw error;
    }
    this.#changed();
    return this.view();
  }

  async #apply(action: SessionAction): Promise<void> {
    // Any touch keeps the session alive; anything asked anew withdraws a journey switch on offer.
    if (this.#c.session) this.#c.armIdle();
    if (this.#c.session && !['activity', 'help', 'language', 'callHelp', 'switchJourney'].includes(action.type)) this.#c.session.switchOffer = null;
    switch (action.type) {
      case 'activity':
        return;
      case 'language':
        this.#c.lang = action.lang;
        return;
      case 'help':
        this.#c.helpOpen = action.open;
        return;
      case 'callHelp':
        return callHelp(this.#c);
      case 'start':
        return this.#start(action.journey);
      case 'abandon':
        this.#c.requireSession();
        if (this.#c.session?.step === 'opening') throw new DomainError('BAD_ACTION', 'a compartment is opening');
        if (this.#c.session?.step === 'close-door') throw new DomainError('BAD_ACTION', 'already abandoned: close the door');
        this.#c.confirmAbandon = true;
        return;
      case 'abandonCancel':
        this.#c.confirmAbandon = false;
        return;
      case 'abandonConfirm':
        this.#c.requireSession();
        if (!this.#c.confirmAbandon) throw new DomainError('BAD_ACTION', 'abandon was not asked');
        return abandon(this.#c);
      case 'identifyMode':
        return setIdentifyMode(this.#c, action.mode);
      case 'back':
        return back(this.#c);
      case 'pin':
        return enterPin(this.#c, action.pin);
      case 'switchJourney':
        return switchJourney(this.#c);
      case 'lookup':
        return lookup(this.#c, action.by, action.value);
      case 'sendPin':
        return sendPin(this.#c);
      case 'details':
        return details(this.#c, action.phone, action.remark);
      case 'confirm':
        return confirm(this.#c);
      case 'payVipps':
        return this.#c.payment.payVipps(await this.#c.freshReservation(this.#c.requireStep('payment')), action.phone);
      case 'checkPayment':
        return this.#c.payment.check(await this.#c.freshReservation(this.#c.requireStep('payment')));
      case 'clubConsent':
        return this.#c.payment.clubConsent(await this.#c.freshReservation(this.#c.requireStep('payment')), action.consent);
      case 'receipt':
        return chooseReceipt(this.#c, action.channel, action.to ?? null);
    }
  }

  // --- steps -----------------------------------------------------------------------------

  #start(journey: JourneyKind | null): void {
    if (this.#c.session) throw new DomainError('BAD_ACTION', 'a session is already running');
    this.#c.session = newSession(journey);
    this.#c.reservation = null;
    this.#c.helpOpen = false;
    this.#c.move('start');
    this.#c.log.info({ session: this.#c.session.id, journey }, 'session started');
    this.#c.armIdle();
  }

  // --- helpers -------------------------------------------------------------------------------

  #onDoor(compartment: number, state: 'open' | 'closed'): void {
    const s = this.#c.session;
    if (!s || s.compartment !== compartment) return;
    if (state === 'open') s.doorOpened = true;
    // The customer handling the door is there: the idle time starts again.
    if (s.step === 'place-key' || s.step === 'take-key' || s.step === 'close-door') this.#c.armIdle();
    if (state === 'closed' && s.step === 'close-door') closedAfterAbandon(this.#c, s, compartment);
    this.#changed();
  }

  #changed(): void {
    this.events.emit('changed');
  }
}
