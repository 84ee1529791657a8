import t from 'tap';
import {
  audit,
  compartments,
  inflight,
  lockouts,
  outbox,
  reservations,
  settings,
  timeline,
} from '../../kiosk/store/repositories.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const NOW = new Date('2025-03-14T07:00:00.000Z');
const LATER = new Date('2025-03-14T07:05:00.000Z');
const STAMP = { wallTime: NOW.toISOString(), monoTime: 1234.5, bootId: 'boot-1' };

t.test('compartments: ensure creates 1..N once', async (t) => {
  const { db } = await openTempDb(t);
  const first = await db.transaction((tx) => compartments.ensure(tx, 16, NOW));
  t.same(first, { created: Array.from({ length: 16 }, (_, i) => i + 1), beyondCount: [] });
  const again = await db.transaction((tx) => compartments.ensure(tx, 16, LATER));
  t.same(again, { created: [], beyondCount: [] });
  const list = await compartments.list(db);
  t.equal(list.length, 16);
  t.same(list[0], { id: 1, state: 'free', reservationId: null, quarantineReason: null, updatedAt: NOW.toISOString() });
});

t.test('compartments: shrinking the count never deletes a row with content', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 16, NOW);
    await reservations.upsert(tx, sampleReservation({ id: 'r-14', code: 'C-14', status: 'deposited' }));
    await reservations.upsert(tx, sampleReservation({ id: 'r-13', code: 'C-13', compartmentId: 13, status: 'retrieved' }));
    await compartments.setState(tx, 14, { state: 'occupied', reservationId: 'r-14' }, NOW);
    await compartments.setState(tx, 16, { state: 'disabled' }, NOW);
  });
  const result = await db.transaction((tx) => compartments.ensure(tx, 12, LATER));
  t.same(result, { created: [], beyondCount: [13, 14] });
  t.match(await compartments.get(db, 13), { state: 'disabled' }, 'free but referenced: kept, never allocated');
  t.match(await compartments.get(db, 14), { state: 'occupied', reservationId: 'r-14' });
  t.equal(await compartments.get(db, 15), null);
  t.equal(await compartments.get(db, 16), null);
});

t.test('compartments: state changes carry what each state needs', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 4, NOW);
    await reservations.upsert(tx, sampleReservation());
  });
  await db.transaction(async (tx) => {
    t.equal(await compartments.setState(tx, 2, { state: 'quarantined', reason: 'door forced', reservationId: 'r-1' }, LATER), true);
    t.equal(await compartments.setState(tx, 99, { state: 'free' }, LATER), false, 'no such compartment');
  });
  t.same(await compartments.get(db, 2), {
    id: 2,
    state: 'quarantined',
    reservationId: 'r-1',
    quarantineReason: 'door forced',
    updatedAt: LATER.toISOString(),
  });
  await db.transaction((tx) => compartments.setState(tx, 2, { state: 'free' }, LATER));
  t.match(await compartments.get(db, 2), { state: 'free', reservationId: null, quarantineReason: null });
  await t.rejects(
    db.run("UPDATE compartments SET state = 'occupied', reservation_id = NULL WHERE id = 3"),
    { code: 'SQLITE_CONSTRAINT' },
    'the schema refuses an occupied compartment without a reservation',
  );
});

t.test('compartments: allocateFree takes the lowest free one and nothing else', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 6, NOW);
    for (const id of ['r-1', 'r-2', 'r-3', 'r-4']) {
      await reservations.upsert(tx, sampleReservation({ id, code: `C-${id}` }));
    }
    await compartments.setState(tx, 1, { state: 'quarantined', reason: 'abandoned after opening' }, NOW);
    await compartments.setState(tx, 2, { state: 'disabled' }, NOW);
    await compartments.setState(tx, 3, { state: 'occupied', reservationId: 'r-1' }, NOW);
    await compartments.setState(tx, 4, { state: 'reserved', reservationId: 'r-2' }, NOW);
  });
  const [a, b, c] = await db.transaction(async (tx) => [
    await compartments.allocateFree(tx, 'r-3', LATER),
    await compartments.allocateFree(tx, 'r-4', LATER),
    await compartments.allocateFree(tx, 'r-4', LATER),
  ]);
  t.match(a, { id: 5, state: 'reserved', reservationId: 'r-3', updatedAt: LATER.toISOString() });
  t.match(b, { id: 6, state: 'reserved', reservationId: 'r-4' });
  t.equal(c, null, 'none left: quarantined, disabled, occupied and reserved are never handed out');
});

