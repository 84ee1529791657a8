/**
 * The customer journeys end to end on a real database file, the server on port 0, the
 * simulated board, and the screens' WebSocket.
 */
import t from 'tap';
import { audit, inflight, reservations } from '../../kiosk/store/repositories.js';
import { act, leaveDone, ok, recordedEvents, screenSocket, startTestLocker, until, withLocker } from '../helpers/locker.js';
import type { Locker } from '../../kiosk/locker.js';

const events = recordedEvents;
const closeDoor = (locker: Locker, compartment: number) => locker.hardware.sim?.closeDoor(compartment - 1);
const doorClosed = (locker: Locker, compartment: number) => until(() => locker.hardware.bank.doorState(compartment) === 'closed', `door ${compartment} closed`);

t.test('PIN drop-off: details, a compartment opens, the key goes in, the back office is told', async (t) => {
  const locker = await withLocker(t);
  const bottom = await screenSocket(t, locker, 'bottom');
  const top = await screenSocket(t, locker, 'top');

  let view = await ok(t, locker, { type: 'start', journey: 'dropoff' });
  t.match(view, { step: 'identify', journey: 'dropoff', progress: { index: 1, count: 4 } });
  view = await ok(t, locker, { type: 'pin', pin: '123456' });
  t.match(view, { step: 'details', reservation: { driverName: 'Kari Nordmann', plate: 'AB 12345', workOrder: 'WO-1001', phones: ['+47 *** ** 567'] } });
  view = await ok(t, locker, { type: 'details', phone: '+46 70 123 45 67', remark: 'Winter tyres, please' });
  t.match(view, { reservation: { addedPhone: '+46 *** ** 567', remark: 'Winter tyres, please' } });
  view = await ok(t, locker, { type: 'confirm' });
  t.match(view, { step: 'place-key', compartment: 1, door: 'open', progress: { index: 3, count: 4 } });
  await until(() => (top.last() as { view?: { compartment?: number } })?.view?.compartment === 1, 'the top screen shows compartment 1');

  const early = await act(locker, { type: 'confirm' });
  t.equal(early.status, 409);
  t.equal(early.error?.code, 'DOOR_OPEN', 'Confirm with the door open is refused');

  closeDoor(locker, 1);
  await doorClosed(locker, 1);
  view = await ok(t, locker, { type: 'confirm' });
  t.equal(view.step, 'done');

  const stored = await reservations.getById(locker.db, 'demo-dropoff-1');
  t.match(stored, { status: 'deposited', compartmentId: 1, remark: 'Winter tyres, please' });
  t.ok(stored?.phones.includes('+46701234567'), 'the added phone is kept');
  t.match(await locker.store.compartment(1), { state: 'occupied', reservationId: 'demo-dropoff-1' });
  const sent = await events(locker);
  t.same(sent.map((e) => e.type), ['compartment.opened', 'compartment.closed', 'key.deposited']);
  t.match(sent[2]?.payload, { reservationId: 'demo-dropoff-1', compartment: 1, addedPhone: '+46701234567', remark: 'Winter tyres, please' });
  const trail = await audit.list(locker.db, { compartmentId: 1, limit: 10 });
  t.same(trail.map((a) => `${a.action}:${a.phase}:${a.result ?? ''}`).reverse(), ['open:intent:', 'open:outcome:opened'], 'intent before the pulse, outcome after');
  t.same(await inflight.list(locker.db), [], 'nothing left in flight');
  t.ok(bottom.messages.length >= 4, 'the bottom screen was pushed each step');
  t.ok(bottom.messages.every((m) => m.type === 'session'));
});

