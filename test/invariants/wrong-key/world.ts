/**
 * One case's world for the wrong-key property (issue 15): the REAL core (Journeys, Identify,
 * Actuator, LockoutService, core/pin.ts) and the REAL command processor (the back office's
 * upserts, cancels and payments), on SQLite :memory: through the real journey store, with a
 * recording lock bank whose compartments hold physical keys.
 *
 * Why the real store on :memory: rather than an in-memory JourneyStore written here: the
 * allocation of compartments, the PIN candidate queries (index, legacy, by ids), the version
 * checks of stale updates and the lockout rows are exactly what the property is about; a
 * second implementation in test/ would prove the fake, not the locker. A fresh :memory:
 * database per case costs a few milliseconds (its migrations), cheaper than cleaning one.
 *
 * The slow hash: no seam is needed. A hash carries its own scrypt cost, and the core accepts
 * N=2^10, r=1, p=1 (ACCEPTED_PIN_COST), so the cases hash with that, for unit hashes (one
 * scrypt per typed PIN, the index path) and legacy hashes (one per candidate) alike.
 *
 * The world is physical: `contents` says whose key lies in each compartment, the item sensors
 * (when the case has them) report it, and the doors open only when the core pulses a lock. The
 * property is checked at the instant of each pulse, against this physical truth and against
 * what the back office last told the locker (the model), never against the locker's database.
 */
import { EventEmitter } from 'node:events';
import type { DoorState, LockBankEvents, OpenOutcome } from '../../../controller/lock-bank.js';
import { Actuator } from '../../../kiosk/core/actuator.js';
import { Journeys } from '../../../kiosk/core/journeys.js';
import { LockoutService } from '../../../kiosk/core/lockout.js';
import type { UnitPinHashing } from '../../../kiosk/core/pin.js';
import type { JourneyStore, LockPort } from '../../../kiosk/core/ports.js';
import { createSilentLogger } from '../../../kiosk/logging.js';
import { openDatabase, type Db } from '../../../kiosk/store/db.js';
import { createJourneyStore, type StoreStamps } from '../../../kiosk/store/journey-store.js';
import type { MechanicDesk } from '../../../kiosk/core/mechanic-desk.js';
import { compartments } from '../../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage, CommandName, ResultMessage } from '../../../kiosk/sync/messages.js';
import { createFakeClock } from '../../fakes/fake-clock.js';

export const TIME_ZONE = 'Europe/Oslo';
/** 2027-03-10 09:00 in Oslo: a working morning. */
export const WALL_START = Date.parse('2027-03-10T08:00:00Z');

/** A lock bank on no hardware: it records every pulse, and its doors move only when told. */
export class RecordingLocks implements LockPort {
  readonly events = new EventEmitter<LockBankEvents>();
  readonly #doors = new Map<number, DoorState>();
  /** Whose key lies in each compartment (absent: empty). The physical truth. */
  readonly contents = new Map<number, string>();
  /** Pulses, in order. */
  readonly pulses: number[] = [];
  /** Called at each pulse, before the door moves: the property's check. */
  onPulse: (compartment: number) => void = () => undefined;
  /** The next open() fails this way (the lock jammed with its board answering, or the board silent). */
  failNext: 'jam' | 'offline' | null = null;
  /** The board is down: every open() finds it silent, and no door can be read. */
  boardDown = false;

  /** The item sensors report the physical content; absent on a bank without them (LockPort's optional member). */
  readonly itemPresent?: (compartment: number) => boolean | null;

  constructor(
    readonly count: number,
    readonly itemSensors: boolean,
  ) {
    if (itemSensors) this.itemPresent = (compartment) => this.contents.has(compartment);
  }

  async open(compartment: number): Promise<OpenOutcome> {
    if (compartment < 1 || compartment > this.count) {
      return { ok: false, compartment, pulses: 0, error: 'UNKNOWN_COMPARTMENT', detail: `no compartment ${compartment}` };
    }
    const failure = this.boardDown ? 'offline' : this.failNext;
    this.failNext = null;
    if (failure === 'offline') return { ok: false, compartment, pulses: 0, error: 'BOARD_OFFLINE', detail: 'the board did not answer' };
    this.pulses.push(compartment);
    this.onPulse(compartment);
    if (failure === 'jam') return { ok: false, compartment, pulses: 2, error: 'JAMMED', detail: 'the door did not open' };
    if (this.doorState(compartment) === 'open') return { ok: true, compartment, pulses: 0, confirmed: true, alreadyOpen: true };
    this.#doors.set(compartment, 'open');
    this.events.emit('doorOpened', compartment, 'command');
    return { ok: true, compartment, pulses: 1, confirmed: true, alreadyOpen: false };
  }

