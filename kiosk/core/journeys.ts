/**
 * The customer at the bottom screen: one session at a time, driven through the state machine
 * of session-machine.ts. This service decides (is the PIN right, may the door open, what must
 * be written) and renders the result as a SessionView; it never touches hardware or SQL
 * directly, only the ports.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { Country, Language } from '../config/schema.js';
import { DomainError, describeError, isDomainError } from '../errors.js';
import { cleanText } from './actions.js';
import { Actuator } from './actuator.js';
import { Identify, type IdentifyThrottles } from './identify.js';
import { normalisePhone } from './normalise.js';
import { PaymentStep } from './payment-step.js';
import { RECEIPT_STEP_MS, ReceiptStep } from './receipt-step.js';
import type { UnitPinHashing } from './pin.js';
import type { JourneyStore, LockPort, PinGuard } from './ports.js';
import { paymentSummary, reservationSummary, topViewOf } from './render.js';
import { newSession, type Session } from './session.js';
import { mayChooseJourney, nextStep, progressOf, type SessionEvent } from './session-machine.js';
import { DEFAULT_IDLE_LIMITS, idleLimitFor, SessionTimers, type IdleLimits } from './session-timers.js';
import { endingOf, recordSettlement, settle, type Leaving, type Settlement } from './door-settlement.js';
import type { IdentifyMode, JourneyKind, SessionAction, SessionStep, SessionView, TopView } from './session-view.js';
import type { Reservation } from './types.js';

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

const MAX_COMPARTMENT_TRIES = 2;

export class Journeys {
  readonly events = new EventEmitter<JourneyEvents>();
  readonly #o: Required<Omit<JourneyOptions, 'linkState' | 'outOfOrder' | 'pinHashing' | 'throttles' | 'idleLimits' | 'renderQr'>> & Pick<JourneyOptions, 'linkState' | 'outOfOrder'>;
  readonly #idleLimits: IdleLimits;
  readonly #log: Logger;
  #lang: Language;
  #session: Session | null = null;
  #reservation: Reservation | null = null;
  #error: SessionView['error'] = null;
  #confirmAbandon = false;
  #helpOpen = false;
  #helpCall: SessionView['helpCall'] = 'none';
  #helpCallId: string | null = null;
  #idleWarning: number | null = null;
  readonly #timers: SessionTimers;
  readonly #identify: Identify;
  readonly #payment: PaymentStep;
  readonly #receipt: ReceiptStep;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(options: JourneyOptions) {
    this.#o = { idleTimeoutMs: 60_000, idleWarningMs: 10_000, doneMs: 8_000, ...options };
    this.#idleLimits = { ...DEFAULT_IDLE_LIMITS, ...options.idleLimits, inputMs: this.#o.idleTimeoutMs };
    this.#log = options.logger;
    this.#lang = options.defaultLanguage;
    this.#timers = new SessionTimers(options.clock);
    this.#identify = new Identify(options);
    this.#payment = new PaymentStep({ store: options.store, defaultCountry: options.defaultCountry, logger: options.logger, renderQr: options.renderQr });
    this.#receipt = new ReceiptStep({ store: options.store, clock: options.clock, renderQr: options.renderQr, changed: () => this.#changed() });
    this.#o.locks.events.on('doorClosed', (id) => this.#onDoor(id, 'closed'));
    this.#o.locks.events.on('doorOpened', (id) => this.#onDoor(id, 'open'));
  }

  /** Handle one action from the bottom screen, one at a time. Throws DomainError to refuse. */
  dispatch(action: SessionAction): Promise<SessionView> {
    const run = this.#busy.then(() => this.#handle(action));
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every action and ending queued so far has run (shutdown, tests). */
  async settled(): Promise<void> {
    let seen: Promise<unknown> | null = null;
    // Endings queue themselves behind the current work: wait until nothing new was queued.
    while (seen !== this.#busy) {
      seen = this.#busy;
      await seen;
    }
  }

  /** The back office took (or closed) the help call. */
  setHelpCall(state: 'none' | 'requested' | 'taken'): void {
    this.#helpCall = state;
    if (state === 'none') this.#helpCallId = null;
    this.#changed();
  }

  /**
   * The back office changed a reservation. A customer whose reservation was cancelled before
   * any door opened is sent back to the start politely; once a door is open, the journey
   * finishes as it is (the back office refuses to cancel then anyway).
   */
  reservationChanged(id: string, change: string): void {
    const s = this.#session;
    if (!s || s.reservationId !== id) return;
    // The payment screen promises that the door opens as soon as the payment is confirmed.
    if (change === 'payment' && s.step === 'payment') {
      this.#busy = this.#busy
        .then(() => this.#paymentChanged(s))
        .catch((error: unknown) => this.#log.error({ err: describeError(error) }, 'payment status not applied to the journey'));
      return;
    }
    if (change !== 'cancelled') return;
    if (s.doorOpened || s.step === 'opening') return;
    void this.#endQueued('cancelled').then(() => {
      this.#error = { code: 'NOT_FOUND' };
      this.#changed();
    });
  }

  /** Stop timers (shutdown). An unfinished session is left to recovery at next start. */
  stop(): void {
    this.#clearTimers();
    this.#receipt.stop();
  }

  /** receipt.link: whether the customer who asked for a QR receipt for this reservation is to be shown it. */
  receiptLinkAccepted(reservationId: string): boolean {
    return this.#receipt.accepts(reservationId);
  }

  /** receipt.link, after its commit: the QR on the top screen for 60 s. */
  showReceiptLink(reservationId: string, link: string): void {
    this.#receipt.showLink(reservationId, link).catch((error: unknown) => this.#log.error({ err: describeError(error) }, 'receipt QR not shown'));
  }

  view(): SessionView {
    const s = this.#session;
    const r = this.#reservation;
    const step = s?.step ?? 'welcome';
    return {
      sessionId: s?.id ?? null,
      journey: s?.journey ?? null,
      step,
      lang: this.#lang,
      progress: s ? progressOf(s.journey, step) : null,
      identifyMode: s?.identifyMode ?? 'pin',
      error: this.#error,
      destinations: s?.destinations ?? [],
      reservation: reservationSummary(r, s),
      compartment: s?.compartment ?? null,
      door: s?.compartment ? this.#o.locks.doorState(s.compartment) : null,
      payment: paymentSummary(r, s) && r ? this.#payment.view(r) : null,
      receipt: step === 'receipt' ? this.#receipt.view(r, this.#payment.receiptChannel()) : null,
      idleWarning: this.#idleWarning,
      idleEnds: s ? endingOf(this.#settlementNow(s)) : null,
      itemInside: s?.compartment ? this.#itemPresent(s.compartment) : null,
      confirmAbandon: this.#confirmAbandon,
      helpOpen: this.#helpOpen,
      helpCall: this.#helpCall,
      link: this.#o.linkState?.() ?? 'offline',
      outOfOrder: this.#o.outOfOrder?.() ?? false,
      offer: {
        callHelp: this.#error !== null || step === 'locked-out' || step === 'failed',
        switchJourney: s?.switchOffer ? (s.journey === 'pickup' ? 'dropoff' : 'pickup') : null,
      },
    };
  }

  topView(): TopView {
    const top = topViewOf(this.view());
    // The receipt QR outlives the session (60 s); the payment QR lives on the payment step.
    const qr = this.#session?.step === 'payment' ? this.#payment.qr() : this.#receipt.qr();
    return qr ? { ...top, qr } : top;
  }

  async #handle(action: SessionAction): Promise<SessionView> {
    // A touch, the help panel or another language keep the error on screen; anything the
    // customer asks for anew replaces it.
    if (!['activity', 'help', 'language'].includes(action.type)) this.#error = null;
    try {
      await this.#apply(action);
    } catch (error) {
      if (!isDomainError(error)) {
        this.#log.error({ err: describeError(error), action: action.type }, 'action failed');
        this.#error = { code: 'SERVER' };
        this.#changed();
        throw new DomainError('SERVER', 'internal error');
      }
      this.#error = { code: error.code, ...error.params };
      this.#changed();
      throw error;
    }
    this.#changed();
    return this.view();
  }

  async #apply(action: SessionAction): Promise<void> {
    // Any touch keeps the session alive; anything asked anew withdraws a journey switch on offer.
    if (this.#session) this.#armIdle();
    if (this.#session && !['activity', 'help', 'language', 'callHelp', 'switchJourney'].includes(action.type)) this.#session.switchOffer = null;
    switch (action.type) {
      case 'activity':
        return;
      case 'language':
        this.#lang = action.lang;
        return;
      case 'help':
        this.#helpOpen = action.open;
        return;
      case 'callHelp':
        return this.#callHelp();
      case 'start':
        return this.#start(action.journey);
      case 'abandon':
        this.#requireSession();
        if (this.#session?.step === 'opening') throw new DomainError('BAD_ACTION', 'a compartment is opening');
        if (this.#session?.step === 'close-door') throw new DomainError('BAD_ACTION', 'already abandoned: close the door');
        this.#confirmAbandon = true;
        return;
      case 'abandonCancel':
        this.#confirmAbandon = false;
        return;
      case 'abandonConfirm':
        this.#requireSession();
        if (!this.#confirmAbandon) throw new DomainError('BAD_ACTION', 'abandon was not asked');
        return this.#abandon();
      case 'identifyMode':
        return this.#setIdentifyMode(action.mode);
      case 'back':
        return this.#back();
      case 'pin':
        return this.#enterPin(action.pin);
      case 'switchJourney':
        return this.#switchJourney();
      case 'lookup':
        return this.#lookup(action.by, action.value);
      case 'sendPin':
        return this.#sendPin();
      case 'details':
        return this.#details(action.phone, action.remark);
      case 'confirm':
        return this.#confirm();
      case 'payVipps':
        return this.#payment.payVipps(await this.#freshReservation(this.#requireStep('payment')), action.phone);
      case 'checkPayment':
        return this.#payment.check(await this.#freshReservation(this.#requireStep('payment')));
      case 'receipt':
        return this.#chooseReceipt(action.channel);
    }
  }

  // --- steps -----------------------------------------------------------------------------

  #start(journey: JourneyKind | null): void {
    if (this.#session) throw new DomainError('BAD_ACTION', 'a session is already running');
    this.#session = newSession(journey);
    this.#reservation = null;
    this.#helpOpen = false;
    this.#move('start');
    this.#log.info({ session: this.#session.id, journey }, 'session started');
    this.#armIdle();
  }

  async #setIdentifyMode(mode: IdentifyMode): Promise<void> {
    const s = this.#requireSession();
    if (s.step === 'locked-out') await this.#leaveLockout(s);
    if (s.step !== 'identify') {
      this.#move('retryIdentify');
    }
    s.identifyMode = mode;
  }

  async #back(): Promise<void> {
    const s = this.#requireSession();
    if (s.step === 'locked-out') return this.#leaveLockout(s);
    if (s.step === 'identify' && s.identifyMode !== 'pin') {
      s.identifyMode = 'pin';
      return;
    }
    this.#move('retryIdentify');
  }

  async #enterPin(pin: string): Promise<void> {
    const s = this.#requireStep('identify');
    let verdict;
    try {
      verdict = await this.#identify.checkPin(s, pin);
    } catch (error) {
      // Two bookings share this PIN: the plate decides (the keyboard comes up with the message).
      if (isDomainError(error) && error.code === 'PIN_AMBIGUOUS') s.identifyMode = 'plate';
      throw error;
    }
    if (verdict.kind === 'locked') return this.#lockOut(verdict.lockedForMs);
    if (verdict.kind === 'otherJourney') {
      s.switchOffer = verdict.reservation.id;
      throw new DomainError('PIN_OTHER_JOURNEY', `this PIN is for ${verdict.reservation.kind}`, { journey: verdict.reservation.kind });
    }
    await this.#identified(s, verdict.reservation);
  }

  /** "This PIN is for picking up": the customer takes the offer; the PIN is not asked again. */
  async #switchJourney(): Promise<void> {
    const s = this.#requireStep('identify');
    const offered = s.switchOffer;
    if (offered === null) throw new DomainError('BAD_ACTION', 'no other journey is on offer');
    s.switchOffer = null;
    const reservation = await this.#identify.confirmSwitch(offered);
    await this.#identified(s, reservation);
  }

  async #identified(s: Session, reservation: Reservation): Promise<void> {
    // The PIN decides the journey ("I have a PIN", or a switch the customer accepted).
    if (s.journey !== reservation.kind) {
      if (!mayChooseJourney(s.step)) throw new DomainError('BAD_ACTION', `the journey cannot change at ${s.step}`);
      s.journey = reservation.kind;
    }
    s.reservationId = reservation.id;
    this.#reservation = reservation;
    this.#log.info({ session: s.id, reservation: reservation.id, journey: s.journey }, 'customer identified');
    const opensNow = s.journey === 'pickup' && !(reservation.paymentRequired && reservation.paymentStatus !== 'paid');
    // A pickup that opens now writes nothing before the door's intent (one commit before the
    // pulse); its "identified" line follows the pulse.
    if (!opensNow) await this.#o.store.transaction((tx) => tx.timeline(reservation.id, 'identified', { session: s.id }));
    if (s.journey === 'dropoff') {
      this.#move('identified');
      return;
    }
    if (!opensNow) {
      this.#move('paymentNeeded');
      await this.#payment.enter(reservation);
      return;
    }
    this.#move('identified');
    s.compartment = reservation.compartmentId;
    await this.#openFor(s, reservation, { identifiedNow: true });
  }

  /** "Try again" on the lockout screen: allowed as soon as the lockout is over (its time, or staff lifted it). */
  async #leaveLockout(s: Session): Promise<void> {
    const left = await this.#o.pins.lockedFor(this.#o.wallClock());
    if (left !== null) throw new DomainError('LOCKED_OUT', 'wait until the lockout ends', { retryAfterS: Math.ceil(left / 1000) });
    this.#move('retryIdentify');
  }

  #lockOut(ms: number): void {
    const s = this.#requireSession();
    s.retryAfterS = Math.ceil(ms / 1000);
    this.#move('lockedOut');
    this.#error = { code: 'LOCKED_OUT', retryAfterS: s.retryAfterS };
    this.#clearIdle();
    this.#scheduleStep(ms, () => {
      if (this.#session === s && s.step === 'locked-out') {
        this.#move('retryIdentify');
        this.#error = null;
        this.#changed();
      }
    });
  }

  async #lookup(by: 'plate' | 'phone', value: string): Promise<void> {
    const s = this.#requireStep('identify');
    const { matches, destinations } = await this.#identify.lookup(s, by, value);
    s.lookupMatches = matches;
    s.destinations = destinations;
    this.#move('lookedUp');
  }

  async #sendPin(): Promise<void> {
    const s = this.#requireStep('lookup-result');
    await this.#identify.requestPinDelivery(s);
    this.#move('pinSent');
    s.identifyMode = 'pin';
  }

  #details(phone: string | null, remark: string | null): void {
    const s = this.#requireStep('details');
    if (phone !== null) {
      const normalised = normalisePhone(phone, this.#o.defaultCountry);
      if (!normalised.ok) throw new DomainError('PHONE_INVALID', 'that does not look like a mobile number');
      s.addedPhone = normalised.e164;
    } else {
      s.addedPhone = null;
    }
    const text = remark === null ? '' : cleanText(remark);
    s.remark = text === '' ? null : text;
  }

  async #confirm(): Promise<void> {
    const s = this.#requireSession();
    switch (s.step) {
      case 'details':
        return this.#confirmDetails(s);
      case 'payment':
        return this.#confirmPayment(s);
      case 'place-key':
      case 'take-key':
        return this.#finish(s);
      case 'done':
      case 'failed':
      case 'receipt': // "Finish" without a receipt
        return this.#end('finished');
      default:
        throw new DomainError('BAD_ACTION', `nothing to confirm at ${s.step}`);
    }
  }

  async #confirmDetails(s: Session): Promise<void> {
    const reservation = await this.#freshReservation(s);
    if (reservation.status !== 'booked') throw new DomainError('ALREADY_USED', 'the key was already dropped off');
    this.#move('confirmDetails');
    await this.#openFor(s, reservation);
  }

  /** A payment status arrived while the customer waits at the payment step: paid opens the door; any other status is shown. */
  async #paymentChanged(s: Session): Promise<void> {
    if (this.#session !== s || s.step !== 'payment') return;
    try {
      const reservation = await this.#freshReservation(s);
      // Each payment status starts the payment step's idle time again (bounded: none comes, it ends).
      this.#armIdle();
      await this.#payment.refresh(reservation);
      if (reservation.paymentStatus === 'paid') await this.#confirmPayment(s);
    } catch (error) {
      if (!isDomainError(error)) throw error;
      this.#error = { code: error.code, ...error.params };
    }
    this.#changed();
  }

  async #confirmPayment(s: Session): Promise<void> {
    const reservation = await this.#freshReservation(s);
    if (reservation.paymentRequired && reservation.paymentStatus !== 'paid') {
      throw new DomainError(reservation.paymentStatus === 'pending' ? 'PAYMENT_PENDING' : 'PAYMENT_REQUIRED', 'payment is needed before the door opens');
    }
    this.#move('paid');
    s.compartment = reservation.compartmentId;
    await this.#openFor(s, reservation);
  }

  /** Open the compartment for this journey: allocate (drop-off) or the reserved one (pickup). */
  async #openFor(s: Session, reservation: Reservation, options: { identifiedNow?: boolean } = {}): Promise<void> {
    this.#changed(); // show "opening" while the lock works
    const actor = `customer:${s.id}`;
    let opened = false;
    for (let attempt = 1; attempt <= MAX_COMPARTMENT_TRIES && !opened; attempt += 1) {
      const result =
        s.journey === 'dropoff'
          ? await this.#o.actuator.openNewFor(reservation, s.id, actor)
          : await this.#o.actuator.openReservedFor(reservation, s.id, actor);
      if (result.ok) {
        s.compartment = result.compartment;
        s.doorOpened = true;
        opened = true;
      } else if (!result.anotherMayOpen || s.journey === 'pickup') {
        // Another compartment only after a lock that jammed with its board answering: after a
        // board that did not answer (before or after the pulse), the next would meet the same.
        break;
      }
    }
    // After the pulse: a door opened for this customer is the only thing that ends a PIN streak.
    if (opened || options.identifiedNow) {
      const now = this.#o.wallClock();
      await this.#o.store.transaction(async (tx) => {
        if (options.identifiedNow) await tx.timeline(reservation.id, 'identified', { session: s.id });
        if (opened) await this.#o.pins.doorOpened(tx, reservation.id, now);
      });
    }
    if (opened) {
      this.#move('opened');
      return;
    }
    s.compartment = null;
    this.#move('openFailed');
    this.#error = { code: 'OPEN_FAILED' };
  }

  async #finish(s: Session): Promise<void> {
    const compartment = s.compartment;
    const reservationId = s.reservationId;
    if (compartment === null || reservationId === null) throw new DomainError('BAD_ACTION', 'no compartment is open');
    const door = this.#o.locks.doorState(compartment);
    if (door !== 'closed') throw new DomainError('DOOR_OPEN', 'close the door first');
    if (s.journey === 'dropoff') {
      await this.#o.actuator.deposited(compartment, reservationId, { addedPhone: s.addedPhone, remark: s.remark });
    } else {
      await this.#o.actuator.collected(compartment, reservationId);
    }
    this.#log.info({ session: s.id, compartment, journey: s.journey }, 'journey finished');
    s.compartment = null;
    const paid = s.journey === 'pickup' ? await this.#o.store.reservation(reservationId) : null;
    if (paid && ReceiptStep.offeredFor(paid)) {
      // A paid pickup: the receipt step, which moves on by itself.
      await this.#payment.refresh(paid);
      this.#reservation = paid;
      this.#move('receiptOffered');
      this.#scheduleStep(RECEIPT_STEP_MS, () => {
        if (this.#session === s && s.step === 'receipt') {
          this.#busy = this.#busy.then(() => this.#toDone(s)).then(() => this.#changed()).catch(() => undefined);
        }
      });
      return;
    }
    this.#toDone(s);
  }

  /** "Thank you", then back to welcome by itself. */
  #toDone(s: Session): void {
    if (this.#session !== s) return;
    this.#move('finished');
    this.#clearIdle();
    this.#scheduleStep(this.#o.doneMs, () => {
      if (this.#session === s && s.step === 'done') void this.#endQueued('finished');
    });
  }

  async #chooseReceipt(channel: 'sms' | 'email' | 'qr' | 'none'): Promise<void> {
    const s = this.#requireStep('receipt');
    if (channel !== 'none') {
      const reservation = s.reservationId ? await this.#o.store.reservation(s.reservationId) : null;
      if (!reservation) throw new DomainError('NOT_FOUND', 'the reservation is no longer valid');
      await this.#receipt.request(reservation, channel);
    }
    // A QR stays on this step (the top screen shows it) until the step's own timer moves on.
    if (channel !== 'qr') this.#toDone(s);
  }

  async #callHelp(): Promise<void> {
    if (this.#helpCall === 'requested' && this.#helpCallId) return; // one call at a time
    const s = this.#session;
    const callId = randomUUID();
    await this.#o.store.transaction((tx) =>
      tx.event('help.requested', { callId, step: s?.step ?? 'welcome', journey: s?.journey ?? null, compartment: s?.compartment ?? null }),
    );
    this.#helpCallId = callId;
    this.#helpCall = 'requested';
    this.#helpOpen = false; // the panel must not hide the "help is called" banner
    this.#log.info({ session: s?.id ?? null, callId }, 'help requested');
  }

  // --- endings -----------------------------------------------------------------------------

  /**
   * The customer confirmed the X. With the door of their compartment not seen closed, nothing
   * ends yet: "take your key back (leave the key in) and close door N"; the door closing (with
   * the item sensor, where fitted, agreeing) or the customer walking away ends it.
   */
  async #abandon(): Promise<void> {
    const s = this.#requireSession();
    this.#confirmAbandon = false;
    const atDoor = (s.step === 'place-key' || s.step === 'take-key') && s.compartment !== null;
    if (atDoor && this.#o.locks.doorState(s.compartment as number) !== 'closed') {
      this.#move('abandonOpen');
      this.#log.info({ session: s.id, compartment: s.compartment }, 'abandoned with the door open: asking to close it');
      return;
    }
    return this.#end('abandoned');
  }

  /** close-door: the door closed. It ends the session unless the item sensor shows the key where it should not be. */
  #closedAfterAbandon(s: Session, compartment: number): void {
    const item = this.#itemPresent(compartment);
    const asBefore = s.journey === 'dropoff' ? item !== true : item !== false;
    if (!asBefore) {
      this.#log.info({ session: s.id, compartment }, 'door closed after abandon, but the item sensor disagrees: asking again');
      return;
    }
    void this.#endQueued('abandoned');
  }

  /** What leaving now would record for the session's opened compartment; null when none was opened. */
  #settlementNow(s: Session): Settlement | null {
    if (s.compartment === null || !s.doorOpened || !s.journey || !s.reservationId) return null;
    const leaving: Leaving = s.step === 'close-door' ? 'undo' : 'finish';
    return settle(s.journey, leaving, this.#o.locks.doorState(s.compartment), this.#itemPresent(s.compartment));
  }

  #itemPresent(compartment: number): boolean | null {
    return this.#o.locks.itemPresent?.(compartment) ?? null;
  }

  #endQueued(reason: 'finished' | 'idle' | 'cancelled' | 'abandoned'): Promise<void> {
    const run = this.#busy.then(async () => {
      await this.#end(reason);
      this.#changed();
    });
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /**
   * Back to welcome. A door that was opened in this session and not properly finished leaves
   * the compartment's content uncertain: it is quarantined and never handed to anyone else.
   */
  async #end(reason: 'abandoned' | 'idle' | 'finished' | 'cancelled'): Promise<void> {
    const s = this.#session;
    this.#clearTimers();
    this.#confirmAbandon = false;
    this.#idleWarning = null;
    this.#helpOpen = false;
    this.#error = null;
    if (!s) return;
    if (s.compartment !== null && s.doorOpened && s.reservationId && s.journey) {
      // Leaving at "place the key" / "take the key" finishes the step (a closed door tells the
      // truth); an abandon undoes it; either way only a truly unknown content is quarantined.
      const leaving: Leaving = s.step === 'close-door' || reason === 'abandoned' ? 'undo' : 'finish';
      const settlement = settle(s.journey, leaving, this.#o.locks.doorState(s.compartment), this.#itemPresent(s.compartment));
      const recorded = await recordSettlement(this.#o.actuator, settlement, {
        compartment: s.compartment,
        reservationId: s.reservationId,
        journey: s.journey,
        reason,
        addedPhone: s.addedPhone,
        remark: s.remark,
      });
      this.#log.info({ session: s.id, compartment: s.compartment, reason, leaving, settlement: recorded.kind }, 'session ended after its door opened');
    }
    if (s.reservationId && reason !== 'finished') {
      await this.#o.store.transaction((tx) => tx.timeline(s.reservationId as string, 'session-ended', { reason, step: s.step }));
    }
    this.#log.info({ session: s.id, reason, step: s.step }, 'session ended');
    this.#session = null;
    this.#reservation = null;
    this.#payment.reset();
    this.#receipt.sessionEnded();
    this.#lang = this.#o.defaultLanguage; // the next customer starts in the locker's language
    if (this.#helpCall === 'taken') this.#helpCall = 'none';
  }

  // --- timers ------------------------------------------------------------------------------

  #armIdle(): void {
    this.#clearIdle();
    const s = this.#session;
    // "done" and "locked-out" end on their own timers, never by inactivity.
    if (!s || s.step === 'done' || s.step === 'locked-out') return;
    const limit = idleLimitFor(s.step, this.#idleLimits);
    this.#timers.armIdle(limit, Math.min(this.#o.idleWarningMs, limit - 1000), (secondsLeft) => {
      if (this.#session !== s) return false;
      if (secondsLeft <= 0) {
        void this.#endQueued('idle');
        return false;
      }
      this.#idleWarning = secondsLeft;
      this.#changed();
      return true;
    });
  }

  #scheduleStep(ms: number, fn: () => void): void {
    this.#timers.step(ms, fn);
  }

  #clearIdle(): void {
    this.#timers.clearIdle();
    this.#idleWarning = null;
  }

  #clearTimers(): void {
    this.#timers.clearAll();
    this.#idleWarning = null;
  }

  // --- helpers -------------------------------------------------------------------------------

  #onDoor(compartment: number, state: 'open' | 'closed'): void {
    const s = this.#session;
    if (!s || s.compartment !== compartment) return;
    if (state === 'open') s.doorOpened = true;
    // The customer handling the door is there: the idle time starts again.
    if (s.step === 'place-key' || s.step === 'take-key' || s.step === 'close-door') this.#armIdle();
    if (state === 'closed' && s.step === 'close-door') this.#closedAfterAbandon(s, compartment);
    this.#changed();
  }

  #move(event: SessionEvent): void {
    const s = this.#requireSession();
    const to = nextStep(s.journey, s.step, event);
    if (to === null) throw new DomainError('BAD_ACTION', `${event} is not allowed at ${s.step}`);
    const changed = s.step !== to;
    s.step = to;
    // Each step has its own idle limit: a new step starts its own.
    if (changed && to !== 'welcome') this.#armIdle();
  }

  #requireSession(): Session {
    if (!this.#session) throw new DomainError('BAD_ACTION', 'no session: start one first');
    return this.#session;
  }

  #requireStep(step: SessionStep): Session {
    const s = this.#requireSession();
    if (s.step !== step) throw new DomainError('BAD_ACTION', `not allowed at ${s.step}`);
    return s;
  }

  async #freshReservation(s: Session): Promise<Reservation> {
    const reservation = s.reservationId ? await this.#o.store.reservation(s.reservationId) : null;
    if (!reservation || reservation.status === 'cancelled') throw new DomainError('NOT_FOUND', 'the reservation is no longer valid');
    this.#reservation = reservation;
    return reservation;
  }

  #changed(): void {
    this.events.emit('changed');
  }
}
