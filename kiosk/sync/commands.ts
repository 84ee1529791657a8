/**
 * Back-office commands, applied exactly once (docs/protocol.md, "Commands"). This file is the
 * dispatcher; what each command does lives in kiosk/sync/commands/<family>.ts, found through
 * commands/registry.ts (a new command is a handler there, nothing here).
 *
 * Each command runs inside a transaction together with the record of its result
 * (`applied_commands`), so a command is either applied and remembered or neither:
 * - a repeat of an id with the same content (sha-256 of the canonical JSON of name + args)
 *   gets the stored result again and changes nothing;
 * - the same id with other content gets DUPLICATE_ID (and is not recorded: the id keeps
 *   belonging to its first content);
 * - a command that cannot apply (NOT_FOUND, CONFLICT, CODE_MISMATCH, AMOUNT_MISMATCH) is rolled
 *   back to its savepoint and its error is recorded like any result, so a repeat gets the same
 *   answer; only an unexpected failure (INTERNAL) is not recorded, so a repeat may succeed.
 *
 * A command that failed its schema never reaches this file: the link answers it with a SCHEMA
 * result (`schemaFailure` below), in its place among the results, and it is not remembered, so
 * the same id may come again with valid content.
 *
 * Several commands that arrived together share one transaction (one fsync); how they are
 * applied inside it (savepoints, batched reads and records) is commands/batch.ts. A queue with
 * more behind them (a snapshot) may hand over further rounds for the same transaction, while
 * nobody else waits for the database (applyMany's `more`).
 * Effects outside the database (the help-call banner, `reservationChanged`) happen only after
 * the commit.
 */
import { EventEmitter } from 'node:events';
import type { LockoutService } from '../core/lockout.js';
import type { MechanicDesk } from '../core/mechanic-desk.js';
import type { LinkOpener } from '../core/link-open.js';
import type { RemoteOpener } from '../core/remote-open.js';
import type { UnitPinHashing } from '../core/pin.js';
import type { Logger } from '../logging.js';
import type { Db } from '../store/db.js';
import type { StoreStamps } from '../store/journey-store.js';
import { applyInTransaction, internalOutcome, prepareAhead, type CommandOutcome, type Effect } from './commands/batch.js';
import { type CommandPorts, type HelpCallPort, type ReceiptLinkPort, type ReservationChange } from './commands/context.js';
import { PinCommands } from './commands/pins.js';
import { QuarantineCommands } from './commands/quarantine.js';
import type { CommandMessage, DoorStateWire, ResultMessage } from './messages.js';

export { CommandFailure } from './commands/context.js';
export { type CommandOutcome } from './commands/batch.js';
export { canonicalJson, contentHash } from './commands/content-hash.js';
export type { CommandContext, CommandHandler, HelpCallPort, ReceiptLinkPort, ReservationChange } from './commands/context.js';

export interface CommandEvents {
  /**
   * A reservation changed by the back office, after the change committed. The journey must
   * react when it is the current customer's: a cancelled one ends the session politely before
   * its door opens; a payment may unblock the pickup screen.
   */
  reservationChanged: [reservationId: string, change: ReservationChange];
}

export interface CommandProcessorOptions {
  db: Db;
  lockouts: LockoutService;
  logger: Logger;
  wallClock?: () => Date;
  help?: HelpCallPort;
  /** The mechanic journey's desk (core/mechanic-desk.ts). */
  mechanic?: MechanicDesk;
  /** Staff opening compartments from the back office (core/remote-open.ts); absent: refused. */
  remoteOpen?: RemoteOpener;
  /** The customer opening from the phone link (core/link-open.ts); absent: refused. */
  linkOpen?: LinkOpener;
  /** How events written by commands (a lockout's end) are stamped; default: wall clock, mono 0. */
  stamps?: StoreStamps;
  /** The unit's PIN salt and cost; default: read from the database once. */
  pinHashing?: UnitPinHashing | null;
  /** The lock bank's door states: a quarantine is cleared only behind a door seen closed. Default: unknown (refused). */
  doorState?: (compartmentId: number) => DoorStateWire;
  /** The receipt QR for the customer at the screen (Journeys); absent: never shown. */
  receipts?: ReceiptLinkPort;
}