  doorState(compartment: number): DoorState {
    if (this.boardDown) return 'unknown';
    return this.#doors.get(compartment) ?? 'closed';
  }

  close(compartment: number): void {
    if ((this.#doors.get(compartment) ?? 'closed') !== 'open') return;
    this.#doors.set(compartment, 'closed');
    if (!this.boardDown) this.events.emit('doorClosed', compartment);
  }

  openDoors(): number[] {
    return [...this.#doors].filter(([, state]) => state === 'open').map(([id]) => id);
  }
}

export interface World {
  db: Db;
  store: JourneyStore;
  locks: RecordingLocks;
  journeys: Journeys;
  clock: ReturnType<typeof createFakeClock>;
  wallClock: () => Date;
  processor: CommandProcessor;
  /** Applies one back-office command through the real processor. */
  command<N extends CommandName>(name: N, args: CommandArgs[N]): Promise<ResultMessage>;
  close(): Promise<void>;
}

export interface WorldOptions {
  compartments: number;
  itemSensors: boolean;
  pinHashing: UnitPinHashing | null;
  /** Replaces the journey store the core sees (the deliberately broken identification). */
  wrapStore?: (store: JourneyStore) => JourneyStore;
  /** A database left by an earlier case (emptied here); absent: a new one. Closing the world leaves it open. */
  db?: Db;
  /** Told after each commit that wrote outbox events (the sync client's wake-up). */
  onEventsCommitted?: () => void;
  /** The mechanic's desk, for the back office's mechanic commands (the day's retrievals). */
  mechanic?: (parts: { db: Db; locks: RecordingLocks; clock: ReturnType<typeof createFakeClock>; wallClock: () => Date; stamps: StoreStamps }) => MechanicDesk;
}

/** Every table a case writes (the schema and its version stay). */
const CASE_TABLES = [
  'mechanic_tokens', 'mechanic_requests', 'reservation_amount_due', 'refused_events', 'applied_commands', 'inflight', 'help_calls',
  'lockouts', 'audit_log', 'outbox', 'reservation_timeline', 'compartments', 'reservations', 'settings', 'sqlite_sequence',
];

/** A fresh :memory: database with the locker's schema (its migrations take ~25 ms: reuse it across cases). */
export function openCaseDatabase(): Promise<Db> {
  return openDatabase(':memory:', logger);
}

async function emptyDatabase(db: Db): Promise<void> {
  await db.exec(`PRAGMA foreign_keys=OFF; ${CASE_TABLES.map((table) => `DELETE FROM ${table};`).join(' ')} PRAGMA foreign_keys=ON;`);
}

const logger = createSilentLogger();

export async function createWorld(options: WorldOptions): Promise<World> {
  const db = options.db ?? (await openCaseDatabase());
  if (options.db) await emptyDatabase(db);
  const clock = createFakeClock(0);
  const wallClock = () => new Date(WALL_START + clock.now());
  const stamps = { wallClock, monoClock: () => clock.now(), bootId: 'property' };
  await db.transaction((tx) => compartments.ensure(tx, options.compartments, wallClock()));
  const realStore = createJourneyStore(db, stamps, options.onEventsCommitted ? { onEventsCommitted: options.onEventsCommitted } : undefined);
  const store = options.wrapStore ? options.wrapStore(realStore) : realStore;
  const locks = new RecordingLocks(options.compartments, options.itemSensors);
  const lockouts = new LockoutService({ store: realStore, clock, wallClock });
  const mechanic = options.mechanic?.({ db, locks, clock, wallClock, stamps });
  const processor = new CommandProcessor({
    db, lockouts, logger, wallClock, stamps, pinHashing: options.pinHashing, doorState: (id) => locks.doorState(id), ...(mechanic ? { mechanic } : {}),
  });
  const journeys = new Journeys({
    store,
    locks,
    pins: lockouts,
    pinHashing: options.pinHashing,
    actuator: new Actuator({ store: realStore, locks, wallClock, logger }),
    clock,
    wallClock,
    logger,
    timeZone: TIME_ZONE,
    defaultCountry: 'NO',
    defaultLanguage: 'en',
  });
  processor.events.on('reservationChanged', (id, change) => journeys.reservationChanged(id, change));
  let commandId = 0;
  return {
    db,
    store,
    locks,
    journeys,
    clock,
    wallClock,
    processor,
    async command(name, args) {
      commandId += 1;
      const result = await processor.apply({ v: 1, type: 'command', id: `c-${commandId}`, name, args } as CommandMessage);
      await journeys.settled();
      return result;
    },
    async close() {
      journeys.stop();
      if (!options.db) await db.close();
    },
  };
}
