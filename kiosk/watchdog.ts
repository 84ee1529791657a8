/**
 * When the systemd watchdog may be fed (kiosk/systemd-notify.ts asks before each WATCHDOG=1):
 * only while the event loop keeps time, the lock bank's board poll keeps running and the
 * database is not held by one holder for too long. Any one stuck, the pings stop, systemd restarts the service (WatchdogSec= in the unit), and the
 * new start drives every output off.
 *
 * - Event loop: the longest delay seen since the last check (perf_hooks' histogram), above
 *   `maxLoopLagMs` is unhealthy. A loop blocked outright sends no ping at all anyway.
 * - Board poll: how long ago the stalest board's last read ended (answered or not). A board
 *   that is offline still has its reads end (failing), so it never stops the pings: only a
 *   read that never returns (a hung driver) or a poll that stopped does.
 * - Database: how long its current holder (one statement, or one transaction from BEGIN to
 *   COMMIT) has held it (Db.heldForMs). Every journey, PIN check and command needs it, so a
 *   transaction that waits on itself (the service runs without the at-once nesting check,
 *   kiosk/store/db.ts) or a statement that never returns would leave a locker that answers
 *   its health URL but opens nothing. The longest a holder keeps it in normal work is a backup
 *   of the database or a batch of 256 commands: well under a second here, a few on a Pi.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Event-loop delay above which the watchdog is not fed. */
export const MAX_LOOP_LAG_MS = 5000;

/** The database may be held by one holder this long at most. */
export const MAX_DB_HELD_MS = 30_000;

/** A board read may end this long ago at most: ten polls, and never less than 10 s. */
export function maxPollAgeMs(pollIntervalMs: number): number {
  return Math.max(10 * pollIntervalMs, 10_000);
}

export interface WatchdogHealthOptions {
  /** The stalest board's last read, ms ago (LockBank.pollAgeMs). */
  pollAgeMs: () => number;
  maxPollAgeMs: number;
  /** The longest event-loop delay since the last call, in ms (loopLagProbe in production). */
  loopLagMs: () => number;
  maxLoopLagMs?: number;
  /** How long the database's current holder has held it, in ms (Db.heldForMs). */
  dbHeldMs: () => number;
  maxDbHeldMs?: number;
}

export interface WatchdogHealth {
  /** null when healthy; otherwise why the watchdog is not fed. */
  check(): string | null;
  /** The last check's verdict (for metrics), without measuring again. */
  healthy(): boolean;
  stop(): void;
}

export function createWatchdogHealth(options: WatchdogHealthOptions, stop: () => void = () => undefined): WatchdogHealth {
  const maxLag = options.maxLoopLagMs ?? MAX_LOOP_LAG_MS;
  const maxHeld = options.maxDbHeldMs ?? MAX_DB_HELD_MS;
  let last: string | null = null;
  return {
    check() {
      const lag = options.loopLagMs();
      const age = options.pollAgeMs();
      const held = options.dbHeldMs();
      if (lag > maxLag) last = `event loop delayed ${Math.round(lag)} ms (limit ${maxLag} ms)`;
      else if (age > options.maxPollAgeMs) last = `board poll stalled: no read ended for ${Math.round(age)} ms (limit ${options.maxPollAgeMs} ms)`;
      else if (held > maxHeld) last = `database held by one transaction or statement for ${Math.round(held)} ms (limit ${maxHeld} ms)`;
      else last = null;
      return last;
    },
    healthy: () => last === null,
    stop,
  };
}

/** The event loop's longest delay since the last call, from perf_hooks. */
export function loopLagProbe(): { read: () => number; stop: () => void } {
  const histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  histogram.enable();
  return {
    read() {
      const maxMs = histogram.count > 0 ? histogram.max / 1e6 : 0;
      histogram.reset();
      return maxMs;
    },
    stop: () => histogram.disable(),
  };
}
