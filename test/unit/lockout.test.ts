import { join } from 'node:path';
import t from 'tap';
import {
  afterLockerFailure,
  backoffMs,
  createPinGuard,
  DEFAULT_LOCKOUT_POLICY,
  lockerDecision,
  LockoutService,
  type FailureResult,
} from '../../kiosk/core/lockout.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase, type Db } from '../../kiosk/store/db.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const T0 = new Date('2025-03-14T07:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const SECOND = 1000;
const MINUTE = 60 * SECOND;

async function withReservation(db: Db): Promise<void> {
  await db.transaction((tx) => reservations.upsert(tx, sampleReservation()));
}

function fail(db: Db, service: LockoutService, reservationId: string | null, now: Date): Promise<FailureResult> {
  return db.transaction((tx) => service.recordFailure(tx, reservationId, now));
}

t.test('back-off lengths double from 30 s and stop at 15 min', async (t) => {
  t.same(
    [0, 1, 2, 3, 4, 5, 6, 7, 40].map((level) => backoffMs(level)),
    [0, 30, 60, 120, 240, 480, 900, 900, 900].map((s) => s * SECOND),
  );
});

t.test('the locker decision follows lockedUntil, but never for longer than the level allows', async (t) => {
  const locked = { scope: 'locker' as const, failures: 5, level: 1, lockedUntil: at(30 * SECOND).toISOString() };
  t.same(lockerDecision(null, T0), { allowed: true });
  t.same(lockerDecision(locked, at(10 * SECOND)), { allowed: false, reason: 'locker_backoff', retryAfterMs: 20 * SECOND });
  t.same(lockerDecision(locked, at(30 * SECOND)), { allowed: true });
  t.same(lockerDecision(locked, at(-MINUTE * 60)), { allowed: false, reason: 'locker_backoff', retryAfterMs: 30 * SECOND }, 'clock stepped back');
  t.same(lockerDecision({ ...locked, lockedUntil: 'garbage' }, T0), { allowed: true });
});

t.test('pure: every fifth consecutive failure starts the next back-off', async (t) => {
  let state = null;
  const levels: number[] = [];
  for (let i = 0; i < 10; i += 1) {
    state = afterLockerFailure(state, T0);
    levels.push(state.level);
  }
  t.same(levels, [0, 0, 0, 0, 1, 1, 1, 1, 1, 2]);
  t.equal(state?.lockedUntil, at(60 * SECOND).toISOString());
});

t.test('five wrong PINs lock the reservation', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const service = new LockoutService(db);
  const results: FailureResult[] = [];
  for (let i = 0; i < 5; i += 1) results.push(await fail(db, service, 'r-1', T0));
  t.same(results.map((r) => r.attemptsLeft), [4, 3, 2, 1, 0]);
  t.same(results.map((r) => r.reservationLocked), [false, false, false, false, true]);
  t.equal(results[4]?.lockerLockedForMs, 30 * SECOND, 'five in a row also back the locker off');

  t.same(await service.checkAllowed(at(10 * SECOND), 'r-1'), { allowed: false, reason: 'locker_backoff', retryAfterMs: 20 * SECOND });
  t.same(await service.checkAllowed(at(31 * SECOND), 'r-1'), { allowed: false, reason: 'reservation_locked' });
  t.same(await service.checkAllowed(at(31 * SECOND), 'r-2'), { allowed: true }, 'other reservations are not locked');
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 5, pinLockedAt: T0.toISOString() });

  await db.transaction((tx) => service.recordSuccess(tx, 'r-1', at(MINUTE)));
  t.same(await service.checkAllowed(at(MINUTE), 'r-1'), { allowed: false, reason: 'reservation_locked' }, 'a success elsewhere does not unlock it');
  await db.transaction((tx) => service.resetReservation(tx, 'r-1', at(2 * MINUTE)));
  t.same(await service.checkAllowed(at(2 * MINUTE), 'r-1'), { allowed: true });
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 0, pinLockedAt: null });
});

