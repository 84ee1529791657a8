/**
 * A door opened from the phone link, then the locker restarts before it closes (issue 12): the
 * wait for the door is kept with the open's intent (migration 10), so the new process records
 * the pickup (key.collected, confirmed false) exactly once: when the door, found open at start,
 * closes; or at start when it is found closed; never when the item sensor sees the key still in.
 * Each "process" is its own database connection, lock port and opener on one data file; the
 * last test does it with a whole locker (simulator, reference back office) stopped and started
 * on one data dir.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { DoorState } from '../../controller/lock-bank.js';
import { Actuator } from '../../kiosk/core/actuator.js';
import { LinkOpener } from '../../kiosk/core/link-open.js';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { RollingWindowThrottle } from '../../kiosk/core/open-throttle.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase } from '../../kiosk/store/db.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { awaitingClosePort } from '../../kiosk/store/link-open-awaiting.js';
import { compartments, reservations } from '../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import type { CommandMessage } from '../../kiosk/sync/messages.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { instantLocks } from '../fakes/instant-locks.js';
import { recordedEvents, startTestLocker, until } from '../helpers/locker.js';
import { scratchDir } from '../helpers/scratch.js';
import { sampleReservation } from '../helpers/store.js';

const WALL = new Date('2026-11-28T10:00:00.000Z');

/** One locker process on the data file `path`: the door states and item sensor as its board reads them at start. */
async function boot(t: Test, path: string, board: { door: DoorState; itemPresent?: boolean }) {
  const db = await openDatabase(path, createSilentLogger());
  let closed = false;
  const close = async () => {
    if (!closed) await db.close();
    closed = true;
  };
  t.teardown(close);
  const clock = createFakeClock(1_000);
  const stamps = { wallClock: () => WALL, monoClock: () => clock.now(), bootId: `boot-${path.length}-${Math.random()}` };
  const { locks, port, pulsed } = instantLocks(board, { doorOpensOnPulse: true });
  const store = createJourneyStore(db, stamps);
  const actuator = new Actuator({ store, locks: port, wallClock: () => WALL, logger: createSilentLogger() });
  const linkOpen = new LinkOpener({
    store,
    locks,
    throttle: new RollingWindowThrottle({ limit: 4, windowMs: 60_000, now: () => clock.now() }),
    boardOnline: () => true,
    collected: (compartment, reservationId, how) => actuator.collected(compartment, reservationId, how),
    awaiting: awaitingClosePort(db),
    logger: createSilentLogger(),
  });
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger(), wallClock: () => WALL, stamps, linkOpen });
  const outbox = async () => (await db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq')).map((r) => ({ type: r.type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  const collectedEvents = async () => (await outbox()).filter((e) => e.type === 'key.collected');
  const waiting = () => db.all<{ compartment_id: number; seen_open: number }>('SELECT compartment_id, seen_open FROM link_open_awaiting');
  /** Bounded: the after-commit work (pulse, outcome, the door's events) runs on later turns. */
  const until = async (what: string, done: () => Promise<boolean>) => {
    for (let i = 0; i < 500; i += 1) {
      if (await done()) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error(`never: ${what}`);
  };
  return { db, close, events: locks.events, linkOpen, processor, pulsed, outbox, collectedEvents, waiting, until };
}

/** The first process: a paid pickup in compartment 5 opened from the link; the door is open when the power goes. */
async function openedThenPowerLost(t: Test, path: string) {
  const first = await boot(t, path, { door: 'closed' });
  await first.db.transaction((tx) => compartments.ensure(tx, 16, WALL));
  await first.db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation({ id: 'r-1', kind: 'pickup', status: 'ready', compartmentId: 5, paymentRequired: true, paymentStatus: 'paid', paymentAmount: 49_900, paymentCurrency: 'NOK' }));
    await compartments.setState(tx, 5, { state: 'occupied', reservationId: 'r-1' }, WALL);
  });
  const result = await first.processor.apply({ v: 1, type: 'command', id: 'cmd-1', name: 'reservation.remote-open', args: { reservationId: 'r-1', compartment: 5, nonce: 'lnk_0123456789abcdef' } } as CommandMessage);
  t.same(result.result, { accepted: true, compartment: 5 });
  await first.until('the door seen open, kept', async () => (await first.waiting()).some((w) => w.seen_open === 1));
  t.same(first.pulsed, [5], 'one pulse');
  t.same(await first.collectedEvents(), [], 'nothing recorded while the door is open');
  await first.close(); // the power goes with the door open
}