t.test('reservations: upsert inserts, ignores stale versions, applies newer booking data only', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 4, NOW));
  const original = sampleReservation();
  t.equal(await db.transaction((tx) => reservations.upsert(tx, original)), 'inserted');
  t.same(await reservations.getById(db, 'r-1'), original);
  t.same(await reservations.getByCode(db, 'C-0001'), original);
  t.equal(await reservations.getById(db, 'nope'), null);

  // The locker's own changes...
  await db.transaction(async (tx) => {
    await compartments.setState(tx, 2, { state: 'occupied', reservationId: 'r-1' }, LATER);
    await reservations.update(tx, 'r-1', { status: 'deposited', compartmentId: 2, remark: 'spare key too', failedPinAttempts: 2 }, LATER);
  });
  const retransmit = { ...original, driverName: 'Someone Else' };
  t.equal(await db.transaction((tx) => reservations.upsert(tx, retransmit)), 'stale', 'same version: ignored');
  t.equal((await reservations.getById(db, 'r-1'))?.driverName, 'Kari Nordmann');

  // ...survive a newer booking from the back office, which overwrites only its own fields.
  const newer = sampleReservation({
    version: 2,
    appointmentTime: '10:00',
    phones: ['+4798765432'],
    status: 'booked',
    compartmentId: null,
    remark: null,
    failedPinAttempts: 0,
    createdAt: '2030-01-01T00:00:00.000Z',
    updatedAt: LATER.toISOString(),
  });
  t.equal(await db.transaction((tx) => reservations.upsert(tx, newer)), 'updated');
  t.same(await reservations.getById(db, 'r-1'), {
    ...newer,
    status: 'deposited',
    compartmentId: 2,
    remark: 'spare key too',
    failedPinAttempts: 2,
    createdAt: original.createdAt,
  });

  await t.rejects(
    db.transaction((tx) => reservations.upsert(tx, sampleReservation({ id: 'r-2' }))),
    { code: 'SQLITE_CONSTRAINT' },
    'reservation codes are unique',
  );
});

t.test('reservations: found by plate, phone and date', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation({ id: 'a', code: 'A', appointmentTime: '09:00' }));
    await reservations.upsert(tx, sampleReservation({ id: 'b', code: 'B', appointmentTime: null, kind: 'pickup' }));
    await reservations.upsert(tx, sampleReservation({ id: 'c', code: 'C', appointmentTime: '07:30', plate: 'CD67890', phones: ['+46701234567', '+4791234567'] }));
    await reservations.upsert(tx, sampleReservation({ id: 'd', code: 'D', appointmentDate: '2025-03-15', kind: 'pickup', status: 'ready' }));
    await reservations.upsert(tx, sampleReservation({ id: 'e', code: 'E', phones: [], plate: 'EF11111' }));
  });
  const ids = (list: { id: string }[]): string[] => list.map((r) => r.id);
  t.same(ids(await reservations.findByPlate(db, 'AB12345', '2025-03-14')), ['a', 'b']);
  t.same(ids(await reservations.findByPlate(db, 'AB12345', '2025-03-15')), ['d']);
  t.same(ids(await reservations.findByPlate(db, 'ab12345', '2025-03-14')), [], 'plates are matched normalised');
  t.same(ids(await reservations.findByPhone(db, '+4791234567', '2025-03-14')), ['c', 'a', 'b']);
  t.same(ids(await reservations.findByPhone(db, '+46701234567', '2025-03-14')), ['c']);
  t.same(ids(await reservations.findByPhone(db, '+4791234', '2025-03-14')), [], 'whole numbers only');
  t.same(ids(await reservations.listByDate(db, '2025-03-14')), ['c', 'e', 'a', 'b']);
  t.same(ids(await reservations.listByKindOnDates(db, 'pickup', ['2025-03-14', '2025-03-15'])), ['b', 'd']);
  t.same(ids(await reservations.listByKindOnDates(db, 'pickup', [])), []);
});

