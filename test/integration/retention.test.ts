/**
 * Issue 8, finding 5: personal data leaves the locker N days after a reservation ended (a fake
 * clock walks the days), and acknowledged events are pruned.
 */
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { audit, compartments, outbox, reservations, timeline } from '../../kiosk/store/repositories.js';
import { startRetention } from '../../kiosk/store/retention.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const T0 = new Date('2025-03-14T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const stamp = (at: Date) => ({ wallTime: at.toISOString(), monoTime: 0, bootId: 'boot' });

async function seed(db: Db): Promise<void> {
  const at = T0.toISOString();
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 4, T0);
    // Ended today: collected, cancelled; a booking whose day passes without a visit.
    await reservations.upsert(tx, sampleReservation({ id: 'collected', code: 'A', kind: 'pickup', status: 'collected', remark: 'yellow tag', updatedAt: at }));
    await reservations.upsert(tx, sampleReservation({ id: 'cancelled', code: 'B', status: 'cancelled', updatedAt: at }));
    await reservations.upsert(tx, sampleReservation({ id: 'no-show', code: 'C', status: 'booked', appointmentDate: '2025-03-14', updatedAt: at }));
    // Not ended: a key in the locker; and a collected one still named by a quarantined compartment.
    await reservations.upsert(tx, sampleReservation({ id: 'deposited', code: 'D', status: 'deposited', compartmentId: 1, updatedAt: at }));
    await compartments.setState(tx, 1, { state: 'occupied', reservationId: 'deposited' }, T0);
    await reservations.upsert(tx, sampleReservation({ id: 'disputed', code: 'E', kind: 'pickup', status: 'collected', updatedAt: at }));
    await compartments.setState(tx, 2, { state: 'quarantined', reason: 'door opened without a command', reservationId: 'disputed' }, T0);
    for (const id of ['collected', 'deposited']) await timeline.append(tx, id, 'key-deposited', { compartment: 1 }, T0);
    await outbox.append(tx, 'key.deposited', { reservationId: 'collected', workOrder: 'WO-1', compartment: 3, addedPhone: '+4746812345', remark: 'yellow tag' }, stamp(T0));
    await outbox.append(tx, 'key.deposited', { reservationId: 'deposited', workOrder: 'WO-1', compartment: 1, addedPhone: '+4746800000', remark: 'keep me' }, stamp(T0));
    await outbox.append(tx, 'compartment.closed', { compartment: 3 }, stamp(T0));
    await audit.append(tx, { at, compartmentId: 3, action: 'open', phase: 'intent', actor: 'customer:s-1', reservationId: 'collected', detail: { purpose: 'pickup' }, bootId: 'boot' });
    // The back office has the closing event; the two deposits still wait for it.
    await tx.run('UPDATE outbox SET acked_at = ? WHERE seq = 3', [at]);
  });
}

t.test('finding 5: personal data is removed N days after a reservation ended, on a fake clock', async (t) => {
  const { db } = await openTempDb(t);
  await seed(db);
  const clock = createFakeClock(0);
  const wallClock = () => new Date(T0.getTime() + clock.now());
  const retention = startRetention({
    db,
    clock,
    wallClock,
    settings: { personalDataDays: 7, ackedEventsDays: 1, sweepIntervalMs: 3_600_000 },
    logger: createSilentLogger(),
    firstSweepMs: 1000,
  });
  t.teardown(() => retention.stop());
  /** Hour by hour, each scheduled sweep finished before the clock moves on. */
  const sweeps = async (ms: number) => {
    for (let step = 0; step < ms / 3_600_000; step += 1) {
      await clock.fake.tickAsync(3_600_000);
      await retention.settled();
    }
  };

  await sweeps(6 * DAY);
  t.match(await reservations.getById(db, 'collected'), { driverName: 'Kari Nordmann', remark: 'yellow tag' }, 'six days on: kept');
  t.equal((await db.all('SELECT seq FROM outbox')).length, 2, 'the event acknowledged a day ago is gone');

  await sweeps(1 * DAY + 2 * 3_600_000);
  t.match(await reservations.getById(db, 'no-show'), { driverName: 'Kari Nordmann' }, 'a booking nobody came for ends with its day: not yet');
  await sweeps(1 * DAY);
  for (const id of ['collected', 'cancelled', 'no-show']) {
    const r = await reservations.getById(db, id);
    t.match(r, { driverName: '', phones: [], email: null, plate: '', plateDisplay: '', remark: null, pinHash: '', pinIndex: null }, `${id}: personal data removed`);
    t.match(r, { id, code: r?.code, workOrder: 'WO-1001' }, `${id}: the row itself is kept (id, code, work order, status)`);
  }
  t.same((await timeline.list(db, 'collected')).length, 0, 'its timeline is gone');
  t.same((await timeline.list(db, 'deposited')).length, 1, 'the timeline of a key still in the locker stays');
  t.match(await reservations.getById(db, 'deposited'), { driverName: 'Kari Nordmann' }, 'a key in the locker: kept');
  t.match(await reservations.getById(db, 'disputed'), { driverName: 'Kari Nordmann' }, 'named by a quarantined compartment: kept for a person to resolve');

  const events = (await outbox.listAfter(db, 0, 10)).map((e) => e.payload);
  t.same(events[0], { reservationId: 'collected', workOrder: 'WO-1', compartment: 3, addedPhone: null, remark: null, redacted: true }, 'a waiting event loses the phone and the remark');
  t.same(events[1], { reservationId: 'deposited', workOrder: 'WO-1', compartment: 1, addedPhone: '+4746800000', remark: 'keep me' });
  const [entry] = await audit.list(db, { limit: 10 });
  t.match(entry, { compartmentId: 3, actor: 'customer:s-1', action: 'open', reservationId: null, detail: {} }, 'the audit row keeps compartment, time and actor');
  t.equal(entry?.at, T0.toISOString());
});

t.test('an untrusted wall clock (not synchronised) purges nothing', async (t) => {
  const { db } = await openTempDb(t);
  await seed(db);
  const clock = createFakeClock(0);
  const retention = startRetention({
    db,
    clock,
    wallClock: () => new Date(T0.getTime() + 400 * DAY),
    settings: { personalDataDays: 7, ackedEventsDays: 1, sweepIntervalMs: 3_600_000 },
    logger: createSilentLogger(),
    clockTrusted: () => false,
  });
  t.teardown(() => retention.stop());
  t.equal(await retention.sweepNow(), null);
  t.match(await reservations.getById(db, 'collected'), { driverName: 'Kari Nordmann' });
});
