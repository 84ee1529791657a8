/**
 * The reference back office keeps the completed contract (docs/protocol.md): enrolment by kid,
 * the clock rule (a refusal tells the time; a locker days off connects), nack for an event it
 * cannot take, help calls acted on at once (received) even ahead of a gap, and an inventory it
 * can trust at any size: the real locker with 5,000 reservations is paged, and a cancellation
 * of one of today's reservations reaches it although 4,900 later bookings surround it.
 */
import t from 'tap';
import WebSocket from 'ws';
import { localDate } from '../../kiosk/core/dates.js';
import { reservations as lockerReservations } from '../../kiosk/store/repositories.js';
import { enrolmentRecord } from '../../kiosk/sync/identity.js';
import { reservations as masterReservations } from '../reference-backoffice/store.js';
import { FakeLocker, TIME_ZONE, UNIT, eventMessage, start, token, unitKeys } from '../helpers/fake-locker.js';
import { waitFor } from '../helpers/mini-back-office.js';
import { fillReservations, lockerSide } from '../helpers/sync.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The upgrade's refusal: status, Date header and JSON body. */
function refusal(url: string, bearer: string): Promise<{ status: number; date: string | undefined; body: { error?: { code?: string; serverTime?: string } } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'keylocker.v1', { headers: { Authorization: `Bearer ${bearer}` } });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += String(chunk)));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, date: res.headers.date, body: JSON.parse(text) as never });
        ws.terminate();
      });
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => undefined);
  });
}

t.test('enrolment: the record a locker prints registers it; the token must name its key by kid', async (t) => {
  const { bo } = await start(t);
  const side = await lockerSide(t);
  const record = enrolmentRecord(side.identity);
  await bo.registerUnit(record.unitId, record.publicJwk);
  await t.rejects(bo.registerUnit('unit-x', { ...record.publicJwk, kid: 'not-the-thumbprint' }), { code: 'BAD_INPUT', field: 'publicJwk.kid' });

  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const other = await unitKeys();
  t.equal((await refusal(bo.lockerUrl, await token(keys, { kid: null }))).status, 401, 'no kid');
  t.equal((await refusal(bo.lockerUrl, await token(keys, { kid: other.kid }))).status, 401, "another key's kid");
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.equal(locker.ws.protocol, 'keylocker.v1', 'the right kid is let in');
  await locker.close();

  // The real locker's own token (kid from its key file) is accepted.
  await bo.registerUnit(record.unitId, record.publicJwk);
  const sync = side.makeSync(bo.lockerUrl, { audience: 'test-backoffice' });
  const online = waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
  await sync.start();
  await online;
  await sync.stop();
});

t.test('clock: a token off by days is refused with CLOCK_SKEW and the time; a locker days off connects and learns the offset', async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const now = Math.floor(Date.now() / 1000);
  const before = Date.now();
  const old = await refusal(bo.lockerUrl, await token(keys, { iat: now - 3 * 86_400, exp: now - 3 * 86_400 + 300 }));
  const after = Date.now();
  // The Date header has whole seconds: a second's slack either side of the request.
  const sentDuring = (value: unknown): boolean => Date.parse(String(value)) >= before - 1000 && Date.parse(String(value)) <= after + 1000;
  t.equal(old.status, 401);
  t.equal(old.body.error?.code, 'CLOCK_SKEW');
  t.ok(sentDuring(old.body.error?.serverTime), 'the body says the time');
  t.ok(sentDuring(old.date), 'so does the Date header');
  const future = await refusal(bo.lockerUrl, await token(keys, { iat: now + 2 * 86_400, exp: now + 2 * 86_400 + 300 }));
  t.equal(future.body.error?.code, 'CLOCK_SKEW', 'a clock ahead too');
  const stranger = await unitKeys();
  const forged = await refusal(bo.lockerUrl, await token(stranger, { kid: keys.kid, iat: now - 86_400, exp: now - 86_400 + 300 }));
  t.equal(forged.body.error?.code, 'UNAUTHORISED', 'only a token signed by the unit learns that its clock is the problem');

  // The real locker, its wall clock three days behind.
  const side = await lockerSide(t);
  await bo.registerUnit(side.identity.unitId, side.identity.publicKeyJwk);
  const sync = side.makeSync(bo.lockerUrl, { audience: 'test-backoffice', reconnectInitialMs: 60_000, reconnectMaxMs: 60_000, wallClock: () => new Date(Date.now() - 3 * DAY_MS) });
  const online = waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
  await sync.start();
  await online;
  t.ok(Math.abs((sync.clockStatus.serverOffsetMs ?? 0) + 3 * DAY_MS) < 10_000, 'the offset is known');
  t.equal(sync.clockStatus.synchronised, false);
  await sync.stop();
});

