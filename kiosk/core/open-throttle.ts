/**
 * A rolling-window limit on door opens that no person at the locker asked for: staff opening a
 * compartment from the back office (core/remote-open.ts), and later a customer opening from a
 * link on their phone. At most `limit` opens in any `windowMs` (default: 4 a minute per
 * locker); one more is refused and the caller raises an alarm.
 *
 * Counted on the locker's MONOTONIC clock (kiosk/lib/clock.ts), never the wall clock: a date
 * moved by NTP or by hand neither forgets recent opens nor holds the locker shut for days.
 *
 * Not persisted: the monotonic clock starts again with the process, so remembered instants
 * would mean nothing after a restart; a restart is not something a remote caller can cause,
 * and it takes longer than the window's worth of opens it could forgive (four, once).
 */

/** What a caller of a throttled open needs: take a slot or be told when one frees up. */
export interface OpenThrottle {
  /** Takes a slot now; refused when `limit` opens already happened in the last window. */
  take(): ThrottleDecision;
  /** Opens counted in the current window (for status pages and tests). */
  used(): number;
}

export type ThrottleDecision = { ok: true; remaining: number } | { ok: false; retryAfterMs: number; limit: number; windowMs: number };

export interface RollingWindowOptions {
  /** Opens allowed in one window, 1 or more. */
  limit: number;
  /** The window's length in ms (60 000 for "a minute"). */
  windowMs: number;
  /** Monotonic milliseconds (Clock.now of kiosk/lib/clock.ts). */
  now: () => number;
}

export class RollingWindowThrottle implements OpenThrottle {
  readonly #o: RollingWindowOptions;
  /** Monotonic instants of the opens still inside the window, oldest first (at most `limit`). */
  #taken: number[] = [];

  constructor(options: RollingWindowOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('limit must be a whole number of 1 or more');
    if (!(options.windowMs > 0)) throw new RangeError('windowMs must be more than 0');
    this.#o = options;
  }

  take(): ThrottleDecision {
    const now = this.#o.now();
    this.#forget(now);
    const { limit, windowMs } = this.#o;
    if (this.#taken.length >= limit) {
      const oldest = this.#taken[0] ?? now;
      return { ok: false, retryAfterMs: Math.max(1, oldest + windowMs - now), limit, windowMs };
    }
    this.#taken.push(now);
    return { ok: true, remaining: limit - this.#taken.length };
  }

  used(): number {
    this.#forget(this.#o.now());
    return this.#taken.length;
  }

  #forget(now: number): void {
    this.#taken = this.#taken.filter((at) => now - at < this.#o.windowMs);
  }
}
