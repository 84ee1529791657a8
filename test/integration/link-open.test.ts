/**
 * reservation.remote-open (issue 12): the customer opens their compartment from the phone link.
 * Through the command processor on a temporary database, with a lock port that counts pulses
 * and emits door events, and the real Actuator recording the pickup: paid -> one pulse on the
 * right compartment; the same nonce again, unpaid, another compartment or reservation, a key
 * already collected, the shared throttle exceeded (alarm) -> 0 pulses and a refused event.
 */
import t, { type Test } from 'tap';
import { Actuator } from '../../kiosk/core/actuator.js';
import { LinkOpener } from '../../kiosk/core/link-open.js';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { RollingWindowThrottle } from '../../kiosk/core/open-throttle.js';
import { RemoteOpener } from '../../kiosk/core/remote-open.js';
import type { Reservation } from '../../kiosk/core/types.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { awaitingClosePort } from '../../kiosk/store/link-open-awaiting.js';
import { audit, compartments, reservations } from '../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage } from '../../kiosk/sync/messages.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { instantLocks } from '../fakes/instant-locks.js';
import { resultShape } from '../helpers/command-fixture.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const NONCE = 'lnk_0123456789abcdef';

async function fixture(t: Test, options: { customerOn?: number; itemPresent?: boolean } = {}) {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 16, new Date()));
  const clock = createFakeClock(1_000);
  const wall = new Date('2026-11-28T10:00:00.000Z');
  const stamps = { wallClock: () => wall, monoClock: () => clock.now(), bootId: 'boot-1' };
  const { locks, port, pulsed } = instantLocks({ door: 'closed', itemPresent: options.itemPresent });
  const store = createJourneyStore(db, stamps);
  const actuator = new Actuator({ store, locks: port, wallClock: () => wall, logger: createSilentLogger() });
  const throttle = new RollingWindowThrottle({ limit: 4, windowMs: 60_000, now: () => clock.now() });
  const linkOpen = new LinkOpener({
    store,
    locks,
    throttle,
    boardOnline: () => true,
    customerOn: (id) => id === options.customerOn,
    collected: (compartment, reservationId, how) => actuator.collected(compartment, reservationId, how),
    awaiting: awaitingClosePort(db),
    logger: createSilentLogger(),
  });
  // A staff opener sharing the throttle, as kiosk/locker.ts builds them.
  const remoteOpen = new RemoteOpener({ store, locks, throttle, compartmentIds: () => Array.from({ length: 16 }, (_, i) => i + 1), boardOnline: () => true, logger: createSilentLogger() });
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger(), wallClock: () => wall, stamps, linkOpen, remoteOpen });
  let n = 0;
  const run = async (args: Partial<CommandArgs['reservation.remote-open']>, id = `cmd-${(n += 1)}`) => {
    const result = await processor.apply({ v: 1, type: 'command', id, name: 'reservation.remote-open', args: { reservationId: 'r-1', compartment: 5, nonce: NONCE, ...args } } as CommandMessage);
    if (result.ok && !resultShape('reservation.remote-open')(result.result)) t.fail(`result ${JSON.stringify(result.result)} does not match result.json`);
    return result;
  };
  const staffOpen = (compartment: number) =>
    processor.apply({ v: 1, type: 'command', id: `cmd-${(n += 1)}`, name: 'compartment.remote-open', args: { compartment, reason: 'bag', by: 'Kari' } } as CommandMessage);
  const outbox = async () => (await db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq')).map((r) => ({ type: r.type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  /** Waits (bounded) until the after-commit pulse wrote its outcome. */
  const settled = async (count: number) => {
    for (let i = 0; i < 200; i += 1) {
      if ((await outbox()).filter((e) => e.type === 'reservation.remote-open-done').length >= count) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`no ${count} reservation.remote-open-done events`);
  };
  /** A pickup whose key is in compartment `compartment`. */
  const pickup = async (overrides: Partial<Reservation> = {}, compartment = 5) => {
    const r = sampleReservation({ id: 'r-1', kind: 'pickup', status: 'ready', compartmentId: compartment, ...overrides });
    await db.transaction(async (tx) => {
      // A fresh row each time (upsert keeps a status the back office does not own).
      await tx.run('UPDATE compartments SET state = ?, reservation_id = NULL WHERE reservation_id = ?', ['free', r.id]);
      await tx.run('DELETE FROM reservations WHERE id = ?', [r.id]);
      await reservations.upsert(tx, r);
      await compartments.setState(tx, compartment, { state: 'occupied', reservationId: r.id }, wall);
    });
  };
  const refusals = async () => (await outbox()).filter((e) => e.type === 'reservation.remote-open-refused').map((e) => e.payload['reason']);
  return { db, pulsed, events: locks.events, run, staffOpen, outbox, settled, pickup, refusals };
}

