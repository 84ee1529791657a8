/**
 * A day in a minute (issue 15): a workshop's day on a fake clock, through the real core (the
 * wrong-key world: journeys, identify, actuator, lockouts, the command processor, the mechanic
 * desk) on SQLite :memory:, with the real sync client delivering the outbox to a back office
 * on 127.0.0.1 (test/helpers/mini-back-office.ts, which keeps each seq once).
 *
 * The day: for each car, the back office books a drop-off, the customer drops the key off
 * (some type a wrong PIN first, some leave the door open and walk away: staff close it, take
 * the key to the workshop and clear the quarantine); a mechanic retrieves the key through the
 * tablet (mechanic.request, the QR token, mechanic.open); later the back office books the
 * pickup and the mechanic puts the key back (an upsert naming the compartment); the customer
 * collects it (some pay at the locker first). Meanwhile the link drops (the back office closes
 * every connection) and the lock board goes down for a while (opens fail, doors unreadable;
 * the customers then come back).
 *
 * Checked against the model of what should have happened (the physical keys and each car's
 * stage): after every car and at the end, every compartment the locker's database says holds a
 * key holds that key, every key lies where the database says, each reservation is in the
 * status its stage implies; at the end every event the store wrote was received once, seq 1..N
 * with no gap. RSS is sampled every 25 cars.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MechanicDesk } from '../../../kiosk/core/mechanic-desk.js';
import { MechanicTokens } from '../../../kiosk/core/mechanic-token.js';
import type { SessionAction } from '../../../kiosk/core/session-view.js';
import { LockoutService } from '../../../kiosk/core/lockout.js';
import { createSilentLogger } from '../../../kiosk/logging.js';
import { createMechanicStore } from '../../../kiosk/store/mechanic-store.js';
import { loadOrCreateIdentity } from '../../../kiosk/sync/identity.js';
import { SyncService } from '../../../kiosk/sync/sync-service.js';
import { createValidator } from '../../../kiosk/sync/validate.js';
import { MiniBackOffice } from '../../helpers/mini-back-office.js';
import { Random } from '../crash/random.js';
import { act as actOn, type ActResult } from '../session-act.js';
import { AMOUNT, PinHasher, randomPin, seededUnitHashing, toWire, TODAY, type ModelReservation } from '../wrong-key/model.js';
import { createWorld, type World } from '../wrong-key/world.js';

export interface DayOptions {
  seed: number;
  /** Customer journeys: half drop-offs, half pickups (cars = journeys / 2). */
  journeys: number;
  linkDrops: number;
  boardOutages: number;
  compartments?: number;
  /** A sabotaged day, to show the comparison fails: the mechanic closes the door on the key instead of taking it. */
  mechanicLeavesKey?: boolean;
  log?: (line: string) => void;
}

export interface DayReport {
  seed: number;
  journeys: { dropoffs: number; pickups: number; wrongPinsFirst: number; doorsLeftOpen: number; paidAtLocker: number; retriedAfterOutage: number };
  mechanic: { retrievals: number; keysBack: number };
  linkDrops: number;
  boardOutages: number;
  events: { written: number; received: number; repeats: number; contiguous: number };
  /** Model and database compared after every car: mismatches (empty when all agree). */
  mismatches: string[];
  /** RSS (MiB) every 25 cars, and the heap used. */
  rssMiB: number[];
  heapMiB: number[];
  /** Fake time the day covered, and the real time it took. */
  fakeHours: number;
  realSeconds: number;
}

const TOKEN_KEY = new Uint8Array(32).fill(9);
const UNIT = 'day-unit';

class CapturedTokens extends MechanicTokens {
  last: string | null = null;
  override async issue(request: Parameters<MechanicTokens['issue']>[0]): ReturnType<MechanicTokens['issue']> {
    const made = await super.issue(request);
    this.last = made.token;
    return made;
  }
}

type Stage = 'booked' | 'in-locker' | 'in-workshop' | 'ready' | 'collected';

interface Car {
  n: number;
  dropoff: ModelReservation;
  pickup: ModelReservation;
  stage: Stage;
  /** Where its key is while in the locker. */
  compartment: number | null;
}

