/**
 * Whether the locker's wall clock can be trusted. The Pi has no real-time clock: after a power
 * cut it boots with the last time it saved, possibly days old, until NTP corrects it. Events
 * carry `at.clockSynchronised` so the back office knows whether to believe `at.wall`. (The
 * mechanic's QR tokens do not depend on it: they age on the monotonic clock, core/mechanic-token.ts.)
 *
 * Trusted when either:
 * - systemd-timesyncd says so: it creates /run/systemd/timesync/synchronized once the kernel
 *   clock is synchronised (the file is under /run, so it is gone after a reboot); or
 * - the back office's `welcome.serverTime` was within 5 s of our clock.
 */
import { existsSync } from 'node:fs';
import type { Logger } from '../logging.js';

export const TIMESYNC_FLAG_PATH = '/run/systemd/timesync/synchronized';
/** How far our clock may be from the back office's and still count as right. */
export const MAX_SERVER_SKEW_MS = 5000;
/** The flag file is looked at no more often than this (events ask for every message). */
const FLAG_CHECK_INTERVAL_MS = 1000;

export interface ClockStatusOptions {
  logger: Logger;
  wallClock?: () => Date;
  /** Monotonic ms since the service started: the same base as the outbox's `mono_time`. */
  monoClock: () => number;
  /** This service start's boot id: events stamped under another one cannot be vouched for. */
  bootId: string;
  /** Injectable for tests; null disables the file check. */
  flagPath?: string | null;
}

export class ClockStatus {
  readonly #log: Logger;
  readonly #wall: () => Date;
  readonly #mono: () => number;
  readonly #bootId: string;
  readonly #flagPath: string | null;
  #flag = false;
  #flagCheckedAtMono = Number.NEGATIVE_INFINITY;
  #serverAgrees = false;
  /** Our clock minus the back office's, from the last welcome; null before any. */
  #serverOffsetMs: number | null = null;
  /** Monotonic time since which the clock has been trusted without a break; null while it is not. */
  #trustedSinceMono: number | null = null;
  #last: boolean | null = null;

  constructor(options: ClockStatusOptions) {
    this.#log = options.logger;
    this.#wall = options.wallClock ?? (() => new Date());
    this.#mono = options.monoClock;
    this.#bootId = options.bootId;
    this.#flagPath = options.flagPath === undefined ? TIMESYNC_FLAG_PATH : options.flagPath;
    // Decide now, at start: a clock that becomes trusted later only vouches for later stamps.
    void this.synchronised;
  }

  /** Whether the wall clock is trustworthy now. */
  get synchronised(): boolean {
    const now = this.#mono();
    if (this.#flagPath !== null && now - this.#flagCheckedAtMono >= FLAG_CHECK_INTERVAL_MS) {
      this.#flagCheckedAtMono = now;
      this.#flag = existsSync(this.#flagPath);
    }
    return this.#update(this.#flag || this.#serverAgrees);
  }

  /** Our clock minus the back office's at the last welcome (ms), or null. */
  get serverOffsetMs(): number | null {
    return this.#serverOffsetMs;
  }

  /** The back office's time from a welcome. */
  observeServerTime(serverTime: string): void {
    const server = Date.parse(serverTime);
    if (Number.isNaN(server)) return;
    const offset = this.#wall().getTime() - server;
    this.#serverOffsetMs = offset;
    const agrees = Math.abs(offset) <= MAX_SERVER_SKEW_MS;
    if (!agrees && this.#serverAgrees !== agrees) {
      this.#log.warn({ offsetS: Math.round(offset / 1000) }, "the locker's clock differs from the back office's");
    }
    this.#serverAgrees = agrees;
    void this.synchronised; // log a change now rather than at the next question
  }

  /**
   * Whether an event stamped (bootId, mono) had a trustworthy wall time: the clock is trusted
   * now, the event is from this start, and it was recorded after trust began (timesyncd steps
   * the clock when it synchronises, so earlier stamps may be far off).
   */
  stampTrusted(bootId: string, mono: number): boolean {
    if (!this.synchronised || bootId !== this.#bootId) return false;
    return this.#trustedSinceMono !== null && mono >= this.#trustedSinceMono;
  }

  /** The wall time as best known: ours when trusted, else corrected by the back office's offset. */
  bestWallTime(): Date {
    const ours = this.#wall();
    if (this.synchronised || this.#serverOffsetMs === null) return ours;
    return new Date(ours.getTime() - this.#serverOffsetMs);
  }

  #update(value: boolean): boolean {
    if (value !== this.#last) {
      const first = this.#last === null;
      this.#last = value;
      // Trusted from the start: the clock was synchronised before we began stamping.
      this.#trustedSinceMono = value ? (first ? Number.NEGATIVE_INFINITY : this.#mono()) : null;
      const source = this.#flag ? 'timesyncd' : this.#serverAgrees ? 'back office' : null;
      if (value) this.#log.info({ source }, 'wall clock synchronised');
      else this.#log.warn(first ? 'wall clock not synchronised yet' : 'wall clock no longer synchronised');
    }
    return value;
  }
}
