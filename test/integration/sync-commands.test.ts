/**
 * Back-office commands on a temporary SQLite file: applied once, versioned, bound to their
 * reservation, and answered with exactly one result each.
 */
import t, { type Test } from 'tap';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { compartments, inflight, lockouts, reservations } from '../../kiosk/store/repositories.js';
import { canonicalJson, CommandProcessor, contentHash, type ReservationChange } from '../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage, CommandName, ReservationWire, ResultMessage } from '../../kiosk/sync/messages.js';
import { openTempDb } from '../helpers/store.js';
import { PIN_HASH } from '../helpers/sync.js';

interface Fixture {
  db: Db;
  processor: CommandProcessor;
  helpStates: string[];
  changes: [string, ReservationChange][];
  run<N extends CommandName>(id: string, name: N, args: CommandArgs[N]): Promise<ResultMessage>;
}

async function fixture(t: Test): Promise<Fixture> {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 4, new Date()));
  const helpStates: string[] = [];
  const changes: [string, ReservationChange][] = [];
  const processor = new CommandProcessor({
    db,
    lockouts: new LockoutService(),
    logger: createSilentLogger(),
    help: { setHelpCall: (state) => helpStates.push(state) },
  });
  processor.events.on('reservationChanged', (id, change) => changes.push([id, change]));
  return {
    db,
    processor,
    helpStates,
    changes,
    run: (id, name, args) => processor.apply({ v: 1, type: 'command', id, name, args } as CommandMessage),
  };
}

function wire(overrides: Partial<ReservationWire> = {}): ReservationWire {
  return {
    id: 'r-1',
    code: 'C-1',
    kind: 'dropoff',
    workOrder: 'WO-1',
    plate: 'ab-12 345',
    driverName: 'Kari Nordmann',
    phones: ['+4791234567'],
    email: null,
    appointmentDate: '2025-03-14',
    appointmentTime: '08:30',
    pinHash: PIN_HASH,
    compartmentId: null,
    paymentRequired: false,
    ...overrides,
  };
}