t.test('paid: one pulse on the reservation compartment, audited, requested and done events; door opened then closed records the pickup, unconfirmed', async (t) => {
  const f = await fixture(t);
  await f.pickup({ paymentRequired: true, paymentStatus: 'paid', paymentAmount: 49_900, paymentCurrency: 'NOK' });
  const result = await f.run({});
  t.same(result.result, { accepted: true, compartment: 5 });
  await f.settled(1);
  t.same(f.pulsed, [5], 'one pulse, compartment 5');
  const trail = await audit.list(f.db, { compartmentId: 5, limit: 5 });
  t.match(trail[1], { action: 'open', phase: 'intent', actor: 'customer-link', reservationId: 'r-1' });
  t.match(trail[0], { action: 'open', phase: 'outcome', result: 'opened', intentId: trail[1]?.id });
  t.same((await f.outbox()).map((e) => e.type), ['reservation.remote-open-requested', 'reservation.remote-open-done']);
  t.equal((await reservations.getById(f.db, 'r-1'))?.status, 'ready', 'nothing collected before the door closes');
  f.events.emit('doorOpened', 5, 'command');
  f.events.emit('doorClosed', 5);
  for (let i = 0; i < 200 && (await reservations.getById(f.db, 'r-1'))?.status !== 'collected'; i += 1) await new Promise((resolve) => setImmediate(resolve));
  t.equal((await reservations.getById(f.db, 'r-1'))?.status, 'collected');
  t.match((await f.outbox()).at(-1), { type: 'key.collected', payload: { reservationId: 'r-1', compartment: 5, confirmed: false } });
  t.match(await compartments.get(f.db, 5), { state: 'free' });
});

t.test('a pickup with no payment required opens too', async (t) => {
  const f = await fixture(t);
  await f.pickup();
  t.same((await f.run({})).result, { accepted: true, compartment: 5 });
  await f.settled(1);
  t.same(f.pulsed, [5]);
});

t.test('the same nonce again (another command id): refused NONCE_USED, 0 more pulses; the nonce survives in the store', async (t) => {
  const f = await fixture(t);
  await f.pickup({ paymentRequired: true, paymentStatus: 'paid', paymentAmount: 100, paymentCurrency: 'NOK' });
  await f.run({});
  await f.settled(1);
  t.same((await f.run({})).result, { accepted: false, reason: 'NONCE_USED' });
  t.same(f.pulsed, [5], 'still the one pulse');
  t.same(await f.refusals(), ['NONCE_USED']);
  const row = await f.db.get<{ reservation_id: string }>('SELECT reservation_id FROM link_open_nonces WHERE nonce = ?', [NONCE]);
  t.equal(row?.reservation_id, 'r-1');
  const repeat = await f.run({}, 'cmd-1');
  t.same(repeat.result, { accepted: true, compartment: 5 }, 'a repeated command id gets its first answer');
  t.same(f.pulsed, [5], 'and opens nothing');
});

t.test('unpaid (pending, cancelled, refunded): refused UNPAID, 0 pulses, and the nonce is not spent', async (t) => {
  const f = await fixture(t);
  for (const paymentStatus of ['pending', 'cancelled', 'refunded', 'none'] as const) {
    await f.pickup({ paymentRequired: true, paymentStatus, paymentAmount: 100, paymentCurrency: 'NOK' });
    t.same((await f.run({})).result, { accepted: false, reason: 'UNPAID' }, paymentStatus);
  }
  t.same(f.pulsed, []);
  t.same(await f.refusals(), ['UNPAID', 'UNPAID', 'UNPAID', 'UNPAID']);
  t.equal((await f.db.all('SELECT * FROM link_open_nonces')).length, 0);
});

