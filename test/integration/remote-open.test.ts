/**
 * compartment.remote-open (issue 10): staff open a compartment from the back office with a
 * reason. Through the command processor on a temporary database, with a lock port that counts
 * pulses, a fake monotonic clock and a wall clock the test moves: audited with the reason,
 * refused mid-journey and with the board offline (0 pulses), throttled at 4 a minute with an
 * alarm (a wall-clock jump neither resets nor extends the window), bad input changes nothing.
 */
import t, { type Test } from 'tap';
import type { OpenOutcome } from '../../controller/lock-bank.js';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { RollingWindowThrottle } from '../../kiosk/core/open-throttle.js';
import { RemoteOpener } from '../../kiosk/core/remote-open.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { audit, compartments, inflight, reservations } from '../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage } from '../../kiosk/sync/messages.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { resultShape } from '../helpers/command-fixture.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

async function fixture(t: Test, options: { customerOn?: number } = {}) {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 16, new Date()));
  const clock = createFakeClock(1_000);
  let wall = new Date('2026-11-28T10:00:00.000Z');
  const stamps = { wallClock: () => wall, monoClock: () => clock.now(), bootId: 'boot-1' };
  const pulsed: number[] = [];
  const boardsDown = new Set<number>();
  const opener = new RemoteOpener({
    store: createJourneyStore(db, stamps),
    locks: {
      open: async (compartment): Promise<OpenOutcome> => {
        pulsed.push(compartment);
        return { ok: true, compartment, pulses: 1, confirmed: true, alreadyOpen: false };
      },
    },
    throttle: new RollingWindowThrottle({ limit: 4, windowMs: 60_000, now: () => clock.now() }),
    compartmentIds: () => Array.from({ length: 16 }, (_, i) => i + 1),
    boardOnline: (id) => !boardsDown.has(id),
    customerOn: (id) => id === options.customerOn,
    logger: createSilentLogger(),
  });
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger(), wallClock: () => wall, stamps, remoteOpen: opener });
  let n = 0;
  const run = async (args: Partial<CommandArgs['compartment.remote-open']> & { compartment: number }, id = `cmd-${(n += 1)}`) => {
    const result = await processor.apply({ v: 1, type: 'command', id, name: 'compartment.remote-open', args: { reason: 'customer left a bag', by: 'Kari', ...args } } as CommandMessage);
    if (result.ok && !resultShape('compartment.remote-open')(result.result)) t.fail(`result ${JSON.stringify(result.result)} does not match result.json`);
    return result;
  };
  /** Events in the outbox, oldest first. */
  const events = async () => (await db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq')).map((r) => ({ type: r.type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  /** Waits (bounded) until the after-commit pulse wrote its outcome: `count` done events. */
  const settled = async (count: number) => {
    for (let i = 0; i < 200; i += 1) {
      const doneCount = (await events()).filter((e) => e.type === 'compartment.remote-open-done').length;
      if (doneCount >= count) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`no ${count} remote-open-done events`);
  };
  return { db, clock, pulsed, boardsDown, run, events, settled, setWall: (d: Date) => (wall = d) };
}

t.test('an accepted remote open: intent audited with the reason before the pulse, outcome after, requested and done events', async (t) => {
  const f = await fixture(t);
  const result = await f.run({ compartment: 5 });
  t.same(result.result, { accepted: true, compartment: 5 });
  await f.settled(1);
  t.same(f.pulsed, [5], 'one open of compartment 5');
  const trail = await audit.list(f.db, { compartmentId: 5, limit: 5 });
  t.match(trail[1], { action: 'open', phase: 'intent', actor: 'staff:Kari', detail: { purpose: 'remote', reason: 'customer left a bag', by: 'Kari' } });
  t.match(trail[0], { action: 'open', phase: 'outcome', actor: 'staff:Kari', result: 'opened', intentId: trail[1]?.id });
  t.same((await f.events()).map((e) => e.type), ['compartment.remote-open-requested', 'compartment.remote-open-done']);
  t.match((await f.events())[1]?.payload, { compartment: 5, by: 'Kari', opened: true, result: 'confirmed', pulses: 1 });
  t.match(await compartments.get(f.db, 5), { state: 'free' }, 'the state is not changed');
  const again = await f.run({ compartment: 5 }, 'cmd-1');
  t.same(again.result, result.result, 'a repeated command id gets the first result');
  t.same(f.pulsed, [5], 'and opens nothing');
});