t.test('reservations: update sets only the given fields; addPhone appends once', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => reservations.upsert(tx, sampleReservation()));
  await db.transaction(async (tx) => {
    t.equal(
      await reservations.update(tx, 'r-1', { paymentRequired: true, paymentStatus: 'pending', paymentAmount: 129900, paymentCurrency: 'NOK', paymentVersion: 4, pinLockedAt: LATER.toISOString() }, LATER),
      true,
    );
    t.equal(await reservations.update(tx, 'missing', { status: 'cancelled' }, LATER), false);
    t.equal(await reservations.addPhone(tx, 'r-1', '+4798765432', LATER), 'added');
    t.equal(await reservations.addPhone(tx, 'r-1', '+4798765432', LATER), 'already_present');
    t.equal(await reservations.addPhone(tx, 'missing', '+4798765432', LATER), 'not_found');
  });
  t.same(await reservations.getById(db, 'r-1'), {
    ...sampleReservation(),
    paymentRequired: true,
    paymentStatus: 'pending',
    paymentAmount: 129900,
    paymentCurrency: 'NOK',
    paymentVersion: 4,
    pinLockedAt: LATER.toISOString(),
    phones: ['+4791234567', '+4798765432'],
    updatedAt: LATER.toISOString(),
  });
  await db.transaction((tx) => reservations.update(tx, 'r-1', { paymentRequired: false, remark: null }, LATER));
  t.match(await reservations.getById(db, 'r-1'), { paymentRequired: false, paymentStatus: 'pending' });
});

t.test('outbox: seq order, listAfter, ackUpTo, pending, purge', async (t) => {
  const { db } = await openTempDb(t);
  const seqs = await db.transaction(async (tx) => {
    const out: number[] = [];
    for (const n of [1, 2, 3, 4, 5]) out.push(await outbox.append(tx, `event.${n}`, { n, nested: { ok: true } }, STAMP));
    return out;
  });
  t.same(seqs, [1, 2, 3, 4, 5]);
  t.equal(await outbox.pendingCount(db), 5);
  t.same(await outbox.listAfter(db, 0, 2), [
    { seq: 1, type: 'event.1', payload: { n: 1, nested: { ok: true } }, wallTime: STAMP.wallTime, monoTime: 1234.5, bootId: 'boot-1', ackedAt: null },
    { seq: 2, type: 'event.2', payload: { n: 2, nested: { ok: true } }, wallTime: STAMP.wallTime, monoTime: 1234.5, bootId: 'boot-1', ackedAt: null },
  ]);
  t.same((await outbox.listAfter(db, 3, 10)).map((e) => e.seq), [4, 5]);

  t.equal(await db.transaction((tx) => outbox.ackUpTo(tx, 3, LATER)), 3);
  t.equal(await db.transaction((tx) => outbox.ackUpTo(tx, 3, LATER)), 0, 'acking again changes nothing');
  t.equal(await outbox.pendingCount(db), 2);
  t.same((await outbox.listAfter(db, 0, 10)).map((e) => e.seq), [4, 5], 'acked events are not listed');
  t.match(await outbox.oldestPending(db), { seq: 4, type: 'event.4' });

  t.equal(await db.transaction((tx) => outbox.purgeAcked(tx, new Date(LATER.getTime() + 1))), 3);
  await db.transaction((tx) => outbox.ackUpTo(tx, 5, LATER));
  t.equal(await outbox.oldestPending(db), null);
  await db.transaction((tx) => outbox.purgeAcked(tx, new Date(LATER.getTime() + 1)));
  t.equal(await db.transaction((tx) => outbox.append(tx, 'event.6', {}, STAMP)), 6, 'seqs are never reused');
});

t.test('an actuation writes audit, compartment and outbox together or not at all', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 2, NOW);
    await reservations.upsert(tx, sampleReservation());
  });
  const intentId = await db.transaction((tx) =>
    audit.append(tx, { at: NOW.toISOString(), compartmentId: 1, action: 'open', phase: 'intent', actor: 'customer', reservationId: 'r-1', bootId: 'boot-1' }),
  );
  t.same((await audit.listOpenIntents(db)).map((e) => e.id), [intentId]);

  const outcome = (tx: Parameters<typeof audit.append>[0]) =>
    audit.append(tx, {
      at: LATER.toISOString(), compartmentId: 1, action: 'open', phase: 'outcome', intentId, actor: 'customer',
      reservationId: 'r-1', result: 'opened', detail: { attempts: 1 }, bootId: 'boot-1',
    });
  await t.rejects(
    db.transaction(async (tx) => {
      await outcome(tx);
      await compartments.setState(tx, 1, { state: 'occupied', reservationId: 'r-1' }, LATER);
      await outbox.append(tx, 'key.deposited', { reservationId: 'r-1', compartmentId: 1 }, STAMP);
      throw new Error('power cut, as far as this transaction knows');
    }),
  );
  t.equal(await outbox.pendingCount(db), 0);
  t.match(await compartments.get(db, 1), { state: 'free' });
  t.equal((await audit.list(db, { limit: 10 })).length, 1);

  await db.transaction(async (tx) => {
    await outcome(tx);
    await compartments.setState(tx, 1, { state: 'occupied', reservationId: 'r-1' }, LATER);
    await outbox.append(tx, 'key.deposited', { reservationId: 'r-1', compartmentId: 1 }, STAMP);
  });
  t.equal(await outbox.pendingCount(db), 1);
  t.same(await audit.listOpenIntents(db), []);
  const entries = await audit.list(db, { compartmentId: 1, limit: 10 });
  t.same(entries.map((e) => e.phase), ['outcome', 'intent'], 'newest first');
  t.same(entries[0], {
    id: intentId + 1, at: LATER.toISOString(), compartmentId: 1, action: 'open', phase: 'outcome', intentId,
    actor: 'customer', reservationId: 'r-1', result: 'opened', detail: { attempts: 1 }, bootId: 'boot-1',
  });
  t.same(await audit.list(db, { compartmentId: 2, limit: 10 }), []);
  t.equal((await audit.list(db, { limit: 1 })).length, 1);
});

