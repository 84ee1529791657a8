/**
 * The PIN lockout policy (kiosk/core/lockout.ts): pure decisions, then the service over a real
 * database through the store's ports, with the end of a back-off timed on a fake clock.
 */
import { join } from 'node:path';
import t from 'tap';
import {
  afterLockerFailure,
  backoffFor,
  DEFAULT_LOCKOUT_POLICY,
  effectiveFailures,
  lockerDecision,
  LockoutService,
  type LockoutPolicy,
} from '../../kiosk/core/lockout.js';
import type { FailureResult, JourneyStore } from '../../kiosk/core/ports.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase, type Db } from '../../kiosk/store/db.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const T0 = new Date('2025-03-14T07:00:00.000Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;

function harness(db: Db, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY) {
  const clock = createFakeClock(0);
  const wallClock = (): Date => new Date(T0.getTime() + clock.now());
  const store: JourneyStore = createJourneyStore(db, { wallClock, monoClock: () => clock.now(), bootId: 'boot' });
  const service = new LockoutService({ store, policy, clock, wallClock, logger: createSilentLogger() });
  const fail = (bound: string | null = null): Promise<FailureResult> => store.transaction((tx) => service.recordFailure(tx, bound, wallClock()));
  const opened = (id: string): Promise<void> => store.transaction((tx) => service.doorOpened(tx, id, wallClock()));
  const events = async (): Promise<{ type: string; payload: Record<string, unknown> }[]> =>
    (await db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq')).map((row) => ({ type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown> }));
  return { clock, wallClock, store, service, fail, opened, events };
}

async function withReservation(db: Db, id = 'r-1'): Promise<void> {
  await db.transaction((tx) => reservations.upsert(tx, sampleReservation({ id, code: `C-${id}` })));
}

t.test('pure: five free failures, then 30 s, 60 s and 120 s at most', async (t) => {
  t.same(
    [1, 2, 3, 4, 5, 6, 7, 8, 50, 10_000].map((f) => backoffFor(f) / SECOND),
    [0, 0, 0, 0, 30, 60, 120, 120, 120, 120],
  );
  let state = null;
  const backoffs: (number | null)[] = [];
  for (let i = 0; i < 8; i += 1) {
    const next = afterLockerFailure(state, T0);
    state = next.state;
    backoffs.push(next.backoffMs);
  }
  t.same(backoffs, [null, null, null, null, 30 * SECOND, 60 * SECOND, 120 * SECOND, 120 * SECOND]);
});

t.test('pure: the count forgives one failure per decay period, never more, and never on a clock that went back', async (t) => {
  const state = { scope: 'locker' as const, failures: 7, level: 3, lockedUntil: null, updatedAt: T0.toISOString() };
  const at = (ms: number): Date => new Date(T0.getTime() + ms);
  t.equal(effectiveFailures(state, at(9 * MINUTE)), 7);
  t.equal(effectiveFailures(state, at(10 * MINUTE)), 6);
  t.equal(effectiveFailures(state, at(35 * MINUTE)), 4);
  t.equal(effectiveFailures(state, at(500 * MINUTE)), 0);
  t.equal(effectiveFailures(state, at(-60 * MINUTE)), 7, 'a clock stepped back forgives nothing');
  t.equal(effectiveFailures({ ...state, updatedAt: 'garbage' }, at(60 * MINUTE)), 7);
});

t.test('pure: the decision follows lockedUntil, but never for longer than the longest back-off', async (t) => {
  const locked = { scope: 'locker' as const, failures: 5, level: 1, lockedUntil: new Date(T0.getTime() + 30 * SECOND).toISOString(), updatedAt: T0.toISOString() };
  t.same(lockerDecision(null, T0), { allowed: true });
  t.same(lockerDecision(locked, new Date(T0.getTime() + 10 * SECOND)), { allowed: false, retryAfterMs: 20 * SECOND });
  t.same(lockerDecision(locked, new Date(T0.getTime() + 30 * SECOND)), { allowed: true });
  t.same(lockerDecision({ ...locked, lockedUntil: new Date(T0.getTime() + 99 * MINUTE).toISOString() }, T0), { allowed: false, retryAfterMs: 120 * SECOND }, 'clock stepped back');
  t.same(lockerDecision({ ...locked, lockedUntil: 'garbage' }, T0), { allowed: true });
});

t.test('a door opening for a customer is the only thing that ends the streak', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const h = harness(db);
  for (let i = 0; i < 4; i += 1) await h.fail();
  t.same((await h.fail()).lockerLockedForMs, 30 * SECOND, 'the fifth failure backs off');
  await h.clock.fake.tickAsync(30 * SECOND);
  t.equal(await h.service.lockedFor(h.wallClock()), null, 'allowed again when it ends');
  t.same((await h.fail()).lockerLockedForMs, 60 * SECOND, 'the very next failure backs off again, longer');
  await h.clock.fake.tickAsync(60 * SECOND);
  await h.opened('r-1');
  for (let i = 0; i < 4; i += 1) t.equal((await h.fail()).lockerLockedForMs, null, `after the door opened: free failure ${i + 1}`);
  t.same((await h.fail()).lockerLockedForMs, 30 * SECOND, 'and the fifth backs off from 30 s again');
});

t.test('tries left: the smaller of the locker-wide and the reservation count', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const h = harness(db);
  for (let i = 0; i < 3; i += 1) await h.fail();
  const results: FailureResult[] = [];
  for (let i = 0; i < 2; i += 1) results.push(await h.fail('r-1'));
  t.same(results.map((r) => r.attemptsLeft), [1, 0], 'locker-wide count (4 and 5 of 5) is the smaller');
  t.equal(results[1]?.lockerLockedForMs, 30 * SECOND);
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 2, pinLockedAt: null });
});

