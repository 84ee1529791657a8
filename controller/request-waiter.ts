/**
 * Request/reply matching for links that answer asynchronously (a serial bus, a socket): a
 * caller registers what it expects before sending, incoming items are offered to the
 * waiters, and a waiter that sees nothing matching in time rejects with BOARD_TIMEOUT.
 * Knows nothing about any protocol; time comes from the injected Clock.
 */
import type { Clock } from '../kiosk/lib/clock.js';
import { HardwareError } from './errors.js';

export interface PendingRequest<T> {
  /** Resolves with the first matching item; rejects with BOARD_TIMEOUT or a rejectAll error. */
  readonly promise: Promise<T>;
  /** Stop waiting (e.g. the request could not be sent). The promise then never settles. */
  cancel(): void;
}

interface Waiter<T> {
  readonly predicate: (item: T) => boolean;
  readonly resolve: (item: T) => void;
  readonly reject: (error: Error) => void;
  readonly timer: unknown;
}

export class RequestWaiter<T> {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter<T>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Waiters still pending. */
  get pending(): number {
    return this.#waiters.size;
  }

  /**
   * Wait for an item that satisfies `predicate`. Register before sending the request, so a
   * fast reply is not missed. `describe` goes into the timeout message and must name the
   * board, channel and command, e.g. "board 1 channel 3 command query (0x30)".
   */
  waitFor(predicate: (item: T) => boolean, timeoutMs: number, describe: string): PendingRequest<T> {
    let waiter: Waiter<T> | undefined;
    const promise = new Promise<T>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (waiter) this.#waiters.delete(waiter);
        reject(new HardwareError('BOARD_TIMEOUT', `${describe}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      waiter = { predicate, resolve, reject, timer };
      this.#waiters.add(waiter);
    });
    // The caller awaits only after sending its request, and the link may fail (rejectAll)
    // during the send: that early rejection must not count as unhandled.
    promise.catch(() => undefined);
    return {
      promise,
      cancel: () => {
        if (waiter && this.#waiters.delete(waiter)) this.#clock.clearTimeout(waiter.timer);
      },
    };
  }

  /**
   * Offer an incoming item. The oldest waiter it matches takes it; returns false if none did
   * (an unsolicited or stale item, which the caller may log).
   */
  deliver(item: T): boolean {
    for (const waiter of this.#waiters) {
      if (!waiter.predicate(item)) continue;
      this.#settle(waiter);
      waiter.resolve(item);
      return true;
    }
    return false;
  }

  /** Reject every pending waiter with `error` (the link closed or failed). */
  rejectAll(error: Error): void {
    for (const waiter of [...this.#waiters]) {
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  #settle(waiter: Waiter<T>): void {
    this.#waiters.delete(waiter);
    this.#clock.clearTimeout(waiter.timer);
  }
}
