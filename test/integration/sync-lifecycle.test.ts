/**
 * The reservation's lifecycle as the back office drives it (docs/protocol.md, "Reservations"):
 * what a cancel frees, which transitions are a CONFLICT, when a pickup is ready, and that a
 * finished reservation does not change any more.
 */
import t from 'tap';
import { compartments, inflight, reservations } from '../../kiosk/store/repositories.js';
import { commandFixture as fixture, wire } from '../helpers/command-fixture.js';

t.test('cancel: frees a compartment reserved for it; refuses a key in the locker or a door open right now', async (t) => {
  const f = await fixture(t);
  const now = new Date();
  // A pickup waiting for its key, with compartment 2 held for it.
  await f.run('u1', 'reservation.upsert', { reservation: wire({ id: 'k-1', code: 'K-1', kind: 'pickup' }), version: 1 });
  await f.db.transaction(async (tx) => {
    await compartments.setState(tx, 2, { state: 'reserved', reservationId: 'k-1' }, now);
    await reservations.update(tx, 'k-1', { compartmentId: 2 }, now);
  });
  t.match(await f.run('c1', 'reservation.cancel', { reservationId: 'k-1', version: 2 }), { ok: true, result: { applied: true, status: 'cancelled', freedCompartments: [2] } });
  t.match(await compartments.get(f.db, 2), { state: 'free', reservationId: null });
  t.match(await reservations.getById(f.db, 'k-1'), { status: 'cancelled', compartmentId: null, version: 2 });
  t.same(f.changes.at(-1), ['k-1', 'cancelled'], 'the journey is told, after the commit');
  t.match(await f.run('c1b', 'reservation.cancel', { reservationId: 'k-1', version: 3 }), { ok: true, result: { applied: false, reason: 'already-cancelled' } });

  // A drop-off whose key is in compartment 3.
  await f.run('u2', 'reservation.upsert', { reservation: wire({ id: 'd-1', code: 'D-1' }), version: 1 });
  await f.db.transaction(async (tx) => {
    await compartments.setState(tx, 3, { state: 'occupied', reservationId: 'd-1' }, now);
    await reservations.update(tx, 'd-1', { status: 'deposited', compartmentId: 3 }, now);
  });
  t.match(await f.run('c2', 'reservation.cancel', { reservationId: 'd-1', version: 2 }), { ok: false, error: { code: 'CONFLICT', message: /deposited/ } });
  t.match(await compartments.get(f.db, 3), { state: 'occupied', reservationId: 'd-1' });

  // A drop-off whose door is open for the customer right now.
  await f.run('u3', 'reservation.upsert', { reservation: wire({ id: 'd-2', code: 'D-2' }), version: 1 });
  await f.db.transaction(async (tx) => {
    await compartments.setState(tx, 4, { state: 'reserved', reservationId: 'd-2' }, now);
    await inflight.set(tx, { compartmentId: 4, reservationId: 'd-2', journey: 'dropoff', sessionId: 's-1', at: now.toISOString() });
  });
  t.match(await f.run('c3', 'reservation.cancel', { reservationId: 'd-2', version: 2 }), { ok: false, error: { code: 'CONFLICT', message: /door is open/ } });
  t.match(await reservations.getById(f.db, 'd-2'), { status: 'booked', version: 1 });
  t.match(await compartments.get(f.db, 4), { state: 'reserved', reservationId: 'd-2' });
});

t.test('a pickup naming a free compartment puts its key there; an occupied or quarantined one is a CONFLICT', async (t) => {
  const f = await fixture(t);
  const now = new Date();
  t.match(await f.run('u1', 'reservation.upsert', { reservation: wire({ id: 'k-1', code: 'K-1', kind: 'pickup', compartmentId: 2 }), version: 1 }), { ok: true, result: { applied: true, status: 'ready' } });
  t.match(await compartments.get(f.db, 2), { state: 'occupied', reservationId: 'k-1' });
  t.match(await reservations.getById(f.db, 'k-1'), { status: 'ready', compartmentId: 2 });
  t.match(await f.run('u1b', 'reservation.upsert', { reservation: wire({ id: 'k-1', code: 'K-1', kind: 'pickup', compartmentId: 2, driverName: 'Renamed' }), version: 2 }), { ok: true, result: { applied: true, status: 'ready' } }, 'a newer version naming the same compartment is fine');
  t.match(await f.run('u1c', 'reservation.upsert', { reservation: wire({ id: 'k-1', code: 'K-1', kind: 'pickup', compartmentId: 3 }), version: 3 }), { ok: false, error: { code: 'CONFLICT', message: /is in compartment 2/ } });

  t.match(await f.run('u2', 'reservation.upsert', { reservation: wire({ id: 'k-2', code: 'K-2', kind: 'pickup', compartmentId: 2 }), version: 1 }), { ok: false, error: { code: 'CONFLICT', message: /occupied for another reservation/ } });
  t.equal(await reservations.getById(f.db, 'k-2'), null, 'rolled back: not even the reservation was stored');

  await f.db.transaction((tx) => compartments.setState(tx, 3, { state: 'quarantined', reason: 'forced' }, now));
  t.match(await f.run('u3', 'reservation.upsert', { reservation: wire({ id: 'k-3', code: 'K-3', kind: 'pickup', compartmentId: 3 }), version: 1 }), { ok: false, error: { code: 'CONFLICT', message: /quarantined/ } });
  t.match(await compartments.get(f.db, 3), { state: 'quarantined' });

  t.match(await f.run('u4', 'reservation.upsert', { reservation: wire({ id: 'k-4', code: 'K-4', kind: 'pickup', compartmentId: null }), version: 1 }), { ok: true, result: { status: 'booked' } }, 'no compartment yet: booked');
});

