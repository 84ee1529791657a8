/**
 * The mechanic's QR token matrix: every way a token can be wrong is refused, no door opens
 * (the simulator's pulse count does not move), and each refusal is a `mechanic.refused` event
 * with its reason. A fresh token works even with the wall clock 30 days off; an old one stays
 * dead whatever the wall clock says (its age is counted on the monotonic clock).
 */
import { SignJWT } from 'jose';
import t from 'tap';
import { MechanicTokens } from '../../kiosk/core/mechanic-token.js';
import { wire } from '../helpers/command-fixture.js';
import { BOOT_ID, LOCKER_KEY, UNIT_ID, mechanicRig } from '../helpers/mechanic-rig.js';

const DAY_MS = 24 * 3600 * 1000;
const TABLET = 'tablet-a';

/** The same claims, signed by someone else (`key`), or unsigned with `alg: none`. */
function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

t.test('token matrix: 100 % refused, no door opens, each refusal an event', async (t) => {
  const rig = await mechanicRig(t);
  await rig.depositedDropoff('d-1', 3);
  await rig.depositedDropoff('d-2', 4);

  t.match(await rig.run('mechanic.request', { requestId: 'm-1', reservationId: 'd-1', purpose: 'retrieve', tabletId: TABLET }), { ok: true, result: { recorded: true } });
  await rig.settle(200);
  t.equal(rig.desk.shownRequestId(), 'm-1', 'the QR is up');
  t.ok(rig.desk.qr()?.svg.startsWith('<svg'), 'the top screen gets an SVG');
  const good = rig.tokens.issued.at(-1) ?? '';
  t.ok(good.length > 0 && good.length < 600, `a token short enough for a QR (${good.length} characters)`);
  const claims = payloadOf(good);

  const pulsesBefore = rig.sim.pulseCount;
  const refusals: { name: string; args: { requestId: string; token: string; tabletId: string }; reason: string }[] = [];
  const [header, , signature] = good.split('.');
  const forgedSig = `${header}.${b64(claims)}.${(signature ?? '').startsWith('A') ? 'B' : 'A'}${(signature ?? '').slice(1)}`;
  refusals.push({ name: 'forged signature', args: { requestId: 'm-1', token: forgedSig, tabletId: TABLET }, reason: 'BAD_SIGNATURE' });
  const tampered = `${header}.${b64({ ...claims, tab: 'tablet-b' })}.${signature}`;
  refusals.push({ name: 'claims changed under a good signature', args: { requestId: 'm-1', token: tampered, tabletId: 'tablet-b' }, reason: 'BAD_SIGNATURE' });
  const none = `${b64({ alg: 'none', typ: 'keylocker-mechanic+jwt' })}.${b64(claims)}.`;
  refusals.push({ name: 'alg: none', args: { requestId: 'm-1', token: none, tabletId: TABLET }, reason: 'MALFORMED|BAD_SIGNATURE' });
  const otherLocker = new MechanicTokens({ key: new Uint8Array(32).fill(9), unitId: 'locker-b', bootId: BOOT_ID, monoClock: () => rig.clock.now() });
  const foreign = (await otherLocker.issue({ requestId: 'm-1', tabletId: TABLET, reservationId: 'd-1', purpose: 'retrieve' })).token;
  refusals.push({ name: "another locker's token", args: { requestId: 'm-1', token: foreign, tabletId: TABLET }, reason: 'BAD_SIGNATURE' });
  // Even signed with this locker's key, a token naming another locker is not this one's.
  const named = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'keylocker-mechanic+jwt' }).setIssuer('locker-b').setAudience('locker-b').sign(LOCKER_KEY);
  refusals.push({ name: 'naming another locker', args: { requestId: 'm-1', token: named, tabletId: TABLET }, reason: 'WRONG_LOCKER' });
  refusals.push({ name: 'from another tablet', args: { requestId: 'm-1', token: good, tabletId: 'tablet-b' }, reason: 'WRONG_TABLET' });
  const otherPurpose = (await rig.tokens.issue({ requestId: 'm-1', tabletId: TABLET, reservationId: 'd-1', purpose: 'deposit' })).token;
  refusals.push({ name: 'for another purpose', args: { requestId: 'm-1', token: otherPurpose, tabletId: TABLET }, reason: 'WRONG_PURPOSE' });
  refusals.push({ name: 'for another request', args: { requestId: 'm-9', token: good, tabletId: TABLET }, reason: 'WRONG_REQUEST' });
  const beforeRestart = new MechanicTokens({ key: LOCKER_KEY, unitId: UNIT_ID, bootId: 'boot-0', monoClock: () => rig.clock.now() });
  const stale = (await beforeRestart.issue({ requestId: 'm-1', tabletId: TABLET, reservationId: 'd-1', purpose: 'retrieve' })).token;
  refusals.push({ name: 'made before a restart', args: { requestId: 'm-1', token: stale, tabletId: TABLET }, reason: 'EXPIRED' });
  refusals.push({ name: 'not a token', args: { requestId: 'm-1', token: 'hello', tabletId: TABLET }, reason: 'MALFORMED' });

  let refused = 0;
  for (const { name, args, reason } of refusals) {
    const result = await rig.run('mechanic.open', args);
    t.match(result, { ok: true, result: { accepted: false, reason: new RegExp(`^(${reason})$`) } }, `${name}: refused (${String(result.result?.reason)})`);
    if (result.result?.accepted === false) refused += 1;
  }
  await rig.settle(1000);
  t.equal(rig.sim.pulseCount, pulsesBefore, 'no pulse for any of them');

  // The right token, with the wall clock 30 days ahead: a wrong date does not stop a mechanic.
  rig.wall.offsetMs = 30 * DAY_MS;
  t.match(await rig.run('mechanic.open', { requestId: 'm-1', token: good, tabletId: TABLET }), { ok: true, result: { accepted: true, compartment: 3, purpose: 'retrieve' } }, 'the good token opens compartment 3');
  await rig.settle();
  t.equal(rig.sim.pulseCount, pulsesBefore + 1, 'one door opened');
  t.equal(rig.desk.shownRequestId(), null, 'the QR is gone once used');

  // Replayed: the same token again, before and after the door closed.
  const replayed = await rig.run('mechanic.open', { requestId: 'm-1', token: good, tabletId: TABLET });
  t.match(replayed, { ok: true, result: { accepted: false, reason: 'REPLAYED' } }, 'replayed: refused');
  refusals.push({ name: 'replayed', args: { requestId: 'm-1', token: good, tabletId: TABLET }, reason: 'REPLAYED' });
  refused += 1;
  rig.sim.closeDoor(2);
  await rig.settle();
  t.match(await rig.db.get('SELECT status, compartment_id FROM reservations WHERE id = ?', ['d-1']), { status: 'retrieved', compartment_id: null }, 'the drop-off is retrieved');
  t.match(await rig.db.get('SELECT state FROM compartments WHERE id = 3'), { state: 'free' }, 'compartment 3 is free again');
  t.match(await rig.events('key.retrieved'), [{ reservationId: 'd-1', compartment: 3, requestId: 'm-1', tabletId: TABLET }]);
  t.match(await rig.run('mechanic.open', { requestId: 'm-1', token: good, tabletId: TABLET }), { result: { accepted: false, reason: 'REPLAYED' } }, 'replayed after the door closed: refused');
  refused += 1;

  // Expired on the monotonic clock, whatever the wall clock says.
  await rig.run('mechanic.request', { requestId: 'm-2', reservationId: 'd-2', purpose: 'retrieve', tabletId: TABLET });
  await rig.settle(200);
  t.equal(rig.desk.shownRequestId(), 'm-2');
  const second = rig.tokens.issued.at(-1) ?? '';
  rig.wall.offsetMs = 0;
  await rig.settle(60_100);
  t.equal(rig.desk.shownRequestId(), null, 'the QR went away after 60 s');
  for (const offset of [-30 * DAY_MS, 0, 30 * DAY_MS]) {
    rig.wall.offsetMs = offset;
    const result = await rig.run('mechanic.open', { requestId: 'm-2', token: second, tabletId: TABLET });
    t.match(result, { result: { accepted: false, reason: 'EXPIRED' } }, `expired, wall clock ${offset / DAY_MS} days off: refused`);
    if (result.result?.accepted === false) refused += 1;
  }
  t.match(await rig.events('mechanic.expired'), [{ requestId: 'm-2' }], 'the back office learnt it expired');

  const attempts = refusals.length - 1 + 2 + 3; // the matrix, two replays, three expiries
  t.equal(refused, attempts, `${refused} of ${attempts} bad tokens refused (100 %)`);
  t.equal(rig.sim.pulseCount, pulsesBefore + 1, 'only the good token ever opened a door');
  const told = await rig.events('mechanic.refused');
  t.equal(told.length, attempts, 'each refusal is a mechanic.refused event');
  t.ok(told.every((e) => typeof e.reason === 'string' && e.requestId !== undefined), 'each names its request and reason');
  t.notOk(JSON.stringify(told).includes(good.split('.')[2] ?? '~'), 'no token in the events');
});

