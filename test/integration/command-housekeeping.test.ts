/**
 * Old command answers are forgotten at start and then once a day, only while the clock is
 * trusted (kiosk/sync/housekeeping.ts). sync-contract.test.ts covers the purge at a service's
 * start; this file the daily one, a clock that stops being trusted, a purge that fails, and stop.
 */
import t, { type Test } from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { recordApplied } from '../../kiosk/sync/command-store.js';
import { CommandHousekeeping, type HousekeepingOptions } from '../../kiosk/sync/housekeeping.js';
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

/**
 * A housekeeping on a temporary database and a fake clock, stopped when the test ends. The
 * purges it hands over are kept in `tracked`, each settled to 'done' or to its error, as the
 * service's track does (a failure is logged, never left unhandled). `failing()`: while it says
 * so, every transaction fails as a busy database's would.
 */
async function rig(
  t: Test,
  options: Pick<HousekeepingOptions, 'wallClock' | 'clockSynchronised'> & { retentionMs?: number; failing?: () => boolean },
): Promise<{ db: Db; clock: ReturnType<typeof createFakeClock>; tracked: Promise<unknown>[]; housekeeping: CommandHousekeeping }> {
  const { db } = await openTempDb(t);
  const clock = createFakeClock();
  const tracked: Promise<unknown>[] = [];
  const { failing, ...rest } = options;
  const seen = failing
    ? new Proxy(db, {
        get(target, key) {
          if (key === 'transaction' && failing()) return () => Promise.reject(new Error('SQLITE_BUSY'));
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      })
    : db;
  const housekeeping = new CommandHousekeeping({
    db: seen, clock, logger: createSilentLogger(), track: (work) => tracked.push(work.then(() => 'done', (error: unknown) => error)), ...rest,
  });
  t.teardown(() => housekeeping.stop());
  return { db, clock, tracked, housekeeping };
}

t.test('purges at start and then every day, answers older than the retention only', async (t) => {
  let wall = T0;
  const { db, clock, tracked, housekeeping } = await rig(t, { wallClock: () => new Date(wall), clockSynchronised: () => true, retentionMs: 3 * DAY });
  await answered(db, 'a-old', T0 - 4 * DAY);
  await answered(db, 'b-2days', T0 - 2 * DAY);
  await answered(db, 'c-now', T0);
  await housekeeping.start();
  t.same(await ids(db), ['b-2days', 'c-now'], 'at start: older than 3 days forgotten');

  wall += DAY + 1;
  await clock.fake.tickAsync(DAY);
  t.equal(tracked.length, 1, 'a day later, a purge is handed to the owner to track');
  t.equal(await tracked[0], 'done');
  t.same(await ids(db), ['c-now'], 'a day later, the answer now older than 3 days is forgotten');

  housekeeping.stop();
  wall += 10 * DAY;
  await clock.fake.tickAsync(10 * DAY);
  t.equal(tracked.length, 1, 'stopped: no purge any more');
  t.same(await ids(db), ['c-now'], 'stopped: nothing forgotten');
});

t.test('an untrusted clock purges nothing, at start or daily', async (t) => {
  let synchronised = false;
  // A wall clock far ahead: trusted, it would purge everything.
  const { db, clock, tracked, housekeeping } = await rig(t, { wallClock: () => new Date(T0 + 365 * DAY), clockSynchronised: () => synchronised });
  await answered(db, 'kept', T0);
  await housekeeping.start();
  await clock.fake.tickAsync(DAY);
  await Promise.all(tracked);
  t.same(await ids(db), ['kept'], 'nothing forgotten while the clock is not trusted');
  synchronised = true;
  t.equal(await housekeeping.purge(), 1, 'trusted again: the default 30 days apply');
});

t.test('a purge that fails is handed over as a rejection, and the next day tries again', async (t) => {
  let fail = true;
  const { db, clock, tracked, housekeeping } = await rig(t, { wallClock: () => new Date(T0), clockSynchronised: () => true, retentionMs: DAY, failing: () => fail });
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
});