t.test('locker-wide back-off: 30 s, 60 s, ... capped at 15 min', async (t) => {
  const { db } = await openTempDb(t);
  const service = new LockoutService(db);
  let now = T0;
  const backoffs: (number | null)[] = [];
  for (let round = 0; round < 7; round += 1) {
    for (let i = 0; i < 4; i += 1) {
      t.equal((await fail(db, service, null, now)).lockerLockedForMs, null);
      t.same(await service.checkAllowed(now), { allowed: true });
    }
    const fifth = await fail(db, service, null, now);
    backoffs.push(fifth.lockerLockedForMs);
    const length = fifth.lockerLockedForMs ?? 0;
    t.same(await service.checkAllowed(new Date(now.getTime() + length - 1)), { allowed: false, reason: 'locker_backoff', retryAfterMs: 1 });
    now = new Date(now.getTime() + length);
    t.same(await service.checkAllowed(now), { allowed: true }, `round ${round}: allowed again when the back-off ends`);
  }
  t.same(backoffs, [30, 60, 120, 240, 480, 900, 900].map((s) => s * SECOND));
});

t.test('a right PIN ends the streak: the next back-off starts again at 30 s', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const service = new LockoutService(db);
  for (let i = 0; i < 10; i += 1) await fail(db, service, null, T0); // two back-offs: level 2
  const now = at(2 * MINUTE);
  await db.transaction((tx) => service.recordSuccess(tx, 'r-1', now));
  for (let i = 0; i < 4; i += 1) t.equal((await fail(db, service, null, now)).lockerLockedForMs, null);
  t.equal((await fail(db, service, null, now)).lockerLockedForMs, 30 * SECOND);
});

t.test("a right PIN clears a reservation's count while it is not locked", async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const service = new LockoutService(db);
  for (let i = 0; i < 3; i += 1) await fail(db, service, 'r-1', T0);
  await db.transaction((tx) => service.recordSuccess(tx, 'r-1', T0));
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 0 });
  const results: FailureResult[] = [];
  for (let i = 0; i < 4; i += 1) results.push(await fail(db, service, 'r-1', T0));
  t.same(results.map((r) => r.attemptsLeft), [4, 3, 2, 1]);
});

t.test('a restart keeps the back-off and the reservation lock', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'locker.db');
  const logger = createSilentLogger();
  const first = await openDatabase(path, logger);
  await withReservation(first);
  const before = new LockoutService(first);
  for (let i = 0; i < 5; i += 1) await fail(first, before, 'r-1', T0);
  await first.close();

  const db = await openDatabase(path, logger);
  t.teardown(() => db.close());
  const after = new LockoutService(db);
  t.same(await after.checkAllowed(at(5 * SECOND)), { allowed: false, reason: 'locker_backoff', retryAfterMs: 25 * SECOND });
  t.same(await after.checkAllowed(at(MINUTE), 'r-1'), { allowed: false, reason: 'reservation_locked' });
  for (let i = 0; i < 4; i += 1) await fail(db, after, null, at(MINUTE));
  t.equal((await fail(db, after, null, at(MINUTE))).lockerLockedForMs, 60 * SECOND, 'the streak continued across the restart');
});

t.test('the policy is configurable', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const service = new LockoutService(db, { ...DEFAULT_LOCKOUT_POLICY, reservationMaxFailures: 3, lockerFailuresPerBackoff: 2 });
  t.same(await fail(db, service, 'r-1', T0), { lockerLockedForMs: null, reservationLocked: false, attemptsLeft: 2 });
  t.same(await fail(db, service, 'r-1', T0), { lockerLockedForMs: 30 * SECOND, reservationLocked: false, attemptsLeft: 1 });
  t.same(await fail(db, service, 'r-1', T0), { lockerLockedForMs: null, reservationLocked: true, attemptsLeft: 0 });
});

t.test('the PinGuard port wraps the service in its own transactions', async (t) => {
  const { db } = await openTempDb(t);
  await withReservation(db);
  const guard = createPinGuard(db, new LockoutService(db));
  t.equal(await guard.lockedFor(T0), null);
  for (let i = 0; i < 4; i += 1) await guard.recordFailure(null, T0);
  t.same(await guard.recordFailure('r-1', T0), { lockerLockedForMs: 30 * SECOND, reservationLocked: false, attemptsLeft: 4 });
  t.equal(await guard.lockedFor(at(10 * SECOND)), 20 * SECOND);
  await guard.recordSuccess('r-1', at(MINUTE));
  t.equal(await guard.lockedFor(at(MINUTE)), null);
  t.match(await reservations.getById(db, 'r-1'), { failedPinAttempts: 0 });
});
