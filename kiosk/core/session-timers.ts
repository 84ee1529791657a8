/**
 * The two kinds of timer a session has, kept apart on purpose:
 * - the inactivity timer, re-armed by every touch: a warning that counts down, then the end;
 * - step timers (the end of a lockout, "thank you"), which a touch must never cancel.
 */
import type { Clock } from '../lib/clock.js';
import type { SessionStep } from './session-view.js';

/**
 * How long each kind of step may go untouched (issue 7, point 9): typing a PIN, a plate or
 * details is quick; a customer at an open compartment, paying on their phone, or waiting for
 * a PIN by SMS needs longer.
 */
export interface IdleLimits {
  /** Typing and choosing: identify, lookup-result, details, payment-less steps (default 60 s). */
  inputMs: number;
  /** At an open compartment: place-key, take-key, close-door (default 180 s). */
  doorMs: number;
  /** Waiting for a payment made on the phone (default 300 s). */
  paymentMs: number;
  /** "The PIN is on its way" (default 180 s). */
  pinWaitMs: number;
}

export const DEFAULT_IDLE_LIMITS: IdleLimits = { inputMs: 60_000, doorMs: 180_000, paymentMs: 300_000, pinWaitMs: 180_000 };

/** The idle limit of a step. */
export function idleLimitFor(step: SessionStep, limits: IdleLimits): number {
  switch (step) {
    case 'place-key':
    case 'take-key':
    case 'close-door':
      return limits.doorMs;
    case 'payment':
      return limits.paymentMs;
    case 'lookup-sent':
      return limits.pinWaitMs;
    default:
      return limits.inputMs;
  }
}

export class SessionTimers {
  readonly #clock: Clock;
  #idle: unknown[] = [];
  #steps: unknown[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * (Re)arm inactivity: after `timeoutMs - warningMs`, `tick(secondsLeft)` is called once a
   * second counting down from `warningMs / 1000`; `tick(0)` means the time is up. The
   * countdown stops early when `tick` returns false.
   */
  armIdle(timeoutMs: number, warningMs: number, tick: (secondsLeft: number) => boolean): void {
    this.clearIdle();
    const countdown = (secondsLeft: number): void => {
      if (tick(secondsLeft) && secondsLeft > 0) this.#idle.push(this.#clock.setTimeout(() => countdown(secondsLeft - 1), 1000));
    };
    this.#idle.push(this.#clock.setTimeout(() => countdown(Math.round(warningMs / 1000)), timeoutMs - warningMs));
  }

  clearIdle(): void {
    for (const timer of this.#idle) this.#clock.clearTimeout(timer);
    this.#idle = [];
  }

  /** A timer that belongs to the current step; only clearAll() cancels it. */
  step(ms: number, fn: () => void): void {
    this.#steps.push(this.#clock.setTimeout(fn, ms));
  }

  clearAll(): void {
    this.clearIdle();
    for (const timer of this.#steps) this.#clock.clearTimeout(timer);
    this.#steps = [];
  }
}
