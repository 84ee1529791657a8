/**
 * PIN guessing as an attacker does it, and PIN entry as a customer lives it (issues 8 and 11),
 * end to end: a locker on the simulator beside the reference back office, over HTTP.
 *
 * Each test here failed on the code before issue 8's fix (checked by running this file against
 * that commit): a used PIN reset the back-off, a quarantined pickup compartment was pulsed
 * again, the first of two reservations with one PIN won, a wrong-journey PIN counted as wrong,
 * and sendPin could be pressed 30 times for 30 messages.
 */
import t, { type Test } from 'tap';
import { reservations } from '../../kiosk/store/repositories.js';
import type { SessionView } from '../../kiosk/core/session-view.js';
import type { Locker } from '../../kiosk/locker.js';
import { act, ok, recordedEvents, until, withLocker, type ActionReply } from '../helpers/locker.js';

const closeDoor = (locker: Locker, compartment: number) => locker.hardware.sim?.closeDoor(compartment - 1);

/** Drop off demo-dropoff-1's key (PIN 123456): afterwards its PIN is a used one. */
async function dropOff(t: Test, locker: Locker, pin = '123456'): Promise<number> {
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin });
  const view = await ok(t, locker, { type: 'confirm' });
  const compartment = view.compartment ?? 0;
  closeDoor(locker, compartment);
  await until(() => locker.hardware.bank.doorState(compartment) === 'closed', 'the door closed');
  await ok(t, locker, { type: 'confirm' });
  await ok(t, locker, { type: 'confirm' });
  return compartment;
}

const lockedOut = (reply: ActionReply): boolean => reply.view?.step === 'locked-out';

t.test('finding 1: a used PIN in the loop no longer resets the back-off', async (t) => {
  const locker = await withLocker(t);
  await dropOff(t, locker);
  t.match(await reservations.getById(locker.db, 'demo-dropoff-1'), { status: 'deposited' });

  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  let tries = 0;
  let reply: ActionReply | null = null;
  // 4 wrong PINs, then the known used one, five times over: the attack that got 100 guesses
  // through in 4 s. Now the used PIN counts too, and the fifth attempt of any kind backs off.
  for (let round = 0; round < 5 && !(reply && lockedOut(reply)); round += 1) {
    for (const pin of ['900001', '900002', '900003', '900004', '123456']) {
      reply = await act(locker, { type: 'pin', pin });
      tries += 1;
      if (lockedOut(reply)) break;
    }
  }
  t.ok(reply && lockedOut(reply), 'PIN entry was locked');
  t.equal(tries, 5, 'after five attempts, the used PIN among them');
  const used = (await recordedEvents(locker)).filter((e) => e.type === 'lockout.locker');
  t.equal(used.length, 1, 'the back office was told');
});

t.test('a right PIN for a used, cancelled or not-ready reservation says so, offers help, and counts', async (t) => {
  const locker = await withLocker(t);
  await dropOff(t, locker);
  await locker.backOffice.service.cancelReservation('demo-dropoff-2');
  await until(async () => (await locker.store.reservation('demo-dropoff-2'))?.status === 'cancelled', 'the cancellation reached the locker');

  await ok(t, locker, { type: 'start', journey: null });
  const expected: [string, string][] = [
    ['123456', 'ALREADY_USED'],
    ['234567', 'RESERVATION_CANCELLED'],
    ['567890', 'NOT_READY'],
  ];
  for (const [pin, code] of expected) {
    const reply = await act(locker, { type: 'pin', pin });
    t.equal(reply.error?.code, code, `${pin}: ${code}`);
    const view = locker.journeys.view();
    t.equal(view.offer.callHelp, true, `${code}: Call for help is offered`);
  }
  const failures = (await locker.db.get<{ failures: number }>("SELECT failures FROM lockouts WHERE scope = 'locker'"))?.failures;
  t.equal(failures, 3, 'each counted as a failure');
  t.same(locker.journeys.view().error, { code: 'NOT_READY', attemptsLeft: 2 }, 'tries left shown from the last two, whatever the error');
  const fourth = await act(locker, { type: 'pin', pin: '111111' });
  t.same(fourth.error, { code: 'PIN_WRONG', message: 'wrong PIN' });
  t.same(locker.journeys.view().error, { code: 'PIN_WRONG', attemptsLeft: 1 }, 'the last try is announced');
});