t.test('five bound failures lock the reservation, and that is its own event even when the locker backs off too', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const h = harness(db);
  const results: FailureResult[] = [];
  for (let i = 0; i < 5; i += 1) results.push(await h.fail('r-1'));
  t.same(results.map((r) => r.reservationLocked), [false, false, false, false, true]);
  t.equal(results[4]?.lockerLockedForMs, 30 * SECOND, 'the same failure starts the locker-wide back-off');
  t.same(
    (await h.events()).map((e) => e.type),
    ['lockout.locker', 'lockout.reservation'],
    'both are told to the back office',
  );
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 5, pinLockedAt: T0.toISOString() });
  t.same(await h.store.lockedReservations(), ['r-1']);
  await h.opened('r-1');
  t.same(await h.store.lockedReservations(), ['r-1'], 'a door opening does not unlock a locked reservation');
});

t.test('the end of a back-off is an event, timed on the monotonic clock even when the wall clock went back', async (t) => {
  const { db } = await openTempDb(t);
  const clock = createFakeClock(0);
  let skew = 0;
  const wallClock = (): Date => new Date(T0.getTime() + clock.now() + skew);
  const store = createJourneyStore(db, { wallClock, monoClock: () => clock.now(), bootId: 'boot' });
  const service = new LockoutService({ store, clock, wallClock });
  for (let i = 0; i < 5; i += 1) await store.transaction((tx) => service.recordFailure(tx, null, wallClock()));
  skew = -60 * MINUTE; // the clock is set back an hour
  t.equal(await service.lockedFor(wallClock()), 2 * MINUTE, 'never more than the longest back-off');
  await clock.fake.tickAsync(30 * SECOND);
  await until(async () => (await store.lockout('locker'))?.lockedUntil === null);
  t.equal(await service.lockedFor(wallClock()), null, 'over after 30 s of real time');
  const rows = await db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq');
  t.same(rows.map((r) => [r.type, JSON.parse(r.payload)]), [
    ['lockout.locker', { retryAfterS: 30, until: new Date(T0.getTime() + 30 * SECOND).toISOString(), failures: 5 }],
    ['lockout.ended', { scope: 'locker', reservationId: null, reason: 'expired' }],
  ]);
  service.stop();
});

t.test('staff lift: locker-wide and a reservation, each an event; nothing to lift is no event', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const h = harness(db);
  for (let i = 0; i < 5; i += 1) await h.fail('r-1');
  const lift = (target: Parameters<LockoutService['lift']>[1]) => h.store.transaction((tx) => h.service.lift(tx, target, h.wallClock()));
  t.same(await lift({ scope: 'locker' }), { wasLocked: true });
  t.equal(await h.service.lockedFor(h.wallClock()), null);
  t.same(await lift({ scope: 'reservation', reservationId: 'r-1' }), { wasLocked: true });
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 0, pinLockedAt: null });
  t.same(await lift({ scope: 'locker' }), { wasLocked: false });
  t.same(await lift({ scope: 'reservation', reservationId: 'r-1' }), { wasLocked: false });
  t.same((await h.events()).map((e) => [e.type, e.payload.reason ?? null]), [
    ['lockout.locker', null],
    ['lockout.reservation', null],
    ['lockout.ended', 'lifted'],
    ['lockout.ended', 'lifted'],
  ]);
  for (let i = 0; i < 4; i += 1) t.equal((await h.fail()).lockerLockedForMs, null, 'a lift starts the count from nothing');
  h.service.stop();
});

t.test('a restart keeps the count and the back-off; one that ended meanwhile is announced at start', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'locker.db');
  const logger = createSilentLogger();
  const first = await openDatabase(path, logger);
  const before = harness(first);
  for (let i = 0; i < 5; i += 1) await before.fail();
  before.service.stop();
  await first.close();

  const db = await openDatabase(path, logger);
  t.teardown(() => db.close());
  const clock = createFakeClock(0);
  let offset = 5 * SECOND;
  const wallClock = (): Date => new Date(T0.getTime() + offset + clock.now());
  const store = createJourneyStore(db, { wallClock, monoClock: () => clock.now(), bootId: 'boot-2' });
  const after = new LockoutService({ store, clock, wallClock });
  await after.resume();
  t.equal(await after.lockedFor(wallClock()), 25 * SECOND, 'still backing off after the restart');
  await clock.fake.tickAsync(25 * SECOND);
  await until(async () => (await store.lockout('locker'))?.lockedUntil === null);
  offset += MINUTE;
  const sixth = await store.transaction((tx) => after.recordFailure(tx, null, wallClock()));
  t.equal(sixth.lockerLockedForMs, 60 * SECOND, 'the streak continued across the restart');
  after.stop();

  // Down through the whole back-off: announced as ended at the next start.
  const later = new LockoutService({ store, wallClock: () => new Date(T0.getTime() + 99 * MINUTE) });
  await later.resume();
  const types = (await db.all<{ type: string }>('SELECT type FROM outbox ORDER BY seq')).map((r) => r.type);
  t.same(types, ['lockout.locker', 'lockout.ended', 'lockout.locker', 'lockout.ended']);
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('condition not reached');
}