t.test('refused mid-journey (an open journey in the store, or the customer at the screen): 0 pulses, a refused event', async (t) => {
  const f = await fixture(t, { customerOn: 3 });
  await f.db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation({ id: 'r-1' }));
    await inflight.set(tx, { compartmentId: 2, reservationId: 'r-1', journey: 'dropoff', sessionId: 's-1', at: new Date().toISOString() });
  });
  t.same((await f.run({ compartment: 2 })).result, { accepted: false, reason: 'IN_JOURNEY' });
  t.same((await f.run({ compartment: 3 })).result, { accepted: false, reason: 'IN_JOURNEY' });
  t.same(f.pulsed, [], 'no pulse');
  const refused = (await f.events()).filter((e) => e.type === 'compartment.remote-open-refused');
  t.same(refused.map((e) => e.payload), [
    { compartment: 2, by: 'Kari', reason: 'IN_JOURNEY', retryAfterS: null },
    { compartment: 3, by: 'Kari', reason: 'IN_JOURNEY', retryAfterS: null },
  ]);
});

t.test('refused while its board is offline: 0 pulses, and no throttle slot taken', async (t) => {
  const f = await fixture(t);
  f.boardsDown.add(7);
  for (let i = 0; i < 6; i += 1) t.same((await f.run({ compartment: 7 })).result, { accepted: false, reason: 'BOARD_OFFLINE' });
  t.same(f.pulsed, [], 'no blind pulse');
  t.same((await f.run({ compartment: 8 })).result, { accepted: true, compartment: 8 }, 'the refusals did not use up the minute');
  await f.settled(1);
});

t.test('4 in a minute are opened; the 5th is refused THROTTLED with an alarm; allowed again after the window; wall-clock jumps change nothing', async (t) => {
  const f = await fixture(t);
  for (let i = 1; i <= 4; i += 1) {
    t.same((await f.run({ compartment: i })).result, { accepted: true, compartment: i }, `open ${i}`);
    f.clock.fake.tick(5_000);
  }
  await f.settled(4);
  // now = 21 000 on the monotonic clock; the first open was at 1 000
  f.setWall(new Date('2026-11-29T10:00:00.000Z')); // +1 day: must not reset the window
  const fifth = await f.run({ compartment: 5 });
  t.same(fifth.result, { accepted: false, reason: 'THROTTLED', retryAfterS: 40 });
  const alarm = (await f.events()).filter((e) => e.type === 'alarm.remote-open-throttled');
  t.same(alarm.map((e) => e.payload), [{ compartment: 5, by: 'Kari', limit: 4, windowS: 60, retryAfterS: 40 }], 'an alarm');
  t.match((await f.events()).at(-1), { type: 'compartment.remote-open-refused', payload: { compartment: 5, reason: 'THROTTLED', retryAfterS: 40 } });
  f.setWall(new Date('2026-10-28T10:00:00.000Z')); // -1 month: must not extend it either
  f.clock.fake.tick(39_999);
  t.equal((await f.run({ compartment: 5 })).result?.accepted, false, 'still refused 1 ms before a minute has passed since the first');
  f.clock.fake.tick(1);
  t.same((await f.run({ compartment: 5 })).result, { accepted: true, compartment: 5 }, 'allowed once it has');
  await f.settled(5);
  t.same(f.pulsed, [1, 2, 3, 4, 5], 'exactly the accepted ones pulsed');
});

t.test('bad input is refused with a clear error and changes nothing', async (t) => {
  const f = await fixture(t);
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ compartment: 17 }, 'NOT_FOUND', /compartment 17 does not exist/],
    [{ compartment: 1, reason: '   ' }, 'SCHEMA', /reason/],
    [{ compartment: 1, by: ' ' }, 'SCHEMA', /by/],
    [{ compartment: 1, reason: 'x'.repeat(501) }, 'SCHEMA', /reason/],
  ];
  for (const [args, code, message] of cases) {
    const result = await f.run(args as never);
    t.equal(result.ok, false);
    t.equal(result.error?.code, code, code);
    t.match(result.error?.message, message);
  }
  t.same(await f.events(), [], 'no event');
  t.same(await audit.list(f.db, { limit: 5 }), [], 'no audit line');
  t.same(f.pulsed, []);
  t.same((await f.run({ compartment: 1 })).result, { accepted: true, compartment: 1 }, 'and no throttle slot was taken');
  await f.settled(1);
});

t.test('a locker without a remote opener refuses the command', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 4, new Date()));
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger() });
  const result = await processor.apply({ v: 1, type: 'command', id: 'c-1', name: 'compartment.remote-open', args: { compartment: 1, reason: 'x', by: 'Kari' } });
  t.equal(result.error?.code, 'CONFLICT');
});