t.test('tries left for the last two of plain PIN entry, the locker-wide count included', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  const seen: (number | undefined)[] = [];
  for (let i = 1; i <= 4; i += 1) {
    await act(locker, { type: 'pin', pin: `80000${i}` });
    seen.push(locker.journeys.view().error?.attemptsLeft);
  }
  t.same(seen, [undefined, undefined, 2, 1]);
  const fifth = await act(locker, { type: 'pin', pin: '800005' });
  t.match(fifth.view, { step: 'locked-out', error: { code: 'LOCKED_OUT', retryAfterS: 30 }, offer: { callHelp: true } });
});

t.test('pickup candidates are the keys in this locker now: a quarantined compartment is never pulsed for a PIN', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('simulator expected');
  sim.forceDoor(15); // compartment 16 holds demo-pickup-paid's key
  await until(async () => (await locker.store.compartment(16))?.state === 'quarantined', 'compartment 16 quarantined');
  sim.closeDoor(15);
  await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door 16 closed');
  const pulses = sim.pulseCount;
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  const reply = await act(locker, { type: 'pin', pin: '345678' });
  t.equal(reply.error?.code, 'NOT_READY', 'the key cannot be handed out: the customer is told, with Call for help');
  t.equal(sim.pulseCount, pulses, 'no lock was pulsed');
});

t.test('a PIN that matches two reservations opens nothing, asks for the plate and tells the back office', async (t) => {
  const locker = await withLocker(t);
  const first = await locker.store.reservation('demo-dropoff-1');
  if (!first) throw new Error('demo reservation missing');
  // A back office that broke the rule: a second booking with the same PIN (hash) for today.
  const result = await locker.sync.commands.apply({
    v: 1,
    type: 'command',
    id: 'twin-1',
    name: 'reservation.upsert',
    args: {
      reservation: {
        id: 'twin', code: 'TWIN1', kind: 'dropoff', workOrder: 'WO-TWIN', plate: 'ZZ 11111', driverName: 'Twin Driver', phones: [],
        email: null, appointmentDate: first.appointmentDate, appointmentTime: null, pinHash: first.pinHash, compartmentId: null, paymentRequired: false,
      },
      version: 1,
    },
  });
  t.match(result, { ok: true });
  const pulses = locker.hardware.sim?.pulseCount;
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  const reply = await act(locker, { type: 'pin', pin: '123456' });
  t.equal(reply.error?.code, 'PIN_AMBIGUOUS', 'not "the first match wins"');
  t.match(locker.journeys.view(), { step: 'identify', identifyMode: 'plate', reservation: null }, 'the plate keyboard, nothing about either booking');
  t.equal(locker.hardware.sim?.pulseCount, pulses, 'nothing opened');
  const told = (await recordedEvents(locker)).find((e) => e.type === 'pin.ambiguous');
  t.same((told?.payload.reservationIds as string[]).slice().sort(), ['demo-dropoff-1', 'twin']);
  t.equal(await locker.db.get("SELECT failures FROM lockouts WHERE scope = 'locker'"), undefined, 'not counted as a wrong PIN');

  await ok(t, locker, { type: 'lookup', by: 'plate', value: 'AB 12345' });
  await ok(t, locker, { type: 'back' });
  const view = await ok(t, locker, { type: 'pin', pin: '123456' });
  t.match(view, { step: 'details', journey: 'dropoff', reservation: { driverName: 'Kari Nordmann' } }, 'the plate decided');
});

t.test('"I have a PIN": the PIN decides the journey', async (t) => {
  const locker = await withLocker(t);
  let view = await ok(t, locker, { type: 'start', journey: null });
  t.match(view, { step: 'identify', journey: null, progress: null });
  view = await ok(t, locker, { type: 'pin', pin: '345678' });
  t.match(view, { step: 'take-key', journey: 'pickup', compartment: 16 });
  await ok(t, locker, { type: 'abandon' });
  t.match(await ok(t, locker, { type: 'abandonConfirm' }), { step: 'close-door' }, 'the door is open: close it first');
  locker.hardware.sim?.closeDoor(15);
  await until(() => locker.journeys.view().step === 'welcome', 'the session to end at the closed door');
  view = await ok(t, locker, { type: 'start' } as never);
  t.equal(view.journey, null, 'start without a journey field is "I have a PIN" too');
  view = await ok(t, locker, { type: 'pin', pin: '234567' });
  t.match(view, { step: 'details', journey: 'dropoff', progress: { index: 2, count: 4 } });
});