t.test('timeline: appended in order, deleted with its reservation', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation());
    await timeline.append(tx, 'r-1', 'pin.accepted', {}, NOW);
    await timeline.append(tx, 'r-1', 'key.deposited', { compartmentId: 3 }, LATER);
  });
  t.same(await timeline.list(db, 'r-1'), [
    { id: 1, reservationId: 'r-1', at: NOW.toISOString(), event: 'pin.accepted', detail: {} },
    { id: 2, reservationId: 'r-1', at: LATER.toISOString(), event: 'key.deposited', detail: { compartmentId: 3 } },
  ]);
  await t.rejects(db.transaction((tx) => timeline.append(tx, 'ghost', 'x', {}, NOW)), { code: 'SQLITE_CONSTRAINT' });
  await db.run('DELETE FROM reservations WHERE id = ?', ['r-1']);
  t.same(await timeline.list(db, 'r-1'), []);
});

t.test('lockouts, settings and inflight round-trip', async (t) => {
  const { db } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 3, NOW);
    await reservations.upsert(tx, sampleReservation());
  });
  t.equal(await lockouts.get(db, 'locker'), null);
  await db.transaction(async (tx) => {
    await lockouts.set(tx, { scope: 'locker', failures: 5, level: 1, lockedUntil: LATER.toISOString(), updatedAt: null });
    await lockouts.set(tx, { scope: 'locker', failures: 6, level: 1, lockedUntil: LATER.toISOString(), updatedAt: LATER.toISOString() });
    await lockouts.set(tx, { scope: lockouts.reservationScope('r-1'), failures: 2, level: 0, lockedUntil: null, updatedAt: null });
  });
  t.same(await lockouts.get(db, 'locker'), { scope: 'locker', failures: 6, level: 1, lockedUntil: LATER.toISOString(), updatedAt: LATER.toISOString() });
  t.same(await lockouts.get(db, 'reservation:r-1'), { scope: 'reservation:r-1', failures: 2, level: 0, lockedUntil: null, updatedAt: null });
  await db.transaction((tx) => lockouts.clear(tx, 'reservation:r-1'));
  t.equal(await lockouts.get(db, 'reservation:r-1'), null);

  t.equal(await settings.get(db, 'unit'), null);
  await db.transaction(async (tx) => {
    await settings.set(tx, 'unit', 'a');
    await settings.set(tx, 'unit', 'b');
  });
  t.equal(await settings.get(db, 'unit'), 'b');

  const entry = { compartmentId: 2, reservationId: 'r-1', journey: 'dropoff' as const, sessionId: 's-1', at: NOW.toISOString() };
  await db.transaction((tx) => inflight.set(tx, entry));
  t.same(await inflight.list(db), [entry]);
  await db.transaction((tx) => inflight.clear(tx, 2));
  t.same(await inflight.list(db), []);
});

t.test('a stored value that does not decode is reported without its content', async (t) => {
  const { db } = await openTempDb(t);
  await db.run(
    "INSERT INTO outbox (type, payload, wall_time, mono_time, boot_id) VALUES ('x', '[\"+4791234567\"]', 'w', 0, 'b')",
  );
  const error = await outbox.listAfter(db, 0, 10).then(
    () => null,
    (e: unknown) => e,
  );
  t.match(error, { code: 'ROW_INVALID', message: 'outbox.payload of seq 1: expected a JSON object' });
  t.notMatch(String((error as Error).message), '4791234567');
});