t.test('restart with the door still open: recorded once when it closes', async (t) => {
  const path = join(scratchDir(t), 'locker.db');
  await openedThenPowerLost(t, path);
  const board = { door: 'open' as DoorState };
  const second = await boot(t, path, board);
  t.equal(await second.linkOpen.recover(), 1, 'one door waiting, found at start');
  t.same(await second.collectedEvents(), [], 'still open: nothing yet');
  t.equal((await reservations.getById(second.db, 'r-1'))?.status, 'ready');
  board.door = 'closed';
  second.events.emit('doorClosed', 5);
  await second.until('the pickup recorded', async () => (await second.collectedEvents()).length === 1 && (await second.waiting()).length === 0);
  t.match(await second.collectedEvents(), [{ payload: { reservationId: 'r-1', compartment: 5, confirmed: false } }]);
  t.equal((await reservations.getById(second.db, 'r-1'))?.status, 'collected');
  t.match(await compartments.get(second.db, 5), { state: 'free' });
  // The door opens and closes again (someone checks it): nothing more.
  second.events.emit('doorOpened', 5, 'found-open');
  second.events.emit('doorClosed', 5);
  await second.close();
  const third = await boot(t, path, { door: 'closed' });
  t.equal(await third.linkOpen.recover(), 0, 'nothing waiting after it was recorded');
  t.equal((await third.collectedEvents()).length, 1, 'exactly one key.collected');
  t.same(third.pulsed, [], 'no pulse on restart');
});

t.test('restart with the door closed meanwhile: recorded once at start', async (t) => {
  const path = join(scratchDir(t), 'locker.db');
  await openedThenPowerLost(t, path);
  const second = await boot(t, path, { door: 'closed' });
  t.equal(await second.linkOpen.recover(), 1);
  await second.until('the pickup recorded', async () => (await second.collectedEvents()).length === 1 && (await second.waiting()).length === 0);
  t.equal((await reservations.getById(second.db, 'r-1'))?.status, 'collected');
  await second.close();
  const third = await boot(t, path, { door: 'closed' });
  t.equal(await third.linkOpen.recover(), 0);
  t.equal((await third.collectedEvents()).length, 1, 'exactly one key.collected across two restarts');
});

t.test('restart, door closed, the item sensor sees the key still in: nothing recorded, the pickup stays ready', async (t) => {
  const path = join(scratchDir(t), 'locker.db');
  await openedThenPowerLost(t, path);
  const second = await boot(t, path, { door: 'closed', itemPresent: true });
  t.equal(await second.linkOpen.recover(), 1);
  await second.until('the wait cleared', async () => (await second.waiting()).length === 0);
  t.same(await second.collectedEvents(), []);
  t.equal((await reservations.getById(second.db, 'r-1'))?.status, 'ready');
});

t.test('a whole locker: opened from the phone link, stopped with the door open, started again: the pickup is recorded once', async (t) => {
  const dir = scratchDir(t);
  let locker = await startTestLocker(dir);
  const api = (path: string) => fetch(`${locker.urls.backOffice}api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const { url } = (await (await api('reservations/demo-pickup-paid/open-link')).json()) as { url: string };
  const pulses = locker.hardware.sim!.pulseCount;
  t.equal((await api(`open/${url.split('/').pop() as string}/open`)).status, 202);
  await until(() => locker.hardware.bank.doorState(16) === 'open', 'door 16 open');
  t.equal(locker.hardware.sim!.pulseCount, pulses + 1, 'one pulse');
  await until(async () => (await locker.db.get<{ seen_open: number }>('SELECT seen_open FROM link_open_awaiting WHERE compartment_id = 16'))?.seen_open === 1, 'the wait kept');
  await locker.stop(); // the door is still open (the pulse's confirmation may not have come yet)

  // The simulator starts with every door closed: the door was closed while the locker was off.
  locker = await startTestLocker(dir);
  t.teardown(() => locker.stop());
  await until(async () => (await locker.store.reservation('demo-pickup-paid'))?.status === 'collected', 'the pickup recorded at start');
  const collected = (await recordedEvents(locker)).filter((e) => e.type === 'key.collected');
  t.match(collected, [{ payload: { reservationId: 'demo-pickup-paid', compartment: 16, confirmed: false } }], 'exactly one key.collected, unconfirmed');
  t.same(await locker.db.all('SELECT * FROM link_open_awaiting'), [], 'nothing left waiting');
});
