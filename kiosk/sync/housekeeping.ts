/**
 * Forgetting old command answers (docs/protocol.md, "Commands"): a command answered longer ago
 * than the retention is purged, at start and then once a day, so a repeat within that time still
 * gets its first answer and `applied_commands` does not grow for ever. Only with a synchronised
 * clock: an untrusted clock could lie far ahead and purge what a repeat still needs.
 */
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../logging.js';
import type { Db } from '../store/db.js';
import * as store from './command-store.js';

/** Commands answered this long ago are forgotten by default. */
export const APPLIED_COMMANDS_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface HousekeepingOptions {
  db: Db;
  clock: Clock;
  wallClock: () => Date;
  /** Whether the wall clock can be trusted now (ClockStatus.synchronised). */
  clockSynchronised: () => boolean;
  logger: Logger;
  /** Default APPLIED_COMMANDS_RETENTION_MS. */
  retentionMs?: number;
  /** Hands the daily purge to the owner, who awaits it on stop and logs its failure. */
  track: (work: Promise<unknown>) => void;
}

export class CommandHousekeeping {
  readonly #o: HousekeepingOptions;
  #timer: unknown = null;

  constructor(options: HousekeepingOptions) {
    this.#o = options;
  }

  /** Purges once now, then arms the daily purge. */
  async start(): Promise<void> {
    await this.purge();
    this.#arm();
  }

  stop(): void {
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** How many answers were forgotten (0 when the clock is not trusted). */
  async purge(): Promise<number> {
    if (!this.#o.clockSynchronised()) return 0;
    const before = new Date(this.#o.wallClock().getTime() - (this.#o.retentionMs ?? APPLIED_COMMANDS_RETENTION_MS));
    const purged = await this.#o.db.transaction((tx) => store.purgeApplied(tx, before));
    if (purged > 0) this.#o.logger.info({ purged }, 'old command records purged');
    return purged;
  }

  #arm(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = null;
      this.#o.track(this.purge());
      this.#arm();
    }, DAY_MS);
  }
}
