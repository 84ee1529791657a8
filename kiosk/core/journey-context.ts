/**
 * The state one customer session shares across the journey's modules (journeys.ts is the
 * facade; journey-steps.ts, journey-open.ts and journey-endings.ts act on this), with the
 * small helpers every step needs: move through the state machine, the idle timer, the one
 * queue that runs actions and endings one at a time.
 */
import type { Logger } from 'pino';
import type { Language } from '../config/schema.js';
import { DomainError } from '../errors.js';
import type { Identify } from './identify.js';
import type { PaymentStep } from './payment-step.js';
import type { ReceiptStep } from './receipt-step.js';
import type { Session } from './session.js';
import { nextStep, type SessionEvent } from './session-machine.js';
import { idleLimitFor, type IdleLimits, type SessionTimers } from './session-timers.js';
import type { SessionStep, SessionView } from './session-view.js';
import type { Reservation } from './types.js';
import type { JourneyOptions } from './journeys.js';

export type JourneySettings = Required<Omit<JourneyOptions, 'linkState' | 'outOfOrder' | 'pinHashing' | 'throttles' | 'idleLimits' | 'renderQr'>> &
  Pick<JourneyOptions, 'linkState' | 'outOfOrder'>;

export type EndReason = 'finished' | 'idle' | 'cancelled' | 'abandoned';

export class JourneyContext {
  lang: Language;
  session: Session | null = null;
  reservation: Reservation | null = null;
  error: SessionView['error'] = null;
  confirmAbandon = false;
  helpOpen = false;
  helpCall: SessionView['helpCall'] = 'none';
  helpCallId: string | null = null;
  idleWarning: number | null = null;
  /** Every action and ending runs behind the previous one. */
  busy: Promise<unknown> = Promise.resolve();
  /** Set by the facade: ends the session when the idle time runs out (journey-endings.ts). */
  onIdle: () => void = () => undefined;

  constructor(
    readonly o: JourneySettings,
    readonly idleLimits: IdleLimits,
    readonly log: Logger,
    readonly timers: SessionTimers,
    readonly identify: Identify,
    readonly payment: PaymentStep,
    readonly receipt: ReceiptStep,
    readonly changed: () => void,
  ) {
    this.lang = o.defaultLanguage;
  }

  move(event: SessionEvent): void {
    const s = this.requireSession();
    const to = nextStep(s.journey, s.step, event);
    if (to === null) throw new DomainError('BAD_ACTION', `${event} is not allowed at ${s.step}`);
    const changed = s.step !== to;
    s.step = to;
    // Each step has its own idle limit: a new step starts its own.
    if (changed && to !== 'welcome') this.armIdle();
  }

  requireSession(): Session {
    if (!this.session) throw new DomainError('BAD_ACTION', 'no session: start one first');
    return this.session;
  }

  requireStep(step: SessionStep): Session {
    const s = this.requireSession();
    if (s.step !== step) throw new DomainError('BAD_ACTION', `not allowed at ${s.step}`);
    return s;
  }

  async freshReservation(s: Session): Promise<Reservation> {
    const reservation = s.reservationId ? await this.o.store.reservation(s.reservationId) : null;
    if (!reservation || reservation.status === 'cancelled') throw new DomainError('NOT_FOUND', 'the reservation is no longer valid');
    this.reservation = reservation;
    return reservation;
  }

  itemPresent(compartment: number): boolean | null {
    return this.o.locks.itemPresent?.(compartment) ?? null;
  }

  // --- timers ------------------------------------------------------------------------------

  armIdle(): void {
    this.clearIdle();
    const s = this.session;
    // "done" and "locked-out" end on their own timers, never by inactivity.
    if (!s || s.step === 'done' || s.step === 'locked-out') return;
    const limit = idleLimitFor(s.step, this.idleLimits);
    this.timers.armIdle(limit, Math.min(this.o.idleWarningMs, limit - 1000), (secondsLeft) => {
      if (this.session !== s) return false;
      if (secondsLeft <= 0) {
        this.onIdle();
        return false;
      }
      this.idleWarning = secondsLeft;
      this.changed();
      return true;
    });
  }

  scheduleStep(ms: number, fn: () => void): void {
    this.timers.step(ms, fn);
  }

  clearIdle(): void {
    this.timers.clearIdle();
    this.idleWarning = null;
  }

  clearTimers(): void {
    this.timers.clearAll();
    this.idleWarning = null;
  }
}