t.test('deposit: the locker allocates a free compartment; the door closes: the pickup is ready there', async (t) => {
  const rig = await mechanicRig(t);
  await rig.run('reservation.upsert', { reservation: wire({ id: 'p-1', code: 'C-p1', kind: 'pickup', workOrder: 'WO-88' }), version: 1 });
  await rig.run('mechanic.request', { requestId: 'm-3', reservationId: 'p-1', purpose: 'deposit', tabletId: TABLET });
  await rig.settle(200);
  const token = rig.tokens.issued.at(-1) ?? '';
  const pulses = rig.sim.pulseCount;
  t.match(await rig.run('mechanic.open', { requestId: 'm-3', token, tabletId: TABLET }), { result: { accepted: true, compartment: 1, purpose: 'deposit' } });
  await rig.settle();
  t.equal(rig.sim.pulseCount, pulses + 1, 'compartment 1 opened');
  t.match(await rig.events('mechanic.opened'), [{ requestId: 'm-3', compartment: 1, purpose: 'deposit', confirmed: true }]);
  rig.sim.closeDoor(0);
  await rig.settle();
  t.match(await rig.db.get('SELECT status, compartment_id FROM reservations WHERE id = ?', ['p-1']), { status: 'ready', compartment_id: 1 }, 'the pickup is ready in compartment 1');
  t.match(await rig.db.get('SELECT state, reservation_id FROM compartments WHERE id = 1'), { state: 'occupied', reservation_id: 'p-1' });
  t.match(await rig.events('key.returned'), [{ reservationId: 'p-1', workOrder: 'WO-88', compartment: 1, requestId: 'm-3', tabletId: TABLET }], 'the back office is told which compartment');
  t.same(await rig.db.all('SELECT compartment_id FROM inflight'), [], 'nothing left in flight');
});