t.test('an event that fails its schema is refused with a nack, held as refused, and the acks move past it', async (t) => {
  const { bo, db } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  locker.send(eventMessage(1));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 1 });
  locker.send(eventMessage(2, 'key.deposited', { reservationId: 'x' }));
  t.match(await locker.next(), { v: 1, type: 'nack', seq: 2, code: 'SCHEMA', reason: /^payload\.workOrder is required$/ });
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 2 }, 'the refused seq counts as held');
  locker.send(eventMessage(3));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 3 }, 'the stream goes on');
  t.match(await db.get('SELECT type, refused_code, refused_reason FROM events WHERE seq = 2'), { type: 'key.deposited', refused_code: 'SCHEMA', refused_reason: /workOrder/ });
  locker.send({ ...eventMessage(1), seq: 'one' });
  t.match(await locker.next(), { type: 'error', code: 'SCHEMA' }, 'a frame without a usable seq cannot be refused by seq: an error');
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('a help call sent ahead of a gap is acted on at once: the call is open and the locker told it arrived; the ack stays contiguous', async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  await locker.hello();
  locker.send(eventMessage(1));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 1 });
  // Events 2..500 are still on their way; the help call is seq 501.
  locker.send({ ...eventMessage(501, 'help.requested', { callId: 'call-7', step: 'place-key', journey: 'dropoff', compartment: 3 }), urgent: true });
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 1 }, 'held beyond the prefix: the ack does not move');
  const received = await locker.next();
  t.match(received, { type: 'command', name: 'help.update', args: { callId: 'call-7', state: 'received', by: null } });
  t.match((await bo.service.staffState()).helpCalls, [{ callId: 'call-7', state: 'open', compartment: 3 }], 'staff see it now');
  locker.send({ v: 1, type: 'result', commandId: received.id, ok: true, result: { applied: true, state: 'received' } });

  for (let seq = 2; seq <= 500; seq += 1) locker.send(eventMessage(seq));
  let last = 0;
  for (let i = 0; i < 600 && last < 500; i += 1) last = Number((await locker.next()).seq);
  locker.send(eventMessage(501, 'help.requested', { callId: 'call-7', step: 'place-key', journey: 'dropoff', compartment: 3 }));
  t.same(await locker.next(), { v: 1, type: 'ack', seq: 501 }, 'its place in the stream: a repeat, dropped and acked');
  t.same(await locker.settle(502), [], 'no second "received"');
  await locker.close();
  t.same(locker.invalid, []);
});

t.test('the inventory at 5,000 reservations: paged completely, and a cancellation of one of today\'s reaches the locker', async (t) => {
  const { bo, db } = await start(t);
  const today = localDate(new Date(), TIME_ZONE);
  const side = await lockerSide(t);
  // 100 of today's, 4,900 booked later: the old hello's 600 newest would have left today's out.
  await fillReservations(side.db, 5000, 100, today);
  const target = 'r-00042';
  t.match(await lockerReservations.getById(side.db, target), { status: 'booked', appointmentDate: today });
  const version = (await lockerReservations.getById(side.db, target))?.version ?? 0;
  await bo.registerUnit(side.identity.unitId, side.identity.publicKeyJwk);
  const at = new Date().toISOString();
  await db.transaction((tx) =>
    masterReservations.insert(tx, {
      id: target, unitId: side.identity.unitId, code: 'C42', kind: 'dropoff', workOrder: 'WO', plate: 'AB12345', plateDisplay: 'AB 12345', driverName: 'Kari Nordmann',
      phones: [], email: null, appointmentDate: today, appointmentTime: null, pin: '000000', pinHash: 'x', status: 'cancelled', compartmentId: null, remark: null,
      addedPhone: null, pinLocked: false, paymentRequired: false, paymentStatus: 'none', paymentAmount: null, paymentCurrency: null, paymentVersion: 0,
      version: version + 1, createdAt: at, updatedAt: at,
    }),
  );

  const sync = side.makeSync(bo.lockerUrl, { audience: 'test-backoffice' });
  const cancelled = waitFor(sync.events, 'reservationChanged', (id, change) => (id === target && change === 'cancelled' ? true : undefined), 60_000, 'the cancel');
  await sync.start();
  await cancelled;
  t.match(await lockerReservations.getById(side.db, target), { status: 'cancelled', version: version + 1 });
  t.equal((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM unit_inventory WHERE unit_id = ?', [side.identity.unitId]))?.n, 5000, 'the back office knows all 5,000');
  const pages = (await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM commands WHERE name = 'inventory.page' AND ok = 1"))?.n ?? 0;
  t.equal(pages, 25, '25 pages of 200');
  await sync.stop();

  // Reconnecting with nothing changed behind its back: no paging again.
  const again = side.makeSync(bo.lockerUrl, { audience: 'test-backoffice' });
  const online = waitFor(again.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
  await again.start();
  await online;
  await again.stop();
  t.equal((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM commands WHERE name = 'inventory.page'"))?.n, 25, 'the digest matched: not paged again');
});