t.test('a ready pickup: its key stays where it is until collected; a cancel or another compartment is a CONFLICT', async (t) => {
  const f = await fixture(t);
  const ready = (version: number, compartmentId: number | null, extra = {}) =>
    f.run(`u-${version}-${String(compartmentId)}`, 'reservation.upsert', { reservation: wire({ id: 'k-1', code: 'K-1', kind: 'pickup', compartmentId, ...extra }), version });
  t.match(await ready(1, 3), { ok: true, result: { status: 'ready' } });
  t.match(await ready(2, null), { ok: false, error: { code: 'CONFLICT', message: /is in compartment 3.*no compartment/ } }, 'an upsert cannot take the key back out');
  t.match(await ready(2, 3, { driverName: 'Renamed', appointmentDate: '2025-03-20' }), { ok: true, result: { applied: true, status: 'ready' } }, 'the booking may change');
  t.match(await f.run('c', 'reservation.cancel', { reservationId: 'k-1', version: 3 }), { ok: false, error: { code: 'CONFLICT', message: /ready: its key is in the locker/ } });
  t.match(await reservations.getById(f.db, 'k-1'), { status: 'ready', compartmentId: 3, version: 2, driverName: 'Renamed' });
  t.match(await compartments.get(f.db, 3), { state: 'occupied', reservationId: 'k-1' });
});

t.test('a deposited drop-off cannot be cancelled or change kind; its booking may still change', async (t) => {
  const f = await fixture(t);
  const now = new Date();
  await f.run('u1', 'reservation.upsert', { reservation: wire({ id: 'd-1', code: 'D-1' }), version: 1 });
  await f.db.transaction(async (tx) => {
    await compartments.setState(tx, 2, { state: 'occupied', reservationId: 'd-1' }, now);
    await reservations.update(tx, 'd-1', { status: 'deposited', compartmentId: 2 }, now);
  });
  t.match(await f.run('u2', 'reservation.upsert', { reservation: wire({ id: 'd-1', code: 'D-1', workOrder: 'WO-2' }), version: 2 }), { ok: true, result: { applied: true, status: 'deposited' } });
  t.match(await f.run('u3', 'reservation.upsert', { reservation: wire({ id: 'd-1', code: 'D-1', kind: 'pickup' }), version: 3 }), { ok: false, error: { code: 'CONFLICT', message: /kind cannot change/ } });
  t.match(await f.run('c', 'reservation.cancel', { reservationId: 'd-1', version: 3 }), { ok: false, error: { code: 'CONFLICT', message: /deposited: its key is in the locker/ } });
  t.match(await reservations.getById(f.db, 'd-1'), { status: 'deposited', workOrder: 'WO-2', version: 2 });
});

t.test('finished reservations (collected, retrieved, cancelled) do not change any more', async (t) => {
  const f = await fixture(t);
  const now = new Date();
  for (const [id, status] of [['f-1', 'collected'], ['f-2', 'retrieved'], ['f-3', 'cancelled']] as const) {
    await f.run(`u-${id}`, 'reservation.upsert', { reservation: wire({ id, code: id }), version: 1 });
    await f.db.transaction((tx) => reservations.update(tx, id, { status }, now));
    t.match(await f.run(`u2-${id}`, 'reservation.upsert', { reservation: wire({ id, code: id, driverName: 'Changed' }), version: 2 }), { ok: false, error: { code: 'CONFLICT', message: new RegExp(`is ${status}: it cannot change`) } }, `${status}: upsert`);
    t.match(await f.run(`s-${id}`, 'reservation.upsert', { reservation: wire({ id, code: id }), version: 1 }), { ok: true, result: { applied: false, reason: 'stale' } }, `${status}: a stale upsert is still just stale`);
    t.match(await reservations.getById(f.db, id), { status, version: 1, driverName: 'Kari Nordmann' });
  }
  t.match(await f.run('c-1', 'reservation.cancel', { reservationId: 'f-1', version: 2 }), { ok: false, error: { code: 'CONFLICT', message: /has been taken/ } });
  t.match(await f.run('c-3', 'reservation.cancel', { reservationId: 'f-3', version: 2 }), { ok: true, result: { applied: false, reason: 'already-cancelled', version: 2 } });
});