t.test('a request while a customer is at the locker waits (the back office is told) and shows when they leave', async (t) => {
  let busy = true;
  const rig = await mechanicRig(t, { customerBusy: () => busy });
  await rig.depositedDropoff('d-1', 2);
  await rig.run('mechanic.request', { requestId: 'm-4', reservationId: 'd-1', purpose: 'retrieve', tabletId: TABLET });
  await rig.settle(200);
  t.equal(rig.desk.qr(), null, 'no QR over a customer');
  t.equal(rig.desk.shownRequestId(), null);
  t.match(await rig.events('mechanic.queued'), [{ requestId: 'm-4', tabletId: TABLET, reason: 'customer-at-locker', position: 1 }]);
  busy = false;
  rig.desk.customerChanged();
  await rig.settle(200);
  t.equal(rig.desk.shownRequestId(), 'm-4', 'shown once the customer is done');
  t.ok(rig.desk.qr());
  t.match(await rig.events('mechanic.qr-shown'), [{ requestId: 'm-4', validForS: 60 }]);
});

t.test('a request that cannot be served (the key is not in the locker) is refused and told, nothing shown', async (t) => {
  const rig = await mechanicRig(t);
  await rig.run('reservation.upsert', { reservation: wire({ id: 'd-9', code: 'C-d9' }), version: 1 });
  await rig.run('mechanic.request', { requestId: 'm-5', reservationId: 'd-9', purpose: 'retrieve', tabletId: TABLET });
  await rig.settle(200);
  t.equal(rig.desk.shownRequestId(), null);
  t.match(await rig.events('mechanic.refused'), [{ requestId: 'm-5', reason: 'NOT_SERVABLE' }]);
});