t.test('another compartment, or another reservation: 0 pulses', async (t) => {
  const f = await fixture(t);
  await f.pickup();
  t.same((await f.run({ compartment: 6 })).result, { accepted: false, reason: 'WRONG_COMPARTMENT' });
  await f.db.transaction((tx) => reservations.upsert(tx, sampleReservation({ id: 'r-2', code: 'C-0002', kind: 'pickup', status: 'booked', compartmentId: null })));
  t.same((await f.run({ reservationId: 'r-2', compartment: 5 })).result, { accepted: false, reason: 'WRONG_COMPARTMENT' }, "r-2's link names r-1's compartment");
  const unknown = await f.run({ reservationId: 'r-404' });
  t.same(unknown.ok ? null : unknown.error?.code, 'NOT_FOUND');
  t.same(f.pulsed, []);
});

t.test('the key already collected (or not ready yet): refused NOT_READY, 0 pulses', async (t) => {
  const f = await fixture(t);
  await f.pickup({ status: 'collected' });
  t.same((await f.run({})).result, { accepted: false, reason: 'NOT_READY' });
  await f.pickup({ status: 'booked' });
  t.same((await f.run({})).result, { accepted: false, reason: 'NOT_READY' });
  await f.db.transaction((tx) => compartments.setState(tx, 5, { state: 'free' }, new Date()));
  await f.pickup({ status: 'ready' }, 7);
  t.same((await f.run({ compartment: 7 })).result, { accepted: true, compartment: 7 }, 'control: ready in 7 opens');
  await f.settled(1);
  t.same(f.pulsed, [7]);
});

t.test('a customer at the screen on that compartment: IN_JOURNEY, 0 pulses', async (t) => {
  const f = await fixture(t, { customerOn: 5 });
  await f.pickup();
  t.same((await f.run({})).result, { accepted: false, reason: 'IN_JOURNEY' });
  t.same(f.pulsed, []);
});

t.test('the shared throttle: staff opens use it up, the link open is refused THROTTLED with the alarm, 0 pulses', async (t) => {
  const f = await fixture(t);
  await f.pickup();
  for (const c of [1, 2, 3, 4]) t.match((await f.staffOpen(c)).result, { accepted: true });
  const result = await f.run({});
  t.match(result.result, { accepted: false, reason: 'THROTTLED' });
  for (let i = 0; i < 200 && f.pulsed.length < 4; i += 1) await new Promise((resolve) => setImmediate(resolve));
  t.same([...f.pulsed].sort(), [1, 2, 3, 4], 'only the staff opens pulsed');
  const alarm = (await f.outbox()).find((e) => e.type === 'alarm.remote-open-throttled');
  t.match(alarm?.payload, { compartment: 5, by: 'customer-link', limit: 4 });
  t.same(await f.refusals(), ['THROTTLED']);
});

t.test('bad input: a malformed nonce is a SCHEMA error and changes nothing', async (t) => {
  const f = await fixture(t);
  await f.pickup();
  for (const nonce of ['short', 'x'.repeat(200), 'has spaces in it 1234', '']) {
    const result = await f.run({ nonce });
    t.equal(result.ok ? 'ok' : result.error?.code, 'SCHEMA', JSON.stringify(nonce));
  }
  t.same(f.pulsed, []);
  t.same(await f.outbox(), []);
});

t.test('the key left in (item sensor) when the door closes: not recorded as collected', async (t) => {
  const f = await fixture(t, { itemPresent: true });
  await f.pickup();
  await f.run({});
  await f.settled(1);
  f.events.emit('doorOpened', 5, 'command');
  f.events.emit('doorClosed', 5);
  await new Promise((resolve) => setImmediate(resolve));
  t.equal((await reservations.getById(f.db, 'r-1'))?.status, 'ready');
});
