/**
 * Old command answers are forgotten at start and then once a day, only while the clock is
 * trusted (kiosk/sync/housekeeping.ts). sync-contract.test.ts covers the purge at a service's
 * start; this file the daily one, a clock that stops being trusted, a purge that fails, and stop.
 */
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { recordApplied } from '../../kiosk/sync/command-store.js';
import { CommandHousekeeping } from '../../kiosk/sync/housekeeping.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { openTempDb } from '../helpers/store.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.UTC(2026, 10, 1, 6, 0, 0);
const outcome = { ok: true as const, result: {} };

async function answered(db: Db, id: string, at: number): Promise<void> {
  await db.transaction((tx) => recordApplied(tx, { id, name: 'help.resolve', contentHash: 'x', outcome }, new Date(at)));
}

async function ids(db: Db): Promise<string[]> {
  return (await db.all<{ id: string }>('SELECT id FROM applied_commands ORDER BY id')).map((row) => row.id);
}

t.test('purges at start and then every day, answers older than the retention only', async (t) => {
  const { db } = await openTempDb(t);
  const clock = createFakeClock();
  let wall = T0;
  const tracked: Promise<unknown>[] = [];
  const housekeeping = new CommandHousekeeping({
    db, clock, wallClock: () => new Date(wall), clockSynchronised: () => true, logger: createSilentLogger(),
    retentionMs: 3 * DAY, track: (work) => tracked.push(work),
  });
  t.teardown(() => housekeeping.stop());
  await answered(db, 'a-old', T0 - 4 * DAY);
  await answered(db, 'b-2days', T0 - 2 * DAY);
  await answered(db, 'c-now', T0);
  await housekeeping.start();
  t.same(await ids(db), ['b-2days', 'c-now'], 'at start: older than 3 days forgotten');

  wall += DAY + 1;
  await clock.fake.tickAsync(DAY);
  t.equal(tracked.length, 1, 'a day later, a purge is handed to the owner to track');
  await Promise.all(tracked);
  t.same(await ids(db), ['c-now'], 'a day later, the answer now older than 3 days is forgotten');

  housekeeping.stop();
  wall += 10 * DAY;
  await clock.fake.tickAsync(10 * DAY);
  t.equal(tracked.length, 1, 'stopped: no purge any more');
  t.same(await ids(db), ['c-now'], 'stopped: nothing forgotten');
});

t.test('an untrusted clock purges nothing, at start or daily', async (t) => {
  const { db } = await openTempDb(t);
  const clock = createFakeClock();
  let synchronised = false;
  const tracked: Promise<unknown>[] = [];
  const housekeeping = new CommandHousekeeping({
    // A wall clock far ahead: trusted, it would purge everything.
    db, clock, wallClock: () => new Date(T0 + 365 * DAY), clockSynchronised: () => synchronised, logger: createSilentLogger(),
    track: (work) => tracked.push(work),
  });
  t.teardown(() => housekeeping.stop());
  await answered(db, 'kept', T0);
  await housekeeping.start();
  await clock.fake.tickAsync(DAY);
  await Promise.all(tracked);
  t.same(await ids(db), ['kept'], 'nothing forgotten while the clock is not trusted');
  synchronised = true;
  t.equal(await housekeeping.purge(), 1, 'trusted again: the default 30 days apply');
  housekeeping.stop();
});

t.test('a purge that fails is handed over as a rejection, and the next day tries again', async (t) => {
  const { db } = await openTempDb(t);
  const clock = createFakeClock();
  const tracked: Promise<unknown>[] = [];
  let fail = true;
  const flaky = new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'transaction' && fail) return () => Promise.reject(new Error('SQLITE_BUSY'));
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const housekeeping = new CommandHousekeeping({
    db: flaky, clock, wallClock: () => new Date(T0), clockSynchronised: () => true, logger: createSilentLogger(),
    // As the service's track does: a handler at once (the failure is logged, never unhandled).
    retentionMs: DAY, track: (work) => tracked.push(work.then(() => 'done', (error: unknown) => error)),
  });
  t.teardown(() => housekeeping.stop());
  await answered(db, 'old', T0 - 2 * DAY);
  await t.rejects(housekeeping.start(), /SQLITE_BUSY/, 'a failing purge at start rejects (the service does not start half-way)');
  t.same(await ids(db), ['old'], 'nothing forgotten');

  fail = false;
  await housekeeping.start();
  t.same(await ids(db), [], 'the purge works once the database does');
  await answered(db, 'old-2', T0 - 2 * DAY);
  fail = true;
  await clock.fake.tickAsync(DAY);
  t.equal(tracked.length, 1, 'the daily purge ran');
  t.match(await tracked[0], { message: 'SQLITE_BUSY' }, 'its failure goes to the owner, who logs it');
  fail = false;
  await clock.fake.tickAsync(DAY);
  await Promise.all(tracked.slice(1));
  t.same(await ids(db), [], 'the next day tries again and forgets it');
  housekeeping.stop();
});