const countRows = async (db: Db, table: string): Promise<number> => (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? 0;

t.test('an upsert maps the wire reservation (plate normalised, display as sent) and says what it did', async (t) => {
  const f = await fixture(t);
  const r1 = await f.run('c1', 'reservation.upsert', { reservation: wire(), version: 1 });
  t.match(r1, { v: 1, type: 'result', commandId: 'c1', ok: true, result: { applied: true, created: true, version: 1, status: 'booked' } });
  t.match(await reservations.getById(f.db, 'r-1'), { plate: 'AB12345', plateDisplay: 'ab-12 345', status: 'booked', version: 1, paymentStatus: 'none', phones: ['+4791234567'] });
  t.same(f.changes, [['r-1', 'updated']], 'reservationChanged after the commit');

  const bad = await f.run('c2', 'reservation.upsert', { reservation: wire({ id: 'r-2', code: 'C-2', plate: '!!' }), version: 1 });
  t.match(bad, { ok: false, error: { code: 'SCHEMA', message: /plate/ } });
  t.equal(await reservations.getById(f.db, 'r-2'), null);

  const clash = await f.run('c3', 'reservation.upsert', { reservation: wire({ id: 'r-3', code: 'C-1' }), version: 1 });
  t.match(clash, { ok: false, error: { code: 'CONFLICT' } }, 'another reservation has that code');
});

t.test('a repeated command id gets the first result again and changes nothing; other content under the same id is DUPLICATE_ID', async (t) => {
  const f = await fixture(t);
  const first = await f.run('same-id', 'reservation.upsert', { reservation: wire(), version: 1 });
  t.ok(first.ok);
  // Keys in another order are the same content.
  const reordered = JSON.parse(JSON.stringify({ version: 1, reservation: Object.fromEntries(Object.entries(wire()).reverse()) })) as CommandArgs['reservation.upsert'];
  const repeat = await f.run('same-id', 'reservation.upsert', reordered);
  t.same(repeat, first, 'the stored result, word for word');
  t.equal(f.changes.length, 1, 'applied once');
  t.equal(await countRows(f.db, 'applied_commands'), 1);

  const other = await f.run('same-id', 'reservation.upsert', { reservation: wire({ driverName: 'Someone Else' }), version: 2 });
  t.match(other, { commandId: 'same-id', ok: false, error: { code: 'DUPLICATE_ID' } });
  t.match(await reservations.getById(f.db, 'r-1'), { driverName: 'Kari Nordmann', version: 1 }, 'not applied');
  t.same(await f.run('same-id', 'reservation.upsert', { reservation: wire(), version: 1 }), first, 'the id still belongs to its first content');

  // Failures are remembered too: the same command gets the same answer.
  const missing = await f.run('cancel-x', 'reservation.cancel', { reservationId: 'nope', version: 2 });
  t.match(missing, { ok: false, error: { code: 'NOT_FOUND' } });
  t.same(await f.run('cancel-x', 'reservation.cancel', { reservationId: 'nope', version: 2 }), missing);
  t.equal(await countRows(f.db, 'applied_commands'), 2, 'the DUPLICATE_ID answer is not recorded');

  t.equal(canonicalJson({ b: 1, a: [{ d: 2, c: null }] }), '{"a":[{"c":null,"d":2}],"b":1}');
  t.equal(contentHash('x', { a: 1, b: 2 }), contentHash('x', { b: 2, a: 1 }));
  t.not(contentHash('x', { a: 1 }), contentHash('y', { a: 1 }), 'the name is part of the content');
});

t.test('stale reservation versions are ignored and said so; reordered commands end in the newer state', async (t) => {
  const f = await fixture(t);
  t.match(await f.run('v2', 'reservation.upsert', { reservation: wire({ appointmentTime: '10:00' }), version: 2 }), { ok: true, result: { applied: true, version: 2 } });
  // Version 1 was sent first but arrives after version 2.
  t.match(await f.run('v1', 'reservation.upsert', { reservation: wire({ appointmentTime: '08:00' }), version: 1 }), { ok: true, result: { applied: false, reason: 'stale', version: 2 } });
  t.match(await f.run('v2-again', 'reservation.upsert', { reservation: wire({ appointmentTime: '09:00' }), version: 2 }), { ok: true, result: { applied: false, reason: 'stale' } }, 'an equal version is not newer');
  t.match(await reservations.getById(f.db, 'r-1'), { appointmentTime: '10:00', version: 2 });

  // A cancel at version 3 overtaken by an upsert at version 4: the upsert applies, the late cancel does not.
  t.match(await f.run('v4', 'reservation.upsert', { reservation: wire({ appointmentTime: '11:00' }), version: 4 }), { ok: true, result: { applied: true } });
  t.match(await f.run('v3-cancel', 'reservation.cancel', { reservationId: 'r-1', version: 3 }), { ok: true, result: { applied: false, reason: 'stale', version: 4 } });
  t.match(await reservations.getById(f.db, 'r-1'), { status: 'booked', appointmentTime: '11:00', version: 4 });
});

t.test('payment status: versioned, bound to the amount, and it is what opens or closes the way', async (t) => {
  const f = await fixture(t);
  await f.run('u', 'reservation.upsert', { reservation: wire({ id: 'p-1', code: 'P-1', kind: 'pickup', paymentRequired: true }), version: 1 });
  const pay = (version: number, status: CommandArgs['payment.status']['status'], amount = 189000, currency = 'NOK'): CommandArgs['payment.status'] => ({ reservationId: 'p-1', status, amount, currency, version });

  t.match(await f.run('p1', 'payment.status', pay(1, 'pending')), { ok: true, result: { applied: true, status: 'pending' } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'pending', paymentAmount: 189000, paymentCurrency: 'NOK', paymentVersion: 1 });

  t.match(await f.run('p2-wrong', 'payment.status', pay(2, 'paid', 100)), { ok: false, error: { code: 'AMOUNT_MISMATCH' } });
  t.match(await f.run('p2-eur', 'payment.status', pay(2, 'paid', 189000, 'EUR')), { ok: false, error: { code: 'AMOUNT_MISMATCH' } }, 'another currency is another amount');
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'pending', paymentVersion: 1 }, 'a mismatch changes nothing');

  t.match(await f.run('p3', 'payment.status', pay(3, 'paid')), { ok: true, result: { applied: true, status: 'paid' } });
  t.match(await f.run('p2-late', 'payment.status', pay(2, 'cancelled')), { ok: true, result: { applied: false, reason: 'stale', version: 3 } }, 'an older payment version arriving late');
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'paid', paymentVersion: 3 });

  t.match(await f.run('p4', 'payment.status', pay(4, 'refunded')), { ok: true, result: { applied: true } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'refunded' }, 'refunded: the way is closed again');

  // A newer booking version keeps the amount the locker holds (the wire reservation carries none).
  await f.run('u2', 'reservation.upsert', { reservation: wire({ id: 'p-1', code: 'P-1', kind: 'pickup', paymentRequired: true, driverName: 'New Name' }), version: 2 });
  t.match(await reservations.getById(f.db, 'p-1'), { driverName: 'New Name', paymentAmount: 189000, paymentCurrency: 'NOK', paymentStatus: 'refunded', paymentVersion: 4 });

  t.match(await f.run('p-none', 'payment.status', { ...pay(1, 'paid'), reservationId: 'ghost' }), { ok: false, error: { code: 'NOT_FOUND' } });
  t.ok(f.changes.some(([id, change]) => id === 'p-1' && change === 'payment'));
});

