/**
 * The locker's store and actuator on a database file, with a simulated lock bank, for the
 * invariant tests: one "boot" is one `bootLocker()` (its own boot id and monotonic clock);
 * `stop()` closes it the way a clean shutdown does. Reservations are written as the sync
 * layer writes them (the repositories), so no back office is needed.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SimBoard } from '../../controller/drivers/sim.js';
import { LockBank } from '../../controller/lock-bank.js';
import { Actuator } from '../../kiosk/core/actuator.js';
import type { JourneyStore } from '../../kiosk/core/ports.js';
import type { Reservation } from '../../kiosk/core/types.js';
import { createSystemClock } from '../../kiosk/lib/clock.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase, type Db } from '../../kiosk/store/db.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { compartments, reservations } from '../../kiosk/store/repositories.js';
import { RecordingBoard } from '../fakes/recording-board.js';
import { simWiring } from '../fakes/sim-bank.js';
import { sampleReservation } from '../helpers/store.js';

export interface BootedLocker {
  path: string;
  bootId: string;
  db: Db;
  store: JourneyStore;
  actuator: Actuator;
  bank: LockBank;
  sim: SimBoard;
  /** What the lock bank asked of the board, in order, from construction. */
  board: RecordingBoard;
  /** Close the lock bank and the database (a clean stop). */
  stop(): Promise<void>;
}

export const COMPARTMENTS = 16;

/** Starts a "boot" on `dir/keylocker.db` as locker.ts does: outputs off, then recovery. */
export async function bootLocker(dir: string, options: { recover?: boolean } = {}): Promise<BootedLocker> {
  const path = join(dir, 'keylocker.db');
  const logger = createSilentLogger();
  const clock = createSystemClock();
  const db = await openDatabase(path, logger);
  await db.transaction((tx) => compartments.ensure(tx, COMPARTMENTS, new Date()));
  const bootId = randomUUID();
  const started = clock.now();
  const store = createJourneyStore(db, { wallClock: () => new Date(), monoClock: () => clock.now() - started, bootId });
  const sim = new SimBoard({ clock, logger });
  const board = new RecordingBoard(sim, clock);
  // A real clock: a pulse must follow the board's last answer within one poll interval (never
  // pulse blind), so a 20 ms interval failed whenever the event loop stalled that long (seen
  // beside two busy loops: the drop-off refused as BOARD_OFFLINE). 200 ms, as a real board's.
  const bank = new LockBank({ board, compartments: simWiring(COMPARTMENTS), pulseMs: 5, doorConfirmTimeoutMs: 400, doorLeftOpenAlarmMs: 60_000, pollIntervalMs: 200, clock, logger });
  await bank.start();
  const actuator = new Actuator({ store, locks: bank, wallClock: () => new Date(), logger });
  if (options.recover ?? true) await actuator.recover();
  return {
    path,
    bootId,
    db,
    store,
    actuator,
    bank,
    sim,
    board,
    async stop() {
      await bank.stop();
      await db.close();
    },
  };
}

/** A reservation as the back office would send it, stored as the sync layer stores it. */
export async function addReservation(locker: BootedLocker, overrides: Partial<Reservation> & { id: string }): Promise<Reservation> {
  const reservation = sampleReservation({ code: `C-${overrides.id}`, ...overrides });
  await locker.db.transaction((tx) => reservations.upsert(tx, reservation));
  return reservation;
}

/** A pickup whose key a mechanic has put in `compartment` (as `reservation.upsert` with a compartment does). */
export async function addReadyPickup(locker: BootedLocker, id: string, compartment: number): Promise<Reservation> {
  const reservation = await addReservation(locker, { id, kind: 'pickup', status: 'ready', compartmentId: compartment });
  await locker.db.transaction((tx) => compartments.setState(tx, compartment, { state: 'occupied', reservationId: id }, new Date()));
  return reservation;
}

/** The customer closes the door of `compartment` (sim channel = compartment - 1) and the bank sees it. */
export async function closeDoor(locker: BootedLocker, compartment: number): Promise<void> {
  locker.sim.closeDoor(compartment - 1);
  await waitUntil(() => locker.bank.doorState(compartment) === 'closed', `door ${compartment} closed`);
}

/**
 * Bounded poll for a condition the code under test reaches on its own. The bound is a safety
 * limit for a broken build, never a measurement: a door is seen at the next 200 ms poll when
 * idle, and a machine running the suite beside busy loops may stall it by seconds.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