export class CommandProcessor {
  readonly events = new EventEmitter<CommandEvents>();
  readonly #db: Db;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #ports: CommandPorts;

  constructor(options: CommandProcessorOptions) {
    this.#db = options.db;
    this.#log = options.logger;
    this.#now = options.wallClock ?? (() => new Date());
    const stamps = options.stamps ?? { wallClock: this.#now, monoClock: () => 0, bootId: 'commands' };
    this.#ports = {
      pins: new PinCommands({ lockouts: options.lockouts, stamps, ...(options.pinHashing !== undefined ? { pinHashing: options.pinHashing } : {}) }),
      quarantine: new QuarantineCommands({ doorState: options.doorState ?? (() => 'unknown'), stamps }),
      help: options.help,
      ...(options.mechanic ? { mechanic: { desk: options.mechanic, stamps } } : {}),
      ...(options.remoteOpen ? { remoteOpen: { opener: options.remoteOpen, stamps } } : {}),
      ...(options.linkOpen ? { linkOpen: { opener: options.linkOpen, stamps } } : {}),
      reservationChanged: (id, change) => this.events.emit('reservationChanged', id, change),
      stamps,
      receipts: options.receipts,
    };
  }

  /**
   * Works out now what `command`'s round would first work out without the database (its content
   * hash; an upsert's plate and PIN index), for that round to find. CommandQueue calls it for
   * the commands queued behind the batch being applied, while that batch waits on SQLite.
   */
  prepareAhead(command: CommandMessage): void {
    prepareAhead(command, this.#ports);
  }

  /** Applies one command and returns its one result. */
  async apply(command: CommandMessage): Promise<ResultMessage> {
    const [result] = await this.applyMany([command]);
    if (!result) throw new Error('no result'); // cannot happen: one in, one out
    return result;
  }

  /**
   * Applies commands in order in one transaction; one result each, in the same order.
   *
   * `more`: after each round, while no other call waits for the database (Tx.othersWaiting),
   * the next commands to apply in the same transaction, or none. Their results follow, in
   * order. Each round is what one call without `more` would do, with its own clock reading; a
   * snapshot's rounds then share a commit (its fsync, and the index pages every round
   * dirties) and a customer's tap still waits for one round at most.
   */
  async applyMany(commands: readonly CommandMessage[], more?: () => readonly CommandMessage[]): Promise<ResultMessage[]> {
    if (commands.length === 0) return [];
    const applied = commands.slice();
    let outcomes: CommandOutcome[] = [];
    let effects: Effect[] = [];
    let now = this.#now();
    try {
      await this.#db.transaction(async (tx) => {
        // Bounded: each round applies at least one command; `more` hands out a finite queue.
        for (let round = commands; round.length > 0; ) {
          const done = await applyInTransaction({ tx, now, ports: this.#ports, log: this.#log }, round);
          outcomes.push(...done.outcomes);
          effects.push(...done.effects);
          if (!more || tx.othersWaiting()) break;
          round = more();
          applied.push(...round);
          now = this.#now();
        }
      });
    } catch (error) {
      // The commit itself failed: nothing was applied or recorded; a repeat may succeed.
      this.#log.error({ err: String(error), commands: applied.length }, 'applying commands failed');
      effects = [];
      outcomes = applied.map(() => internalOutcome());
    }
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        this.#log.error({ err: String(error) }, 'a command effect failed after commit');
      }
    }
    return applied.map((command, index) => toResult(command.id, outcomes[index] ?? internalOutcome()));
  }
}

/** The one result of a command that failed its schema (nothing was applied or recorded). */
export function schemaFailure(commandId: string, message: string): ResultMessage {
  return { v: 1, type: 'result', commandId, ok: false, error: { code: 'SCHEMA', message } };
}



function toResult(commandId: string, outcome: CommandOutcome): ResultMessage {
  return outcome.ok
    ? { v: 1, type: 'result', commandId, ok: true, result: outcome.result }
    : { v: 1, type: 'result', commandId, ok: false, error: outcome.error };
}