t.test('plate and phone lookups: where the PIN goes, masked; the same screen without a match', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'identifyMode', mode: 'plate' });
  let view = await ok(t, locker, { type: 'lookup', by: 'plate', value: 'ab-12 345' });
  t.equal(view.step, 'lookup-result');
  t.same(view.destinations, ['k***@example.com', '+47 *** ** 567']);
  t.equal(view.reservation, null, 'nothing about whose plate it is');
  view = await ok(t, locker, { type: 'sendPin' });
  t.equal(view.step, 'lookup-sent');
  t.same((await events(locker)).map((e) => e.type), ['pin.delivery-requested']);

  await ok(t, locker, { type: 'back' });
  await ok(t, locker, { type: 'identifyMode', mode: 'plate' });
  const miss = await ok(t, locker, { type: 'lookup', by: 'plate', value: 'ZZ 99999' });
  t.equal(miss.step, 'lookup-result', 'the same step whether or not it matched');
  t.same(miss.destinations, []);
  await ok(t, locker, { type: 'sendPin' });
  t.equal((await events(locker)).length, 1, 'nothing is sent for a plate that matched nothing');

  await ok(t, locker, { type: 'back' });
  await ok(t, locker, { type: 'identifyMode', mode: 'phone' });
  view = await ok(t, locker, { type: 'lookup', by: 'phone', value: '987 65 432' });
  t.same(view.destinations, ['+47 *** ** 432'], 'phone lookup with the default country; no e-mail on file');
  const bad = await act(locker, { type: 'lookup', by: 'phone', value: '12' });
  t.equal(bad.error?.code, 'BAD_ACTION', 'not at this step any more');
  await ok(t, locker, { type: 'back' });
  const invalid = await act(locker, { type: 'lookup', by: 'plate', value: '!!' });
  t.equal(invalid.error?.code, 'PLATE_INVALID');
});

t.test('after a lookup, a wrong PIN counts against that reservation', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'lookup', by: 'plate', value: 'AB12345' });
  await ok(t, locker, { type: 'sendPin' });
  await ok(t, locker, { type: 'back' });
  const wrong = await act(locker, { type: 'pin', pin: '000111' });
  t.equal(wrong.error?.code, 'PIN_WRONG');
  t.equal(wrong.view, undefined);
  const touched = await ok(t, locker, { type: 'activity' });
  t.same(touched.error, { code: 'PIN_WRONG' }, 'a touch keeps the error on screen; tries left only shown for the last two');
  t.equal(touched.offer.callHelp, true, 'Call for help is offered with every error');
  const next = await ok(t, locker, { type: 'identifyMode', mode: 'pin' });
  t.equal(next.error, null, 'the next thing asked for clears it');
  t.match(await reservations.getById(locker.db, 'demo-dropoff-1'), { failedPinAttempts: 1 });
});

t.test('five wrong PINs lock PIN entry; a restart does not reset it', async (t) => {
  const dir = t.testdir();
  let locker = await startTestLocker(dir);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  for (let i = 1; i <= 4; i += 1) t.equal((await act(locker, { type: 'pin', pin: `99999${i}` })).error?.code, 'PIN_WRONG', `wrong PIN ${i}`);
  const fifth = await act(locker, { type: 'pin', pin: '999995' });
  t.equal(fifth.status, 200, 'the fifth moves the session to the lockout screen');
  t.match(fifth.view, { step: 'locked-out', error: { code: 'LOCKED_OUT', retryAfterS: 30 } });
  await locker.stop();

  locker = await startTestLocker(dir);
  t.teardown(() => locker.stop());
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  const after = await act(locker, { type: 'pin', pin: '123456' });
  t.match(after.view, { step: 'locked-out', error: { code: 'LOCKED_OUT' } }, 'even the right PIN waits');
  t.ok((after.view?.error?.retryAfterS ?? 0) > 0 && (after.view?.error?.retryAfterS ?? 99) <= 30);
});

