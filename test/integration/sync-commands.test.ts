/**
 * Back-office commands on a temporary SQLite file: applied once, versioned, and answered with
 * exactly one result each, in the shape docs/schemas/result.json defines for the command.
 * The reservation lifecycle, payments, help calls and the inventory have files of their own
 * (sync-lifecycle, sync-payments, sync-help, sync-inventory).
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { lockouts, reservations } from '../../kiosk/store/repositories.js';
import { canonicalJson, contentHash } from '../../kiosk/sync/commands.js';
import type { CommandArgs } from '../../kiosk/sync/messages.js';
import { commandFixture as fixture, countRows, wire } from '../helpers/command-fixture.js';

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

t.test('the content hash is the one every earlier release stored: same canonical JSON, same sha-256', async (t) => {
  // The hashes of commands already answered are in applied_commands: a faster canonicaliser must
  // give exactly these strings, or a repeat after an update would be refused as DUPLICATE_ID.
  // This is the first release's definition, kept here as the reference.
  const reference = (value: unknown): string => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) return `[${value.map((item) => reference(item === undefined ? null : item)).join(',')}]`;
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${reference(record[key])}`).join(',')}}`;
  };
  const awkward: unknown[] = [
    null, 0, -1.5, 'text', true, [], {}, [[], [{}]],
    { b: 1, a: [{ d: 2, c: null }] },
    { z: undefined, y: [undefined, 1], x: { w: undefined } },
    { '10': 'a', '9': 'b', a10: 1, A: 2, _: 3, 'é': 4, 'e\u0301': 5, '"q"': 6, 'back\\slash': 7, '😀': 8, '': 9 },
    JSON.parse('{"__proto__": {"x": 1}, "constructor": 2, "toString": 3}'),
    { reservation: { phones: ['+4791000001', '+4791000002'], amountDue: { amount: 1990, currency: 'NOK' }, note: 'line\nbreak\ttab' }, version: 3 },
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key${39 - i}`, i])),
    Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`key${69 - i}`, i])),
    // The same keys in other orders, one after another (a sorted order is reused only for the same sequence).
    { b: 1, a: 2, c: 3 }, { a: 1, b: 2, c: 3 }, { c: 1, b: 2, a: 3 }, { b: 1, a: 2, c: 3 }, { b: 1, a: 2, d: 3 },
  ];
  for (const value of awkward) t.equal(canonicalJson(value), reference(value), `canonical JSON of ${reference(value)}`);
  // Random JSON values: up to 40 keys an object (past the in-place sort's 32), keys that JSON
  // must escape, and more distinct keys than the quoted-key cache keeps (its bound must not change a text).
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  const pool = ['a', 'B', '10', '9', '', 'é', 'e\u0301', '"', '\\', '\n', '😀', 'z'];
  const randomKey = (): string => (next(3) !== 0 ? `k${next(2_000)}` : (pool[next(pool.length)] as string));
  const randomValue = (depth: number): unknown => {
    const kind = depth > 2 ? next(4) : next(6);
    if (kind === 0) return next(2) === 0 ? null : next(2) === 0;
    if (kind === 1) return next(2) === 0 ? next(1_000_000) - 500_000 : next(1_000) / 7;
    if (kind === 2) return randomKey();
    if (kind === 3) return undefined;
    if (kind === 4) return Array.from({ length: next(4) }, () => randomValue(depth + 1));
    const object: Record<string, unknown> = {};
    for (let i = next(41); i > 0; i -= 1) object[randomKey()] = randomValue(depth + 1);
    return object;
  };
  let differing = 0;
  for (let i = 0; i < 400; i += 1) {
    const value = JSON.parse(JSON.stringify({ v: randomValue(0) }) ?? 'null');
    if (canonicalJson(value) !== reference(value)) differing += 1;
  }
  t.equal(differing, 0, 'canonical JSON of 400 random JSON values is the reference text');
  t.equal(
    contentHash('reservation.cancel', { version: 2, reservationId: 'r-1' }),
    createHash('sha256').update('{"args":{"reservationId":"r-1","version":2},"name":"reservation.cancel"}').digest('hex'),
    'sha-256 of that text, hex',
  );
  t.equal(contentHash('reservation.cancel', { version: 2, reservationId: 'r-1' }), contentHash('reservation.cancel', { reservationId: 'r-1', version: 2 }), 'key order does not matter');
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

t.test('mechanic.request is recorded for the mechanic journey', async (t) => {
  const f = await fixture(t);
  await f.run('u', 'reservation.upsert', { reservation: wire(), version: 1 });
  const args = { requestId: 'mr-1', reservationId: 'r-1', purpose: 'retrieve', tabletId: 'tab-1' } as const;
  t.match(await f.run('m1', 'mechanic.request', args), { ok: true, result: { recorded: true } });
  t.match(await f.db.all('SELECT request_id, command_id, reservation_id, purpose, tablet_id, state FROM mechanic_requests'), [
    { request_id: 'mr-1', command_id: 'm1', reservation_id: 'r-1', purpose: 'retrieve', tablet_id: 'tab-1', state: 'pending' },
  ]);
  t.match(await f.run('m2', 'mechanic.request', { ...args, reservationId: 'ghost', requestId: 'mr-2' }), { ok: false, error: { code: 'NOT_FOUND' } });
});

