/**
 * The reference back office end to end: the real HTTP server on 127.0.0.1 port 0, and a tiny
 * ws client in the test playing the locker (test/helpers/fake-locker.ts). The contract's newer
 * parts (enrolment, clock, nack, help calls received, the inventory) are in
 * backoffice-contract.test.ts.
 */
import t from 'tap';
import WebSocket from 'ws';
import type { StaffState, TabletState } from '../reference-backoffice/service.js';
import { localDate } from '../../kiosk/core/dates.js';
import { verifyPin } from '../../kiosk/core/pin.js';
import { createLogger } from '../../kiosk/logging.js';
import { SUBPROTOCOL } from '../../kiosk/sync/messages.js';
import { DROPOFF, FakeLocker, TIME_ZONE, UNIT, counts, eventMessage, hello, postJson, refusedStatus, start, token, unitKeys } from '../helpers/fake-locker.js';

// -----------------------------------------------------------------------------------------

t.test('the upgrade needs a valid token of a registered unit: 401 otherwise, no upgrade', async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const other = await unitKeys();
  const now = Math.floor(Date.now() / 1000);

  t.equal(await refusedStatus(bo.lockerUrl, {}), 401, 'no Authorization header');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: 'Bearer not-a-jwt' }), 401, 'garbage');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), 401, 'not a bearer token');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(other)}` }), 401, 'signed with another key');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(keys, { audience: 'someone-else' })}` }), 401, 'wrong audience');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(keys, { iat: now - 900, exp: now - 600 })}` }), 401, 'expired');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(keys, { iat: now - 400, exp: now + 60 })}` }), 401, 'issued more than 5 minutes ago');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(keys, { exp: now + 3600 })}` }), 401, 'valid for more than 5 minutes');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(other, { unitId: 'unknown-unit' })}` }), 401, 'unknown unit');
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(keys)}` }, 'something.else'), 400, 'another subprotocol');
  t.equal((await bo.service.getUnit(UNIT))?.linkState, 'never', 'no refused attempt made the unit online');

  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.equal(locker.ws.protocol, SUBPROTOCOL, 'a good token is let in, with the subprotocol');
  await locker.close();
  t.same(locker.invalid, []);

  await t.rejects(bo.registerUnit('bad unit id', keys.publicJwk), { code: 'BAD_INPUT' }, 'unit ids are checked');
  await t.rejects(bo.registerUnit(UNIT, { ...keys.publicJwk, d: 'secret' }), { code: 'BAD_INPUT' }, 'a private key is refused');
});

t.test('hello gets welcome with ackedSeq; events are stored once and acked contiguously', async (t) => {
  const { bo, db } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const before = Date.now();
  let locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  const welcome = await locker.hello();
  t.equal(welcome.ackedSeq, 0, 'nothing held yet');
  const serverTime = Date.parse(String(welcome.serverTime));
  t.ok(serverTime >= before - 1000 && serverTime <= Date.now() + 1000, 'serverTime is the time of the welcome');
  t.equal((await bo.service.getUnit(UNIT))?.linkState, 'online');

  locker.send(eventMessage(1));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 1 });
  locker.send(eventMessage(2));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 2 });

  locker.send(eventMessage(4));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 2 }, 'a gap: 4 is held but the ack stays at 2');
  locker.send(eventMessage(2, 'compartment.closed', { compartment: 9 }));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 2 }, 'a repeat is dropped and acked again');
  locker.send(eventMessage(3));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 4 }, 'the gap filled: the ack jumps to 4');
  locker.send(eventMessage(4));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 4 });

  t.same(
    await db.all('SELECT seq, type, json_extract(payload, "$.compartment") AS compartment FROM events WHERE unit_id = ? ORDER BY seq', [UNIT]),
    [1, 2, 3, 4].map((seq) => ({ seq, type: 'compartment.closed', compartment: 1 })),
    'each seq once, the first copy kept',
  );
  const state = await bo.service.staffState();
  t.match(state.units[0], { unitId: UNIT, linkState: 'online', ackedSeq: 4, nextSeq: 5, outboxLag: 0 });
  t.type(state.units[0]?.lastEventAgeS, 'number', 'the age of the last event is known');
  await locker.close();
  t.same(locker.invalid, []);
  t.equal((await bo.service.getUnit(UNIT))?.linkState, 'offline', 'offline once the connection closed');

  locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.equal((await locker.hello({ outbox: { firstUnacked: 5, firstHeld: 1, nextSeq: 7 } })).ackedSeq, 4, 'after a reconnect welcome says what is held');
  const lag = (await bo.service.staffState()).units[0];
  t.equal(lag?.outboxLag, 2, 'outbox lag = (nextSeq - 1) - ackedSeq');
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('events the locker no longer holds (acked by an earlier database, then deleted) do not stall it', async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.equal((await locker.hello({ outbox: { firstUnacked: 10, firstHeld: 10, nextSeq: 12 } })).ackedSeq, 9);
  locker.send(eventMessage(10));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 10 });
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('commands made while the unit is offline are sent after hello in order, and again after reconnects until answered', async (t) => {
  const { bo, db } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);

  const created = await postJson(bo.url, '/api/reservations', { ...DROPOFF });
  t.equal(created.status, 201);
  const pickup = await postJson(bo.url, '/api/reservations', {
    kind: 'pickup', workOrder: 'WO-8', plate: 'CD34567', driverName: 'Ingrid Berg', phones: ['+4790011223'], compartmentId: 12, paymentRequired: true, paymentAmount: 99000,
  });
  t.equal(pickup.status, 201);
  const dropId: string = created.body.reservation.id;
  const pickId: string = pickup.body.reservation.id;
  t.match(created.body.reservation, { status: 'booked', version: 1, plate: 'AB12345', phones: ['+4791234567'] });
  t.match(pickup.body.reservation, { status: 'ready', paymentStatus: 'pending', paymentVersion: 1 });
  t.match(created.body.reservation.pin, /^\d{6}$/);
  t.ok(await verifyPin(created.body.reservation.pin, created.body.reservation.pinHash), 'the hash sent is the PIN kept');
  t.equal((await postJson(bo.url, `/api/reservations/${dropId}/cancel`, {})).status, 200, 'cancelled while offline');

  const expected = await db.all<{ id: string; name: string }>('SELECT id, name FROM commands WHERE unit_id = ? ORDER BY n', [UNIT]);
  t.same(expected.map((c) => c.name), ['reservation.upsert', 'reservation.upsert', 'payment.status', 'reservation.cancel']);
  t.same(await db.all('SELECT id FROM commands WHERE sent_at IS NOT NULL'), [], 'nothing sent while offline');

  // First connection: all four, in creation order; no answers.
  let locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  let commands = await locker.nextN(4);
  t.same(commands.map((c) => c.id), expected.map((c) => c.id), 'sent in creation order');
  t.same(commands.map((c) => c.type), ['command', 'command', 'command', 'command']);
  const upsert = commands[0] as unknown as { args: { reservation: Record<string, unknown>; version: number } };
  t.match(upsert.args, { version: 1, reservation: { id: dropId, kind: 'dropoff', plate: 'AB 12345', phones: ['+4791234567'], email: 'kari@example.com', appointmentTime: '08:30', compartmentId: null, paymentRequired: false } });
  t.notOk('pin' in upsert.args.reservation, 'the PIN itself never crosses the wire');
  t.match(commands[2], { name: 'payment.status', args: { reservationId: pickId, status: 'pending', amount: 99000, currency: 'NOK', version: 1 } });
  t.match(commands[3], { name: 'reservation.cancel', args: { reservationId: dropId, version: 2 } });
  await locker.close();

  // Reconnect: the same ids again, in the same order. Answer the first two.
  locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  commands = await locker.nextN(4);
  t.same(commands.map((c) => c.id), expected.map((c) => c.id), 're-sent with the same ids');
  locker.send({ v: 1, type: 'result', commandId: expected[0]?.id, ok: true, result: { applied: true } });
  locker.send({ v: 1, type: 'result', commandId: expected[1]?.id, ok: true, result: { applied: true } });
  t.same(await locker.settle(1), [], 'nothing else arrives meanwhile');
  await locker.close();

  // Reconnect: only the two unanswered ones.
  locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  locker.inventory = [
    { id: dropId, version: 1, paymentVersion: 0, status: 'booked' },
    { id: pickId, version: 1, paymentVersion: 0, status: 'ready' },
  ];
  await locker.hello({ outbox: { firstUnacked: null, firstHeld: 1, nextSeq: 2 } });
  commands = await locker.nextN(2);
  t.same(commands.map((c) => c.id), expected.slice(2).map((c) => c.id));
  locker.send({ v: 1, type: 'result', commandId: expected[2]?.id, ok: true, result: { applied: true } });
  locker.send({ v: 1, type: 'result', commandId: expected[3]?.id, ok: false, error: { code: 'CONFLICT', message: 'customer mid-journey' } });
  t.same(await locker.settle(2), []);

  // While online a new command goes out at once.
  const paid = await postJson(bo.url, `/api/reservations/${pickId}/payment`, { status: 'paid' });
  t.equal(paid.status, 200);
  const live = await locker.next();
  t.match(live, { type: 'command', name: 'payment.status', args: { reservationId: pickId, status: 'paid', amount: 99000, version: 2 } });
  locker.send({ v: 1, type: 'result', commandId: live.id, ok: true, result: { applied: true } });
  t.same(await locker.settle(3), []);
  await locker.close();

  // All answered, and the locker holds the versions: nothing is sent on the next hello.
  locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  locker.inventory = [
    { id: dropId, version: 2, paymentVersion: 0, status: 'cancelled' },
    { id: pickId, version: 1, paymentVersion: 2, status: 'ready' },
  ];
  await locker.hello({ outbox: { firstUnacked: null, firstHeld: 1, nextSeq: 4 } });
  t.same(await locker.settle(4), [], 'nothing pending');
  const rows = await db.all<{ ok: number; result: string; send_count: number }>("SELECT ok, result, send_count FROM commands WHERE name <> 'inventory.page' ORDER BY n");
  t.ok(locker.pagesServed >= 1, `the back office paged the inventory when the digest was not the one it knew (${locker.pagesServed} pages)`);
  t.same(rows.map((r) => r.ok), [1, 1, 1, 0, 1]);
  t.same(rows.map((r) => r.send_count), [2, 2, 3, 3, 1], 'each sent once per connection until answered');
  t.match(JSON.parse(rows[3]?.result ?? '{}'), { error: { code: 'CONFLICT' } });
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('a locker that lost what it applied gets fresh commands on hello', async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const created = await postJson(bo.url, '/api/reservations', { ...DROPOFF });
  let locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  const first = await locker.next();
  locker.send({ v: 1, type: 'result', commandId: first.id, ok: true, result: { applied: true } });
  t.same(await locker.settle(1), []);
  await locker.close();

  locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  locker.inventory = []; // its database was replaced
  await locker.hello({ outbox: { firstUnacked: null, firstHeld: 1, nextSeq: 2 } });
  const again = await locker.next();
  t.match(again, { type: 'command', name: 'reservation.upsert', args: { version: 1, reservation: { id: created.body.reservation.id } } });
  t.not(again.id, first.id, 'a new command: the answered one is not repeated');
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('bad frames get an error and the connection stays open', async (t) => {
  const { bo, db } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();

  const cases: [string, string | Buffer, string][] = [
    ['not JSON', '{"v":1,', 'MALFORMED'],
    ['not an object', '[1,2,3]', 'MALFORMED'],
    ['unknown type', JSON.stringify({ v: 1, type: 'teleport' }), 'UNKNOWN_TYPE'],
    ['another version', JSON.stringify({ ...hello(), v: 2 }), 'UNSUPPORTED_VERSION'],
    ['wrong schema', JSON.stringify({ ...eventMessage(1), seq: 'one' }), 'SCHEMA'],
    ['a hello of the wrong shape', JSON.stringify({ ...hello(), compartments: 'none' }), 'SCHEMA'],
    ['65 KiB', JSON.stringify({ ...eventMessage(1), payload: { compartment: 1, pad: 'x'.repeat(65 * 1024) } }), 'TOO_LARGE'],
  ];
  for (const [what, frame, code] of cases) {
    locker.ws.send(frame);
    const reply = await locker.next();
    t.match(reply, { v: 1, type: 'error', code }, what);
    t.equal(locker.ws.readyState, WebSocket.OPEN, `${what}: still open`);
  }
  locker.ws.send(Buffer.from([0xff, 0x00]), { binary: true });
  t.match(await locker.next(), { type: 'error', code: 'MALFORMED' }, 'a binary frame');
  t.same(await db.all('SELECT seq FROM events'), [], 'none of them was stored');

  locker.send(hello({ unitId: 'someone-else' }));
  t.match(await locker.next(), { type: 'error', code: 'UNAUTHORISED' }, 'a hello for another unit than the token');

  locker.send(eventMessage(1));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 1 }, 'the connection still works');
  t.equal((await locker.hello()).type, 'welcome');
  await locker.close();
  t.same(locker.invalid, []);
});

t.test("locker events change the master copy: deposit, help call, PIN delivery, lockout, mechanic request", async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const created = await postJson(bo.url, '/api/reservations', { ...DROPOFF });
  const id: string = created.body.reservation.id;
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  const upsert = await locker.next();
  locker.send({ v: 1, type: 'result', commandId: upsert.id, ok: true, result: { applied: true } });

  t.equal((await postJson(bo.url, '/api/mechanic/request', { reservationId: id })).status, 401, 'a tablet that is not enrolled is refused');
  const code = (await postJson(bo.url, '/api/tablets/enrolment-code', {})).body.code as string;
  const enrolled = await postJson(bo.url, '/api/tablets/enrol', { code, name: 'Bay 1' });
  t.equal(enrolled.status, 201, 'a tablet enrols with the code from the staff page');
  t.equal((await postJson(bo.url, '/api/tablets/enrol', { code, name: 'Bay 2' })).status, 403, 'an enrolment code works once');
  const tabletId: string = enrolled.body.tabletId;
  const asTablet = { Authorization: `Bearer ${String(enrolled.body.credential)}` };
  const notInLocker = await postJson(bo.url, '/api/mechanic/request', { reservationId: id }, asTablet);
  t.equal(notInLocker.status, 409, 'a mechanic cannot ask for a key that is not in the locker');
  t.match(await postJson(bo.url, '/api/mechanic/request', { reservationId: id, purpose: 'steal' }, asTablet), { status: 400, body: { error: { field: 'purpose' } } });

  const events: [string, Record<string, unknown>][] = [
    ['pin.delivery-requested', { reservationId: id }],
    ['lockout.reservation', { reservationId: id }],
    ['compartment.opened', { compartment: 5, reservationId: id, purpose: 'dropoff', confirmed: true }],
    ['key.deposited', { reservationId: id, workOrder: 'WO-7', compartment: 5, addedPhone: '+4798765432', remark: 'Squeaky brakes' }],
    ['compartment.quarantined', { compartment: 5, reason: 'door forced' }],
    ['help.requested', { callId: 'call-1', step: 'pin', journey: 'dropoff', compartment: null }],
    ['board.offline', { board: 1, reason: 'no answer' }],
  ];
  for (const [index, [event, payload]] of events.entries()) {
    locker.send(eventMessage(index + 1, event, payload));
    t.same(await locker.next(), { v: 1, type: 'ack', seq: index + 1 }, event);
    if (event === 'help.requested') {
      const received = await locker.next();
      t.match(received, { type: 'command', name: 'help.update', args: { callId: 'call-1', state: 'received', by: null } }, 'the locker is told at once that the call arrived');
      locker.send({ v: 1, type: 'result', commandId: received.id, ok: true, result: { applied: true, state: 'received' } });
    }
  }

  let state = await bo.service.staffState();
  const r = state.reservations.find((x) => x.id === id);
  t.match(r, { status: 'deposited', compartmentId: 5, remark: 'Squeaky brakes', addedPhone: '+4798765432', pinLocked: true });
  const timeline = r?.timeline.map((e) => e.event) ?? [];
  t.same(timeline, ['created', 'locker.answered', 'pin.sent', 'lockout.reservation', 'compartment.opened', 'key.deposited', 'compartment.quarantined']);
  t.match(r?.timeline[2]?.detail, { channels: ['e-mail', 'SMS'], simulated: true }, 'PIN delivery recorded, and said to be simulated');
  t.match(state.helpCalls, [{ callId: 'call-1', unitId: UNIT, state: 'open', step: 'pin' }]);
  t.equal(state.events.length, 7);

  // Reset clears the lock once the locker confirms.
  t.equal((await postJson(bo.url, `/api/reservations/${id}/reset`, {})).status, 200);
  const reset = await locker.next();
  t.match(reset, { type: 'command', name: 'reservation.reset', args: { reservationId: id, code: created.body.reservation.code } });
  locker.send({ v: 1, type: 'result', commandId: reset.id, ok: true, result: {} });

  // Help call: take, then close.
  const taken = await postJson(bo.url, '/api/help/call-1/take', { by: 'Anna' });
  t.equal(taken.status, 200);
  t.match(await locker.next(), { type: 'command', name: 'help.update', args: { callId: 'call-1', state: 'taken', by: 'Anna' } });
  t.equal((await postJson(bo.url, '/api/help/call-1/take', { by: 'Anna' })).status, 409, 'already taken');
  t.equal((await postJson(bo.url, '/api/help/call-1/close', {})).status, 200);
  t.match(await locker.next(), { type: 'command', name: 'help.update', args: { callId: 'call-1', state: 'closed', by: null } });
  t.equal((await postJson(bo.url, '/api/help/nope/close', {})).status, 404);

  // Mechanic request: the key is in now.
  t.equal((await fetch(new URL('/api/tablet', bo.url))).status, 401, 'the work-order feed is for enrolled tablets only');
  const tablet = (await (await fetch(new URL('/api/tablet', bo.url), { headers: asTablet })).json()) as TabletState;
  t.match(tablet.keys, [{ reservationId: id, workOrder: 'WO-7', compartmentId: 5 }]);
  t.notOk(JSON.stringify(tablet).includes(created.body.reservation.pin), 'the tablet never sees a PIN');
  const asked = await postJson(bo.url, '/api/mechanic/request', { reservationId: id, tabletId: 'tablet-spoofed' }, asTablet);
  t.equal(asked.status, 400, 'the tablet cannot name itself: its credential does');
  const askedRight = await postJson(bo.url, '/api/mechanic/request', { reservationId: id }, asTablet);
  t.equal(askedRight.status, 202);
  Object.assign(asked, askedRight);
  const request = await locker.next();
  t.match(request, { type: 'command', id: asked.body.commandId, name: 'mechanic.request', args: { requestId: asked.body.requestId, reservationId: id, purpose: 'retrieve', tabletId } });
  locker.send({ v: 1, type: 'result', commandId: request.id, ok: true, result: { accepted: true } });
  t.same(await locker.settle(8), []);
  const tabletAfter = (await (await fetch(new URL('/api/tablet', bo.url), { headers: asTablet })).json()) as TabletState;
  t.match(tabletAfter.requests, [{ requestId: asked.body.requestId, ok: true, tabletId }]);
  // The scan is forwarded as mechanic.open naming the authenticated tablet; a revoked tablet can do nothing.
  const scanned = await postJson(bo.url, '/api/mechanic/scan', { requestId: asked.body.requestId, token: 'eyJ.token.as-scanned' }, asTablet);
  t.equal(scanned.status, 202);
  const open = await locker.next();
  t.match(open, { type: 'command', id: scanned.body.commandId, name: 'mechanic.open', args: { requestId: asked.body.requestId, token: 'eyJ.token.as-scanned', tabletId } });
  locker.send({ v: 1, type: 'result', commandId: open.id, ok: true, result: { accepted: false, reason: 'BAD_SIGNATURE' } });
  t.same(await locker.settle(8), []);
  t.equal((await postJson(bo.url, `/api/tablets/${tabletId}/revoke`, {})).status, 200);
  t.equal((await postJson(bo.url, '/api/mechanic/scan', { requestId: asked.body.requestId, token: 'x' }, asTablet)).status, 401, 'a revoked tablet is refused');

  locker.send(eventMessage(9, 'key.collected', { reservationId: id, compartment: 5 }));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 9 });
  state = await bo.service.staffState();
  t.match(state.reservations.find((x) => x.id === id), { status: 'retrieved', pinLocked: false });
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('the HTTP API refuses bad input with 400 naming the field, and changes nothing', async (t) => {
  const { bo, db } = await start(t);
  const keys = await unitKeys();

  t.match(await postJson(bo.url, '/api/reservations', { ...DROPOFF }), { status: 409, body: { error: { code: 'NO_UNIT' } } }, 'no unit registered yet');
  await bo.registerUnit(UNIT, keys.publicJwk);
  const good = await postJson(bo.url, '/api/reservations', {
    kind: 'pickup', workOrder: 'WO-9', plate: 'EF45678', driverName: 'Lars Lie', paymentRequired: true, paymentAmount: 249000,
  });
  t.equal(good.status, 201);
  const id: string = good.body.reservation.id;
  const before = await counts(db);

  const bad: [string, string, unknown, string | null][] = [
    ['/api/reservations', 'kind', { ...DROPOFF, kind: 'delivery' }, 'kind'],
    ['/api/reservations', 'missing work order', { ...DROPOFF, workOrder: '' }, 'workOrder'],
    ['/api/reservations', 'plate', { ...DROPOFF, plate: '#!' }, 'plate'],
    ['/api/reservations', 'phone', { ...DROPOFF, phones: ['12'] }, 'phones.0'],
    ['/api/reservations', 'e-mail', { ...DROPOFF, email: 'not-an-address' }, 'email'],
    ['/api/reservations', 'date', { ...DROPOFF, appointmentDate: '2025-02-30' }, 'appointmentDate'],
    ['/api/reservations', 'time', { ...DROPOFF, appointmentTime: '25:00' }, 'appointmentTime'],
    ['/api/reservations', 'compartment', { ...DROPOFF, kind: 'pickup', compartmentId: 17 }, 'compartmentId'],
    ['/api/reservations', 'drop-off compartment', { ...DROPOFF, compartmentId: 3 }, 'compartmentId'],
    ['/api/reservations', 'amount missing', { ...DROPOFF, kind: 'pickup', paymentRequired: true }, 'paymentAmount'],
    ['/api/reservations', 'amount not integer', { ...DROPOFF, kind: 'pickup', paymentRequired: true, paymentAmount: 12.5 }, 'paymentAmount'],
    ['/api/reservations', 'unknown field', { ...DROPOFF, pinHash: 'scrypt$x' }, 'pinHash'],
    ['/api/reservations', 'unknown unit', { ...DROPOFF, unitId: 'elsewhere' }, 'unitId'],
    ['/api/reservations', 'not an object', [1, 2], null],
    [`/api/reservations/${id}/payment`, 'payment status', { status: 'free' }, 'status'],
    [`/api/reservations/${id}`, 'update with nothing', {}, null],
    [`/api/reservations/${id}`, 'update compartment', { compartmentId: 0 }, 'compartmentId'],
    ['/api/tablets/enrol', 'enrolment code', { code: '12', name: 'Bay 1' }, 'code'],
    ['/api/help/x/take', 'by too long', { by: 'x'.repeat(61) }, 'by'],
  ];
  for (const [path, what, body, field] of bad) {
    const res = await postJson(bo.url, path, body);
    t.equal(res.status, 400, `${what}: 400`);
    t.equal(res.body.error?.code, 'BAD_INPUT', `${what}: BAD_INPUT`);
    t.equal(res.body.error?.field, field, `${what}: names ${field}`);
  }
  t.match(await postJson(bo.url, '/api/reservations', '{"kind":'), { status: 400, body: { error: { code: 'BAD_INPUT' } } }, 'broken JSON');
  const form = await fetch(new URL(`/api/reservations/${id}/cancel`, bo.url), { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
  t.equal(form.status, 415, 'a cross-site form post (not JSON) is refused');
  t.equal((await postJson(bo.url, `/api/reservations/${id}/cancel`, {}, { Origin: 'http://evil.example' })).status, 403, 'another origin is refused');
  t.equal((await postJson(bo.url, '/api/reservations/nope/cancel', {})).status, 404);
  t.equal((await postJson(bo.url, `/api/reservations/${id}/payment`, { status: 'refunded' })).status, 409, 'refund of an unpaid payment');
  t.same(await counts(db), before, 'nothing changed');

  t.equal((await postJson(bo.url, `/api/reservations/${id}/cancel`, {})).status, 200);
  t.equal((await postJson(bo.url, `/api/reservations/${id}/cancel`, {})).status, 409, 'cancelled twice');
});

t.test('demo: the README demo appointments for today, as commands sent when the locker connects', async (t) => {
  const { bo, db } = await start(t, { demo: true });
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  await bo.registerUnit(UNIT, keys.publicJwk); // registering again seeds nothing twice
  const today = localDate(new Date(), TIME_ZONE);

  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  const commands = await locker.nextN(7);
  t.same(await locker.settle(1), [], 'exactly seven commands');
  const upserts = commands.filter((c) => c.name === 'reservation.upsert').map((c) => (c.args as { reservation: Record<string, unknown> }).reservation);
  // The README's table: PIN, plate, who.
  const readme: [string, string, string, string, number | null][] = [
    ['123456', 'AB 12345', 'Kari Nordmann', 'dropoff', null],
    ['234567', 'EL 98765', 'Ola Hansen', 'dropoff', null],
    ['345678', 'CD 34567', 'Ingrid Berg', 'pickup', 16],
    ['456789', 'EF 45678', 'Lars Lie', 'pickup', 15],
    ['567890', 'GH 56789', 'Nils Dahl', 'pickup', null],
  ];
  t.equal(upserts.length, readme.length);
  for (const [index, [pin, plate, name, kind, compartmentId]] of readme.entries()) {
    const wire = upserts[index];
    t.match(wire, { plate, driverName: name, kind, compartmentId, appointmentDate: today }, `${name}`);
    t.ok(await verifyPin(pin, String(wire?.pinHash)), `${name}: PIN ${pin}`);
  }
  t.match(upserts[0], { phones: ['+4791234567'], email: 'kari.nordmann@example.com' });
  t.match(upserts[1], { phones: ['+4798765432'], email: null });
  t.match(upserts[2], { id: 'demo-pickup-paid', paymentRequired: true });
  t.match(upserts[3], { id: 'demo-pickup-unpaid', paymentRequired: true });
  t.match(upserts[4], { id: 'demo-pickup-not-ready', paymentRequired: false });
  const payments = commands.filter((c) => c.name === 'payment.status').map((c) => c.args);
  t.same(payments, [
    { reservationId: 'demo-pickup-paid', status: 'paid', amount: 189000, currency: 'NOK', version: 1 },
    { reservationId: 'demo-pickup-unpaid', status: 'pending', amount: 249000, currency: 'NOK', version: 1 },
  ]);
  const order = commands.map((c) => `${c.name}:${(c.args as { reservationId?: string; reservation?: { id: string } }).reservationId ?? (c.args as { reservation: { id: string } }).reservation.id}`);
  t.ok(order.indexOf('payment.status:demo-pickup-paid') > order.indexOf('reservation.upsert:demo-pickup-paid'), 'a payment follows its reservation');

  const state = (await (await fetch(new URL('/api/state', bo.url))).json()) as StaffState;
  t.same(state.reservations.map((r) => [r.code, r.pin, r.status]), [
    ['D1001', '123456', 'booked'],
    ['D1002', '234567', 'booked'],
    ['P2001', '345678', 'ready'],
    ['P2002', '456789', 'ready'],
    ['P2003', '567890', 'booked'],
  ], 'the staff page lists them with their PINs (demo)');
  t.equal((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM reservations'))?.n, 5);
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('the back office pings', async (t) => {
  const { bo } = await start(t, { pingIntervalMs: 100 });
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await new Promise<void>((resolve) => locker.ws.once('ping', () => resolve()));
  t.pass('pinged');
  await locker.close();
  t.same(locker.invalid, []);
});

// Without the 100 ms pinger: at the next tick it terminates a connection whose pong this
// process has not read yet, so an event-loop stall of 100 ms would close the older connection
// with 1006 (or the newer one) before the replacement is checked.
t.test('a newer connection replaces an older one', async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const first = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  const second = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.equal(await first.closed, 4000, 'the older connection is closed');
  await second.hello();
  t.equal((await bo.service.getUnit(UNIT))?.linkState, 'online', 'the unit stays online on its newer connection');
  await second.close();
  t.same([...first.invalid, ...second.invalid], []);
});

t.test('pages and the staff push are served with a strict CSP', async (t) => {
  const { bo } = await start(t);
  for (const path of ['/', '/tablet/', '/app.js', '/common.js', '/style.css', '/tablet/tablet.js']) {
    const res = await fetch(new URL(path, bo.url));
    t.equal(res.status, 200, path);
    t.match(res.headers.get('content-security-policy'), /default-src 'self'/, `${path}: CSP`);
    await res.arrayBuffer();
  }
  const ws = new WebSocket(bo.url.replace('http', 'ws') + 'staff');
  const first = await new Promise<{ type: string; state: { units: unknown[] } }>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data))));
    ws.once('error', reject);
  });
  t.match(first, { type: 'staff', state: { units: [] } });
  ws.close();
  const crossSite = await new Promise<number>((resolve) => {
    const other = new WebSocket(bo.url.replace('http', 'ws') + 'staff', { headers: { Origin: 'http://evil.example' } });
    other.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      other.terminate();
    });
    other.once('error', () => undefined);
  });
  t.equal(crossSite, 403, 'another site cannot read the push');
});

t.test('PINs, tokens, phone numbers and e-mail addresses never reach the log', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const { bo } = await start(t, { demo: true, logger });
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const created = await postJson(bo.url, '/api/reservations', { ...DROPOFF });
  const bearer = await token(keys);
  t.equal(await refusedStatus(bo.lockerUrl, { Authorization: `Bearer ${await token(keys, { audience: 'x' })}` }), 401);
  const locker = await FakeLocker.connect(bo.lockerUrl, bearer);
  await locker.hello();
  for (let i = 0; i < 8; i += 1) await locker.next(); // the demo's seven and the new one
  const id: string = created.body.reservation.id;
  locker.send(eventMessage(1, 'key.deposited', { reservationId: id, workOrder: 'WO-7', compartment: 2, addedPhone: '+4798765432', remark: 'note' }));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 1 });
  locker.send(eventMessage(2, 'pin.delivery-requested', { reservationId: id }));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 2 });
  await locker.close();
  await bo.stop();

  const log = lines.join('');
  t.ok(lines.length > 5, `${lines.length} log lines`);
  t.match(log, /"module":"backoffice"/, 'the back office logs as module backoffice');
  const secrets = [created.body.reservation.pin, '123456', '345678', bearer, '+4791234567', '4791234567', '+4798765432', 'kari@example.com', 'kari.nordmann@example.com', 'Kari Nordmann'];
  for (const secret of secrets) t.notOk(log.includes(secret), `the log does not hold ${secret.slice(0, 12)}`);
});