t.test('abandoning with the door open asks for the door; closed with its content unknown, the compartment is quarantined', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'confirm' });
  let view = await ok(t, locker, { type: 'abandon' });
  t.equal(view.confirmAbandon, true, 'asks first');
  view = await ok(t, locker, { type: 'abandonCancel' });
  t.equal(view.step, 'place-key', 'no harm in changing your mind');
  await ok(t, locker, { type: 'abandon' });
  view = await ok(t, locker, { type: 'abandonConfirm' });
  t.match(view, { step: 'close-door', compartment: 1 }, 'first: take your key back and close door 1');
  t.match(await locker.store.compartment(1), { state: 'reserved' });
  closeDoor(locker, 1);
  await until(() => locker.journeys.view().step === 'welcome', 'the door closing ends the session');
  t.match(await locker.store.compartment(1), { state: 'quarantined' });
  t.match(await reservations.getById(locker.db, 'demo-dropoff-1'), { status: 'booked', compartmentId: null });
  t.same((await events(locker)).map((e) => e.type), ['compartment.opened', 'compartment.closed', 'compartment.quarantined', 'journey.abandoned']);

  // The next customer gets another compartment.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '234567' });
  view = await ok(t, locker, { type: 'confirm' });
  t.equal(view.compartment, 2, 'the quarantined compartment is never allocated');
});

t.test('a jammed lock: two pulses, quarantined, the next compartment opens', async (t) => {
  const locker = await withLocker(t);
  locker.hardware.sim?.setJammed(0, true);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  const view = await ok(t, locker, { type: 'confirm' });
  t.match(view, { step: 'place-key', compartment: 2 });
  t.match(await locker.store.compartment(1), { state: 'quarantined', quarantineReason: 'open failed: JAMMED' });
  t.same((await events(locker)).map((e) => e.type), ['compartment.jammed', 'compartment.quarantined', 'compartment.opened']);
});

t.test('pickup: paid opens; unpaid waits at the payment step; not ready is refused', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim;
  let view = await ok(t, locker, { type: 'start', journey: 'pickup' });
  view = await ok(t, locker, { type: 'pin', pin: '345678' });
  t.match(view, { step: 'take-key', compartment: 16 });
  closeDoor(locker, 16);
  await doorClosed(locker, 16);
  view = await ok(t, locker, { type: 'confirm' });
  t.equal(view.step, 'receipt', 'a paid pickup offers a receipt (issue 12)');
  view = await ok(t, locker, { type: 'receipt', channel: 'none' });
  t.equal(view.step, 'done');
  t.match(await reservations.getById(locker.db, 'demo-pickup-paid'), { status: 'collected', compartmentId: null });
  t.match(await locker.store.compartment(16), { state: 'free' });
  await leaveDone(t, locker);

  const pulses = sim?.pulseCount;
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  view = await ok(t, locker, { type: 'pin', pin: '456789' });
  t.match(view, { step: 'payment', payment: { amount: 249000, currency: 'NOK', status: 'pending' } });
  const refused = await act(locker, { type: 'confirm' });
  t.equal(refused.error?.code, 'PAYMENT_PENDING');
  t.equal(sim?.pulseCount, pulses, 'no lock was pulsed');
  await ok(t, locker, { type: 'abandon' });
  await ok(t, locker, { type: 'abandonConfirm' });
  t.match(await locker.store.compartment(15), { state: 'occupied' }, 'the unpaid key stays locked in');

  await ok(t, locker, { type: 'start', journey: 'pickup' });
  t.equal((await act(locker, { type: 'pin', pin: '567890' })).error?.code, 'NOT_READY');
  t.equal((await act(locker, { type: 'pin', pin: '123456' })).error?.code, 'PIN_OTHER_JOURNEY', 'a drop-off PIN does not open a pickup: it offers the drop-off');
});

t.test('a customer waiting at the payment step: the door opens when the back office says paid, without a tap', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim;
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  t.match(await ok(t, locker, { type: 'pin', pin: '456789' }), { step: 'payment', payment: { status: 'pending' } });
  const pulses = sim?.pulseCount ?? 0;
  const paid = await locker.sync?.commands.apply({
    v: 1,
    type: 'command',
    id: 'pay-1',
    name: 'payment.status',
    args: { reservationId: 'demo-pickup-unpaid', status: 'paid', amount: 249000, currency: 'NOK', version: 99 },
  });
  t.match(paid, { ok: true });
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened for the paid pickup');
  t.match(locker.journeys.view(), { compartment: 15, payment: { status: 'paid' } });
  t.equal(sim?.pulseCount, pulses + 1, 'one pulse');
});

