/**
 * The two kinds of timer a session has, kept apart on purpose:
 * - the inactivity timer, re-armed by every touch: a warning that counts down, then the end;
 * - step timers (the end of a lockout, "thank you"), which a touch must never cancel.
 */
import type { Clock } from '../lib/clock.js';

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