export async function runDay(o: DayOptions): Promise<DayReport> {
  const log = o.log ?? (() => undefined);
  const random = new Random(o.seed);
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'keylocker-day-'));
  const identity = await loadOrCreateIdentity(dir, UNIT);
  const backOffice = new MiniBackOffice({ publicKeyJwk: identity.publicKeyJwk, unitId: UNIT });
  const url = await backOffice.listen();
  const unit = seededUnitHashing(random);
  const hasher = new PinHasher(unit);
  let sync: SyncService | null = null;
  let tokens: CapturedTokens | null = null;
  let desk: MechanicDesk | null = null;
  const notify = () => sync?.notifyEventsCommitted();
  const world: World = await createWorld({
    compartments: o.compartments ?? 16,
    itemSensors: true,
    pinHashing: unit,
    onEventsCommitted: notify,
    mechanic: ({ db, locks, clock, wallClock, stamps }) => {
      tokens = new CapturedTokens({ key: TOKEN_KEY, unitId: UNIT, bootId: stamps.bootId, monoClock: () => clock.now() });
      desk = new MechanicDesk({
        store: createMechanicStore(db, stamps, notify),
        tokens,
        locks,
        clock,
        wallClock,
        logger: createSilentLogger(),
        customerBusy: () => world.journeys.view().sessionId !== null,
        renderQr: async (text) => `<svg data-length="${text.length}"/>`,
      });
      return desk;
    },
  });
  // As locker.ts wires it: the desk shows a waiting request once the customer has gone.
  world.journeys.events.on('changed', () => desk?.customerChanged());
  const { locks, journeys, db } = world;
  const monoStart = performance.now();
  sync = new SyncService({
    db,
    unitId: UNIT,
    softwareVersion: '0.1.0-day',
    bootId: 'property',
    timeZone: 'Europe/Oslo',
    backOffice: { url, audience: 'keylocker-backoffice', caFile: null, pingIntervalMs: 5000, reconnectInitialMs: 20, reconnectMaxMs: 200, maxInFlight: 500 },
    identity,
    doorState: (id) => locks.doorState(id),
    lockouts: new LockoutService(),
    logger: createSilentLogger(),
    monoClock: () => performance.now() - monoStart,
    timesyncFlagPath: null,
    validator: createValidator(),
    outboxPollMs: 60_000,
  });
  await sync.start();

  const report: DayReport = {
    seed: o.seed,
    journeys: { dropoffs: 0, pickups: 0, wrongPinsFirst: 0, doorsLeftOpen: 0, paidAtLocker: 0, retriedAfterOutage: 0 },
    mechanic: { retrievals: 0, keysBack: 0 },
    linkDrops: 0,
    boardOutages: 0,
    events: { written: 0, received: 0, repeats: 0, contiguous: 0 },
    mismatches: [],
    rssMiB: [],
    heapMiB: [],
    fakeHours: 0,
    realSeconds: 0,
  };
  const cars: Car[] = [];
  const carCount = Math.ceil(o.journeys / 2);
  const dropAt = new Set(Array.from({ length: o.linkDrops }, (_, i) => Math.floor(((i + 0.5) * carCount) / o.linkDrops)));
  const outageAt = new Set(Array.from({ length: o.boardOutages }, (_, i) => Math.floor(((i + 0.3) * carCount) / o.boardOutages)));
  const mismatch = (line: string) => {
    if (report.mismatches.length < 50) report.mismatches.push(line);
  };

  const passTime = async (ms: number) => {
    await world.clock.fake.tickAsync(ms);
    await journeys.settled();
  };
  const act = (action: SessionAction): Promise<ActResult> => actOn(journeys, action);
  const ok = async (label: string, result: Promise<{ ok: boolean; error?: { code: string; message: string } | undefined; result?: Record<string, unknown> | undefined }>) => {
    const r = await result;
    if (!r.ok) mismatch(`${label}: ${r.error?.code} ${r.error?.message}`);
    return r;
  };

  const newReservation = (car: number, kind: 'dropoff' | 'pickup'): ModelReservation => {
    const pin = randomPin(random);
    return {
      id: `${kind === 'dropoff' ? 'd' : 'p'}${car}`, code: `${kind === 'dropoff' ? 'D' : 'P'}-${car}`, kind, plateDisplay: `AB ${String(10_000 + car)}`,
      phone: `+479${String(1_000_000 + car).padStart(7, '0')}`, appointmentDate: TODAY, pin, pins: [pin], legacy: random.chance(0.1), version: 1,
      paymentRequired: kind === 'pickup' && random.chance(0.3), paid: false, paymentVersion: 0, cancelled: false, finished: false, touched: false, compartment: null,
    };
  };

  /** A customer at the screen for `r`; false when the door never opened (a board down): they come back. */
  const customer = async (car: Car, r: ModelReservation): Promise<boolean> => {
    await act({ type: 'start', journey: r.kind });
    if (random.chance(0.1)) {
      report.journeys.wrongPinsFirst += 1;
      await act({ type: 'pin', pin: randomPin(random) });
    }
    let { view } = await act({ type: 'pin', pin: r.pin });
    if (view.step === 'details') ({ view } = await act({ type: 'confirm' }));
    if (view.step === 'payment') {
      report.journeys.paidAtLocker += 1;
      r.paymentVersion += 1;
      await ok('payment', world.command('payment.status', { reservationId: r.id, status: 'paid', ...AMOUNT, version: r.paymentVersion }));
      view = journeys.view();
    }
    if (view.step !== 'place-key' && view.step !== 'take-key') {
      if (journeys.view().sessionId !== null) await act({ type: 'abandon' }).then(() => act({ type: 'abandonConfirm' }));
      if (journeys.view().sessionId !== null) await passTime(10 * 60_000);
      return false;
    }
    const compartment = view.compartment as number;
    if (r.kind === 'dropoff') {
      locks.contents.set(compartment, car.dropoff.id);
      car.compartment = compartment;
      car.stage = 'in-locker';
    } else {
      if (locks.contents.get(compartment) !== car.pickup.id) mismatch(`car ${car.n}: pickup ${r.id} opened ${compartment} holding ${locks.contents.get(compartment) ?? 'nothing'}`);
      locks.contents.delete(compartment);
      car.compartment = null;
      car.stage = 'collected';
    }
    if (r.kind === 'dropoff' && random.chance(0.04)) {
      // Walks away with the door open: the session ends on its idle timer and quarantines it;
      // staff close the door, take the key to the workshop and clear the quarantine.
      report.journeys.doorsLeftOpen += 1;
      await passTime(10 * 60_000);
      locks.close(compartment);
      await passTime(1000);
      locks.contents.delete(compartment);
      car.compartment = null;
      car.stage = 'in-workshop';
      await ok('clear quarantine', world.command('compartment.clear-quarantine', { compartment, reason: 'key taken to the workshop', by: 'staff' }));
      return true;
    }
    locks.close(compartment);
    ({ view } = await act({ type: 'confirm' }));
    // A paid pickup ends on the receipt step (issue 12): most tap Finish, the others walk away
    // and the step moves on by itself after 30 s.
    if (view.step === 'receipt') {
      if (random.chance(0.7)) await act({ type: 'confirm' });
      else await passTime(31_000);
    }
    await passTime(10_000);
    return true;
  };

  const retrieve = async (car: Car) => {
    const requestId = `req-${car.n}`;
    await ok('mechanic.request', world.command('mechanic.request', { requestId, reservationId: car.dropoff.id, purpose: 'retrieve', tabletId: 'tablet-1' }));
    await passTime(1000);
    await desk?.settled();
    const token = (tokens as CapturedTokens | null)?.last;
    if (!token || desk?.shownRequestId() !== requestId) return mismatch(`car ${car.n}: no QR shown for the retrieval (showing ${desk?.shownRequestId() ?? 'none'})`);
    const opened = await ok('mechanic.open', world.command('mechanic.open', { requestId, token, tabletId: 'tablet-1' }));
    // The pulse and its record run on the desk's queue after the command committed.
    await desk?.settled();
    await passTime(1000);
    const compartment = car.compartment as number;
    if (!opened.ok || locks.doorState(compartment) !== 'open') return mismatch(`car ${car.n}: the mechanic's door ${compartment} did not open (${JSON.stringify(opened.result)})`);
    if (!o.mechanicLeavesKey) locks.contents.delete(compartment);
    locks.close(compartment);
    await passTime(2000);
    await desk?.settled();
    car.compartment = null;
    car.stage = 'in-workshop';
    report.mechanic.retrievals += 1;
  };

  const keyBack = async (car: Car) => {
    const r = car.pickup;
    await ok('pickup booked', world.command('reservation.upsert', { reservation: await toWire(r, r.pin, hasher, null), version: r.version }));
    const free = (await db.all<{ id: number }>("SELECT id FROM compartments WHERE state = 'free' ORDER BY id")).map((row) => row.id).filter((id) => !locks.contents.has(id));
    if (free.length === 0) return mismatch(`car ${car.n}: no free compartment for the key`);
    const compartment = random.pick(free);
    r.version += 1;
    const result = await ok('key back', world.command('reservation.upsert', { reservation: await toWire(r, r.pin, hasher, compartment), version: r.version }));
    if (result.ok && result.result?.status === 'ready') {
      locks.contents.set(compartment, r.id);
      car.compartment = compartment;
      car.stage = 'ready';
      report.mechanic.keysBack += 1;
    }
  };

  /** The model against the database: every compartment, every car's reservations. */
  const compare = async (when: string) => {
    const rows = await db.all<{ id: number; state: string; reservation_id: string | null }>('SELECT id, state, reservation_id FROM compartments');
    for (const row of rows) {
      const key = locks.contents.get(row.id);
      if (key !== undefined && row.reservation_id !== key) mismatch(`${when}: compartment ${row.id} holds ${key}, the database says ${row.state} ${row.reservation_id ?? ''}`);
      if (key === undefined && row.state === 'occupied') mismatch(`${when}: compartment ${row.id} is empty, the database says occupied by ${row.reservation_id}`);
    }
    const statuses = new Map((await db.all<{ id: string; status: string }>('SELECT id, status FROM reservations')).map((r) => [r.id, r.status]));
    for (const car of cars) {
      const d = statuses.get(car.dropoff.id);
      const p = statuses.get(car.pickup.id);
      const expected: Record<Stage, [string[], string[] | null]> = {
        booked: [['booked'], null],
        'in-locker': [['deposited'], null],
        'in-workshop': [['retrieved', 'booked', 'deposited'], null],
        ready: [['retrieved', 'booked', 'deposited'], ['ready']],
        collected: [['retrieved', 'booked', 'deposited'], ['collected']],
      };
      const [dropoffOk, pickupOk] = expected[car.stage];
      if (!dropoffOk.includes(d ?? 'missing')) mismatch(`${when}: car ${car.n} (${car.stage}): drop-off is ${d}`);
      if (pickupOk && !pickupOk.includes(p ?? 'missing')) mismatch(`${when}: car ${car.n} (${car.stage}): pickup is ${p}`);
    }
  };

  const sample = () => {
    const memory = process.memoryUsage();
    report.rssMiB.push(Math.round(memory.rss / 2 ** 20));
    report.heapMiB.push(Math.round(memory.heapUsed / 2 ** 20));
  };

  /** Customers who found the board down, waiting to come back. */
  const comeBack: (() => Promise<void>)[] = [];
  const walk = async (car: Car, r: ModelReservation) => {
    if (await customer(car, r)) {
      if (r.kind === 'dropoff') report.journeys.dropoffs += 1;
      else report.journeys.pickups += 1;
    } else {
      comeBack.push(() => walk(car, r));
    }
  };

  const LAG = 3;
  for (let n = 0; n < carCount + 2 * LAG; n += 1) {
    if (dropAt.has(n)) {
      backOffice.dropAll();
      report.linkDrops += 1;
    }
    if (outageAt.has(n)) {
      locks.boardDown = true;
      report.boardOutages += 1;
    }
    if (n < carCount) {
      const car: Car = { n, dropoff: newReservation(n, 'dropoff'), pickup: newReservation(n, 'pickup'), stage: 'booked', compartment: null };
      cars.push(car);
      await ok('drop-off booked', world.command('reservation.upsert', { reservation: await toWire(car.dropoff, car.dropoff.pin, hasher, null), version: 1 }));
      await passTime(random.int(30, 90) * 1000);
      await walk(car, car.dropoff);
    }
    if (locks.boardDown) {
      // The board is back after one customer met it down (and some fake minutes).
      await passTime(15 * 60_000);
      locks.boardDown = false;
      await passTime(1000);
      for (const again of comeBack.splice(0)) {
        report.journeys.retriedAfterOutage += 1;
        await again();
      }
    }
    const workshop = cars[n - LAG];
    if (workshop && !locks.boardDown) {
      if (workshop.stage === 'in-locker') await retrieve(workshop);
      if (workshop.stage === 'in-workshop') await keyBack(workshop);
    }
    const leaving = cars[n - 2 * LAG];
    if (leaving && leaving.stage === 'ready' && !locks.boardDown) await walk(leaving, leaving.pickup);
    await compare(`after car ${n}`);
    if (n % 25 === 0) sample();
  }
  locks.boardDown = false;
  for (const again of comeBack.splice(0)) await again();
  await compare('at the end of the day');
  sample();

  report.events.written = (await db.get<{ n: number }>('SELECT MAX(seq) AS n FROM outbox'))?.n ?? 0;
  await backOffice.storedAll(report.events.written, 60_000);
  report.events.received = backOffice.stored.size;
  report.events.repeats = backOffice.arrivals.length - new Set(backOffice.arrivals).size;
  report.events.contiguous = backOffice.contiguous;
  report.fakeHours = Math.round((world.clock.now() / 3_600_000) * 10) / 10;
  report.realSeconds = Math.round((performance.now() - started) / 100) / 10;
  log(`day done: ${JSON.stringify(report.journeys)}`);
  await sync.stop();
  (desk as MechanicDesk | null)?.stop();
  await world.close();
  await backOffice.close();
  await rm(dir, { recursive: true, force: true });
  return report;
}