t.test('issue 11: a PIN for the other journey is offered as a switch and never counted as wrong', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  let reply: ActionReply | null = null;
  for (let i = 0; i < 6; i += 1) reply = await act(locker, { type: 'pin', pin: '345678' });
  t.equal(reply?.error?.code, 'PIN_OTHER_JOURNEY', 'six times, and still not locked out');
  let view: SessionView = locker.journeys.view();
  t.match(view, { step: 'identify', journey: 'dropoff', error: { code: 'PIN_OTHER_JOURNEY', journey: 'pickup' }, offer: { switchJourney: 'pickup', callHelp: true } });
  t.equal(await locker.db.get("SELECT failures FROM lockouts WHERE scope = 'locker'"), undefined, 'no failure recorded');
  view = await ok(t, locker, { type: 'switchJourney' });
  t.match(view, { step: 'take-key', journey: 'pickup', compartment: 16 }, 'switched, and the door opened without the PIN again');
  t.same((await recordedEvents(locker)).map((e) => e.type), ['compartment.opened']);

  // The reverse, and an offer that lapses when something else is asked.
  closeDoor(locker, 16);
  await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door 16 closed');
  await ok(t, locker, { type: 'confirm' });
  await ok(t, locker, { type: 'confirm' });
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  t.equal((await act(locker, { type: 'pin', pin: '123456' })).error?.code, 'PIN_OTHER_JOURNEY');
  t.equal(locker.journeys.view().offer.switchJourney, 'dropoff');
  await ok(t, locker, { type: 'identifyMode', mode: 'pin' });
  t.equal(locker.journeys.view().offer.switchJourney, null, 'withdrawn once the customer does something else');
  t.equal((await act(locker, { type: 'switchJourney' })).error?.code, 'BAD_ACTION');
});

t.test('finding 3: PIN delivery and lookups are throttled, and the screen says so', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'lookup', by: 'plate', value: 'AB12345' });
  await ok(t, locker, { type: 'sendPin' });
  const codes: string[] = [];
  for (let i = 0; i < 30; i += 1) {
    if (locker.journeys.view().step !== 'identify') await ok(t, locker, { type: 'back' });
    const lookup = await act(locker, { type: 'lookup', by: 'plate', value: 'AB12345' });
    if (lookup.status !== 200) {
      codes.push(lookup.error?.code ?? '?');
      continue;
    }
    codes.push((await act(locker, { type: 'sendPin' })).error?.code ?? 'sent');
  }
  const sent = (await recordedEvents(locker)).filter((e) => e.type === 'pin.delivery-requested');
  t.equal(sent.length, 1, 'one PIN delivery, not 31');
  t.same(codes.slice(0, 5), Array(5).fill('PIN_ALREADY_SENT'), 'a second Send within 10 minutes is refused');
  t.ok(codes.slice(5).every((code) => code === 'LOOKUP_THROTTLED'), 'then the lookups themselves: 6 a minute (the default)');
  t.match(locker.journeys.view().error, { code: 'LOOKUP_THROTTLED' });
  t.ok((locker.journeys.view().error?.retryAfterS ?? 0) > 0, 'with how long to wait');
});

t.test('finding 2: the fifth failure after a plate lookup locks the reservation and backs the locker off; both reach the back office, and staff lift both', async (t) => {
  const locker = await withLocker(t);
  const bo = locker.backOffice.service;
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'lookup', by: 'plate', value: 'EL 98765' });
  await ok(t, locker, { type: 'back' });
  let last: ActionReply | null = null;
  for (let i = 0; i < 5; i += 1) last = await act(locker, { type: 'pin', pin: `55555${i}` });
  t.equal(last?.view?.step, 'locked-out');
  const types = (await recordedEvents(locker)).map((e) => e.type);
  t.ok(types.includes('lockout.locker') && types.includes('lockout.reservation'), `both events were written: ${types.join(', ')}`);
  await until(async () => (await bo.staffState()).reservations.find((r) => r.id === 'demo-dropoff-2')?.pinLocked === true, 'the back office to see the reservation locked');

  // Staff lift both; the customer (now identified by staff) types the right PIN.
  const unitId = locker.config.unitId;
  const lift = (path: string) => fetch(`${locker.urls.backOffice}api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.equal((await lift(`units/${unitId}/lift-lockout`)).status, 202);
  t.equal((await lift('reservations/demo-dropoff-2/lift-lockout')).status, 202);
  await until(async () => (await bo.staffState()).reservations.find((r) => r.id === 'demo-dropoff-2')?.pinLocked === false, 'the lift to come back as an event');
  await ok(t, locker, { type: 'back' });
  const view = await ok(t, locker, { type: 'pin', pin: '234567' });
  t.match(view, { step: 'details', reservation: { driverName: 'Ola Hansen' } });
});
