/**
 * The journeys on fakes with a fake clock (issue 7, points 7-9): a real SQLite file, the lock
 * bank on the simulated board (item sensors on or off), one drop-off and one pickup whose key
 * is in compartment 5. Time moves only when a test ticks the clock.
 */
import type { Test } from 'tap';
import { Actuator } from '../../kiosk/core/actuator.js';
import { Journeys, type JourneyOptions } from '../../kiosk/core/journeys.js';
import { hashPin } from '../../kiosk/core/pin.js';
import type { LockPort, PinGuard } from '../../kiosk/core/ports.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { compartments, reservations } from '../../kiosk/store/repositories.js';
import { createSimBank } from '../fakes/sim-bank.js';
import { openTempDb, sampleReservation } from './store.js';

export const DROPOFF_PIN = '246810';
export const PICKUP_PIN = '135791';
export const PICKUP_COMPARTMENT = 5;
const CHEAP = { N: 2 ** 10, r: 1, p: 1 };
/** A safety limit for a broken build, never a measurement: a dispatch takes milliseconds when idle. */
const DISPATCH_BOUND_MS = 60_000;

export async function doorJourneys(t: Test, options: { itemSensors?: boolean; journeys?: Partial<JourneyOptions>; pickup?: { paymentRequired?: boolean } } = {}) {
  const { db } = await openTempDb(t);
  const { bank, clock, sim } = createSimBank({ itemSensors: options.itemSensors ?? false });
  const started = bank.start();
  await clock.fake.tickAsync(10);
  await started;
  const wallClock = () => new Date(1_800_000_000_000 + clock.now());
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Oslo' }).format(wallClock());
  const store = createJourneyStore(db, { wallClock, monoClock: () => clock.now(), bootId: 'boot' });
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 16, wallClock());
    await reservations.upsert(tx, sampleReservation({ id: 'drop', code: 'D-1', kind: 'dropoff', appointmentDate: today, pinHash: await hashPin(DROPOFF_PIN, CHEAP) }));
    await reservations.upsert(
      tx,
      sampleReservation({
        id: 'pick',
        code: 'P-1',
        kind: 'pickup',
        status: 'ready',
        compartmentId: PICKUP_COMPARTMENT,
        appointmentDate: today,
        pinHash: await hashPin(PICKUP_PIN, CHEAP),
        paymentRequired: options.pickup?.paymentRequired ?? false,
        paymentStatus: options.pickup?.paymentRequired ? 'pending' : 'none',
        paymentAmount: options.pickup?.paymentRequired ? 50_000 : null,
        paymentCurrency: options.pickup?.paymentRequired ? 'NOK' : null,
      }),
    );
    await compartments.setState(tx, PICKUP_COMPARTMENT, { state: 'occupied', reservationId: 'pick' }, wallClock());
  });
  // The key of the pickup is in its compartment.
  sim.setItemPresent(PICKUP_COMPARTMENT - 1, true);
  const pins: PinGuard = {
    lockedFor: async () => null,
    recordFailure: async () => ({ lockerLockedForMs: null, reservationLocked: false, attemptsLeft: 5 }),
    doorOpened: async () => undefined,
  };
  const logger = createSilentLogger();
  // The journeys' view of the bank, which knows when an open is under way: only then does a
  // dispatch need fake time to move (the pulse, the door switch).
  let opening = 0;
  const locks: LockPort = {
    open: async (compartment) => {
      opening += 1;
      try {
        return await bank.open(compartment);
      } finally {
        opening -= 1;
      }
    },
    doorState: (compartment) => bank.doorState(compartment),
    itemPresent: (compartment) => bank.itemPresent(compartment),
    events: bank.events,
  };
  const journeys = new Journeys({
    store,
    locks,
    pins,
    actuator: new Actuator({ store, locks, wallClock, logger }),
    clock,
    wallClock,
    logger,
    timeZone: 'Europe/Oslo',
    defaultCountry: 'NO',
    defaultLanguage: 'en',
    ...options.journeys,
  });
  t.teardown(async () => {
    journeys.stop();
    await bank.stop();
  });

  /**
   * Move fake time on by `ms`, letting the journeys finish what each step set off (their
   * database writes are real I/O) before time moves again.
   */
  const advance = async (ms: number) => {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      await clock.fake.tickAsync(Math.min(500, end - clock.now()));
      await journeys.settled();
    }
  };
  /** Let the bank see what the simulated world did (an interrupt read, then a poll). */
  const settle = () => advance(600);
  const events = async () =>
    (await db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq')).map((row) => ({ type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown> }));
  /** Dispatch while the fake clock runs (a lock's pulse and door confirmation take fake time). */
  const act = async (action: Parameters<Journeys['dispatch']>[0]) => {
    let done = false;
    const run = journeys.dispatch(action);
    run.then(
      () => (done = true),
      () => (done = true),
    );
    // An open waits on fake time (the pulse, the door switch) and on real I/O (its records):
    // fake time moves only while the lock works, so no idle timer runs on while a record is
    // written, however slow the disk. Bounded in real time, generously: a count of loop turns
    // (100,000, about 3 s here) could run out while a loaded machine wrote a record, and the
    // open that followed then waited for fake time that never moved, until tap's timeout.
    const deadline = Date.now() + DISPATCH_BOUND_MS;
    while (!done) {
      if (Date.now() > deadline) throw new Error(`${action.type}: no verdict within ${DISPATCH_BOUND_MS / 1000} s of real time`);
      await new Promise((resolve) => setImmediate(resolve));
      if (opening > 0) await clock.fake.tickAsync(10);
    }
    return run;
  };
  return { db, store, bank, clock, sim, journeys, settle, advance, events, act };
}

export type DoorRig = Awaited<ReturnType<typeof doorJourneys>>;

/** A drop-off to "place the key" at compartment 1, door open. */
export async function toPlaceKey(rig: DoorRig): Promise<number> {
  await rig.act({ type: 'start', journey: 'dropoff' });
  await rig.act({ type: 'pin', pin: DROPOFF_PIN });
  const view = await rig.act({ type: 'confirm' });
  if (view.step !== 'place-key' || view.compartment === null) throw new Error(`expected place-key, got ${view.step}`);
  return view.compartment;
}

/** A pickup to "take the key" at compartment 5, door open. */
export async function toTakeKey(rig: DoorRig): Promise<number> {
  await rig.act({ type: 'start', journey: 'pickup' });
  const view = await rig.act({ type: 'pin', pin: PICKUP_PIN });
  if (view.step !== 'take-key' || view.compartment === null) throw new Error(`expected take-key, got ${view.step}`);
  return view.compartment;
}