t.test('reset needs the reservation code and clears the PIN lockout', async (t) => {
  const f = await fixture(t);
  await f.run('u', 'reservation.upsert', { reservation: wire(), version: 1 });
  const now = new Date();
  await f.db.transaction(async (tx) => {
    await lockouts.set(tx, { scope: 'reservation:r-1', failures: 5, level: 1, lockedUntil: null, updatedAt: null });
    await reservations.update(tx, 'r-1', { failedPinAttempts: 5, pinLockedAt: now.toISOString() }, now);
  });
  t.match(await f.run('reset-bad', 'reservation.reset', { reservationId: 'r-1', code: 'C-2' }), { ok: false, error: { code: 'CODE_MISMATCH' } });
  t.match(await reservations.getById(f.db, 'r-1'), { pinLockedAt: now.toISOString() }, 'still locked');
  t.match(await f.run('reset-ok', 'reservation.reset', { reservationId: 'r-1', code: 'C-1' }), { ok: true, result: { applied: true, wasLocked: true } });
  t.match(await reservations.getById(f.db, 'r-1'), { pinLockedAt: null, failedPinAttempts: 0 });
  t.equal(await lockouts.get(f.db, 'reservation:r-1'), null);
  t.match(await f.run('reset-none', 'reservation.reset', { reservationId: 'ghost', code: 'C-1' }), { ok: false, error: { code: 'NOT_FOUND' } });
});

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

t.test('help.update and mechanic.request', async (t) => {
  const f = await fixture(t);
  t.match(await f.run('h1', 'help.update', { callId: 'call-1', state: 'taken', by: 'Reception' }), { ok: true, result: { applied: true, state: 'taken' } });
  t.same(f.helpStates, ['taken'], 'the screens show the call was taken');
  t.match(await f.db.get('SELECT state, taken_by, taken_at FROM help_calls WHERE id = ?', ['call-1']), { state: 'taken', taken_by: 'Reception' });
  t.match(await f.run('h2', 'help.update', { callId: 'call-1', state: 'closed', by: null }), { ok: true, result: { applied: true, state: 'closed' } });
  t.same(f.helpStates, ['taken', 'none']);
  t.match(await f.run('h3', 'help.update', { callId: 'call-1', state: 'taken', by: 'Late' }), { ok: true, result: { applied: false, reason: 'stale' } }, 'a late "taken" does not reopen a closed call');
  t.same(f.helpStates, ['taken', 'none']);

  await f.run('u', 'reservation.upsert', { reservation: wire(), version: 1 });
  const args = { requestId: 'mr-1', reservationId: 'r-1', purpose: 'retrieve', tabletId: 'tab-1' } as const;
  t.match(await f.run('m1', 'mechanic.request', args), { ok: true, result: { recorded: true } });
  t.match(await f.db.all('SELECT request_id, command_id, reservation_id, purpose, tablet_id, state FROM mechanic_requests'), [
    { request_id: 'mr-1', command_id: 'm1', reservation_id: 'r-1', purpose: 'retrieve', tablet_id: 'tab-1', state: 'pending' },
  ]);
  t.match(await f.run('m2', 'mechanic.request', { ...args, reservationId: 'ghost', requestId: 'mr-2' }), { ok: false, error: { code: 'NOT_FOUND' } });
});

t.test('commands applied together share a transaction but fail alone', async (t) => {
  const f = await fixture(t);
  const results = await f.processor.applyMany([
    { v: 1, type: 'command', id: 'b1', name: 'reservation.upsert', args: { reservation: wire({ id: 'b-1', code: 'B-1' }), version: 1 } },
    { v: 1, type: 'command', id: 'b2', name: 'reservation.upsert', args: { reservation: wire({ id: 'b-2', code: 'B-1' }), version: 1 } },
    { v: 1, type: 'command', id: 'b3', name: 'reservation.upsert', args: { reservation: wire({ id: 'b-3', code: 'B-3' }), version: 1 } },
    { v: 1, type: 'command', id: 'b1', name: 'reservation.upsert', args: { reservation: wire({ id: 'b-1', code: 'B-1' }), version: 1 } },
  ]);
  t.same(results.map((r) => [r.commandId, r.ok, r.ok ? null : r.error?.code]), [
    ['b1', true, null],
    ['b2', false, 'CONFLICT'],
    ['b3', true, null],
    ['b1', true, null],
  ]);
  t.same(results[3], results[0], 'a repeat inside the same batch gets the first result');
  t.same((await f.db.all<{ id: string }>('SELECT id FROM reservations ORDER BY id')).map((r) => r.id), ['b-1', 'b-3']);
  t.same(f.changes.map(([id]) => id), ['b-1', 'b-3']);
});