t.test('a restart in the middle of a journey: reservation, compartment and outbox agree', async (t) => {
  const dir = t.testdir();
  let locker = await startTestLocker(dir);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'confirm' });
  t.same((await inflight.list(locker.db)).map((i) => i.compartmentId), [1]);
  await locker.stop(); // the power goes, the key may or may not be inside

  locker = await startTestLocker(dir);
  t.teardown(() => locker.stop());
  t.match(await locker.store.compartment(1), { state: 'quarantined', quarantineReason: 'dropoff interrupted by a restart' });
  t.match(await reservations.getById(locker.db, 'demo-dropoff-1'), { status: 'booked', compartmentId: null });
  t.same(await inflight.list(locker.db), []);
  t.same((await events(locker)).map((e) => e.type), ['compartment.opened', 'compartment.quarantined']);
  const outcomes = (await audit.list(locker.db, { compartmentId: 1, limit: 10 })).filter((a) => a.action === 'open');
  t.same(outcomes.map((a) => a.result).reverse(), [null, 'opened', 'INTERRUPTED']);
  const session = (await (await fetch(`${locker.server.url}/api/session`)).json()) as { view: { step: string } };
  t.equal(session.view.step, 'welcome', 'the new process starts at welcome');
});

t.test('a door forced open quarantines its compartment and tells the back office', async (t) => {
  const locker = await withLocker(t);
  locker.hardware.sim?.forceDoor(15);
  await until(async () => (await locker.store.compartment(16))?.state === 'quarantined', 'compartment 16 quarantined');
  const sent = await events(locker);
  t.same(sent.map((e) => e.type), ['compartment.forced', 'compartment.quarantined']);
  t.match(await locker.store.compartment(16), { reservationId: 'demo-pickup-paid' }, 'the key it held is still named');
});

t.test('bad input: clear errors, nothing changes, the service goes on', async (t) => {
  const locker = await withLocker(t);
  const post = (body: string, type = 'application/json') =>
    fetch(`${locker.server.url}/api/session`, { method: 'POST', headers: { 'content-type': type }, body });
  const cases: [string, number, string][] = [
    ['{not json', 400, 'BAD_REQUEST'],
    ['[]', 400, 'BAD_ACTION'],
    ['{"type":"confirm"}', 400, 'BAD_ACTION'],
    ['{"type":"pin","pin":"123456"}', 400, 'BAD_ACTION'],
    [JSON.stringify({ type: 'details', phone: null, remark: 'x'.repeat(20_000) }), 413, 'BAD_REQUEST'],
  ];
  for (const [body, status, code] of cases) {
    const response = await post(body);
    t.equal(response.status, status, `${body.slice(0, 30)} -> ${status}`);
    t.match(await response.json(), { error: { code } });
  }
  const session = (await (await fetch(`${locker.server.url}/api/session`)).json()) as { view: { step: string; sessionId: string | null } };
  t.match(session.view, { step: 'welcome', sessionId: null }, 'no session was started by any of it');
  t.same(await events(locker), [], 'nothing was written');
  for (const url of [locker.urls.bottom, locker.urls.backOffice as string]) {
    const page = await fetch(url);
    t.match(page.headers.get('content-security-policy'), /script-src 'self'.*frame-ancestors 'none'/, `${url} has the strict CSP`);
    t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  }
  const ws = await fetch(`${locker.server.url}/nope`);
  t.equal(ws.status, 404);
  const health = (await (await fetch(locker.urls.health)).json()) as Record<string, unknown>;
  t.match(health, { status: 'ok', hardware: 'sim', boards: [{ board: 0, online: true }], outboxPending: 0 });
});

