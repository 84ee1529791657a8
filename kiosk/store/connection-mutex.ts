/**
 * The lock that keeps the process's one SQLite connection to one holder at a time (store/db.ts:
 * a statement, or a transaction from BEGIN to COMMIT).
 */
import { StoreError } from './errors.js';

/**
 * A FIFO lock: each holder gets a release function; waiters run in arrival order. A waiter
 * gives up (DB_WAIT_TIMEOUT) when it finds the current holder has held the lock longer than
 * `maxHoldWaitMs`; its turn, when it comes, is passed straight on.
 */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();
  /** When the current holder took the lock (monotonic ms), or null while it is free. */
  #heldSince: number | null = null;
  /** Callers waiting for their turn (not the holder). */
  #waiting = 0;
  readonly #now: () => number;
  readonly #maxHoldWaitMs: number;

  constructor(now: () => number, maxHoldWaitMs: number) {
    this.#now = now;
    this.#maxHoldWaitMs = maxHoldWaitMs;
  }

  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolvePromise) => {
      release = resolvePromise;
    });
    const previous = this.#tail;
    this.#tail = previous.then(() => held);
    this.#waiting += 1;
    return new Promise((resolvePromise, reject) => {
      let gaveUp = false;
      // Looks again when the holder's time would be up (the holder may have changed meanwhile).
      const check = (): void => {
        const heldMs = this.heldForMs();
        if (heldMs > this.#maxHoldWaitMs) {
          gaveUp = true;
          this.#waiting -= 1;
          reject(
            new StoreError(
              'DB_WAIT_TIMEOUT',
              `waited behind one holder of the database for over ${this.#maxHoldWaitMs} ms: a db call from inside its own transaction (use the tx passed to the callback), or a statement that does not return`,
            ),
          );
          return;
        }
        timer = setTimeout(check, this.#maxHoldWaitMs - heldMs + 1);
        timer.unref();
      };
      let timer: NodeJS.Timeout = setTimeout(check, this.#maxHoldWaitMs + 1);
      timer.unref();
      void previous.then(() => {
        clearTimeout(timer);
        if (gaveUp) {
          release();
          return;
        }
        this.#waiting -= 1;
        this.#heldSince = this.#now();
        let released = false;
        resolvePromise(() => {
          if (released) return;
          released = true;
          this.#heldSince = null;
          release();
        });
      });
    });
  }

  heldForMs(): number {
    return this.#heldSince === null ? 0 : Math.max(0, this.#now() - this.#heldSince);
  }

  /** How many callers wait for the lock. */
  waiting(): number {
    return this.#waiting;
  }
}