t.test('idle: a warning, then back to welcome', async (t) => {
  const locker = await withLocker(t, { session: { idleTimeoutMs: 2000, idleWarningMs: 1000 } });
  const bottom = await screenSocket(t, locker, 'bottom');
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await until(() => bottom.messages.some((m) => (m as { view?: { idleWarning?: number } }).view?.idleWarning === 1), 'the idle warning');
  await until(() => (bottom.last() as { view?: { step?: string } })?.view?.step === 'welcome', 'back to welcome');
  t.pass('warned, then ended');
});

t.test('back office: a reservation cancelled mid-journey ends it politely; a help call is taken', async (t) => {
  const locker = await withLocker(t);
  const backOffice = locker.backOffice;
  if (!backOffice) throw new Error('the reference back office should run');
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '234567' });
  await backOffice.service.cancelReservation('demo-dropoff-2');
  await until(() => locker.journeys.view().step === 'welcome', 'the session ends');
  t.match(locker.journeys.view().error, { code: 'NOT_FOUND' }, 'the customer is told the booking is no longer valid');
  t.match(await locker.store.reservation('demo-dropoff-2'), { status: 'cancelled' });

  await ok(t, locker, { type: 'callHelp' });
  await until(async () => (await backOffice.service.staffState()).helpCalls.length > 0, 'the call reaches the back office');
  const call = (await backOffice.service.staffState()).helpCalls[0];
  if (!call) throw new Error('no help call');
  await backOffice.service.takeHelpCall(call.callId, { by: 'Per at the desk' });
  await until(() => locker.journeys.view().helpCall === 'taken', 'the screen shows the call was taken');
  const requested = (await recordedEvents(locker)).find((e) => e.type === 'help.requested');
  t.equal(requested?.payload.callId, call.callId, 'the call is matched by its id');
});

t.test('every event the locker records passes the published schema', async (t) => {
  const { createValidator } = await import('../../kiosk/sync/validate.js');
  const { toEventMessage } = await import('../../kiosk/sync/outbox-sender.js');
  const validator = createValidator();
  const locker = await withLocker(t);
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('simulator expected');

  // A drop-off, a pickup, a forced door, a board going away and back, a help call, a lookup
  // and a lockout: most of what the locker ever says.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'confirm' });
  sim.closeDoor(0);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'compartment.closed'), 'compartment.closed');
  await ok(t, locker, { type: 'confirm' });
  await ok(t, locker, { type: 'confirm' });
  sim.forceDoor(4);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'compartment.forced'), 'compartment.forced');
  sim.setOffline(true);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'board.offline'), 'board.offline');
  sim.setOffline(false);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'board.online'), 'board.online');
  await ok(t, locker, { type: 'callHelp' });
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'lookup', by: 'plate', value: 'EL98765' });
  await ok(t, locker, { type: 'sendPin' });
  await ok(t, locker, { type: 'back' });
  for (let i = 0; i < 5; i += 1) await act(locker, { type: 'pin', pin: `11111${i}` });

  const rows = await locker.db.all<{ seq: number; type: string; payload: string; wall_time: string; mono_time: number; boot_id: string }>('SELECT * FROM outbox ORDER BY seq');
  const types = new Set<string>();
  for (const row of rows) {
    const event = { seq: row.seq, type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown>, wallTime: row.wall_time, monoTime: row.mono_time, bootId: row.boot_id, ackedAt: null };
    const message = toEventMessage(event, false);
    const verdict = validator.validateLockerMessage(message);
    t.ok(verdict.ok, `${message.event} #${row.seq} passes the schema${verdict.ok ? '' : `: ${verdict.message}`}`);
    types.add(message.event);
  }
  for (const expected of ['compartment.opened', 'compartment.closed', 'key.deposited', 'compartment.forced', 'compartment.quarantined', 'board.offline', 'board.online', 'help.requested', 'pin.delivery-requested', 'lockout.locker']) {
    t.ok(types.has(expected), `${expected} was recorded`);
  }
});
