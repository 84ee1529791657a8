/**
 * Issue 8, finding 2: every lockout's start and end reaches the back office, so that after any
 * sequence of wrong PINs, used PINs, plate lookups, expiries, doors opening and staff lifts,
 * the reference back office believes exactly what the locker holds: the same locker-wide
 * back-off (to the millisecond) and the same locked reservations. Staff lift a lockout from the
 * staff page's API and the customer may type again at once.
 *
 * The back-offs are made short (config) so expiries happen within the test; the sequence is
 * pseudo-random from a fixed seed, so a failure can be replayed.
 */
import t, { type Test } from 'tap';
import { outbox } from '../../kiosk/store/repositories.js';
import { act, ok, until, withLocker, type TestLocker } from '../helpers/locker.js';

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function lockerState(locker: TestLocker) {
  const row = await locker.db.get<{ locked_until: string | null }>("SELECT locked_until FROM lockouts WHERE scope = 'locker'");
  return { lockerLockedUntil: row?.locked_until ?? null, lockedReservations: await locker.store.lockedReservations() };
}

/**
 * Both sides, once every event is acknowledged and every command answered. A back-off's end is
 * the locker's own timer: it may fire between "settled" and the comparison (on a loaded machine
 * it did), leaving its lockout.ended in flight. So the two pictures are read at an instant when
 * nothing is in flight, and the assertion is on the last such instant: a locker and back office
 * that never agree still fail it.
 */
async function agree(t: Test, locker: TestLocker, label: string): Promise<void> {
  let last: { backOffice: unknown; locker: unknown } = { backOffice: null, locker: null };
  const settledAndSame = async (): Promise<boolean> => {
    const [pending, commands] = await Promise.all([outbox.pendingCount(locker.db), locker.backOffice.service.pendingCommands(locker.config.unitId)]);
    if (pending !== 0 || commands.length !== 0) return false;
    last = { backOffice: await locker.backOffice.service.lockoutState(locker.config.unitId), locker: await lockerState(locker) };
    const stillSettled = (await outbox.pendingCount(locker.db)) === 0;
    return stillSettled && JSON.stringify(last.backOffice) === JSON.stringify(last.locker);
  };
  await until(settledAndSame, `${label}: the link to settle with both sides agreeing`).catch(() => undefined);
  t.same(last.backOffice, last.locker, `${label}: the back office agrees with the locker`);
}

/** Bring the session to the PIN keypad of `journey`, whatever step it is at. */
async function keypad(locker: TestLocker): Promise<void> {
  for (let i = 0; i < 20; i += 1) {
    const view = locker.journeys.view();
    if (view.step === 'identify') {
      if (view.identifyMode !== 'pin') await act(locker, { type: 'back' });
      else return;
    } else if (view.step === 'welcome') {
      await act(locker, { type: 'start', journey: null });
    } else if (view.step === 'locked-out') {
      const reply = await act(locker, { type: 'back' });
      if (reply.error?.code === 'LOCKED_OUT') await until(async () => (await locker.lockouts.lockedFor(new Date())) === null, 'the back-off to end');
    } else if (view.step === 'lookup-result' || view.step === 'lookup-sent') {
      await act(locker, { type: 'back' });
    } else if (view.step === 'close-door' && view.compartment !== null) {
      // Abandoned with the door open: the customer closes it, and the session ends.
      locker.hardware.sim?.closeDoor(view.compartment - 1);
      await until(() => locker.journeys.view().step !== 'close-door', 'the session to end at the closed door');
    } else {
      await act(locker, { type: 'abandon' });
      await act(locker, { type: 'abandonConfirm' });
    }
  }
  throw new Error(`could not reach the keypad from ${locker.journeys.view().step}`);
}

t.test('finding 2: after any sequence, the back office and the locker agree on every lockout', async (t) => {
  const locker = await withLocker(t, { security: { lockout: { lockerBaseBackoffMs: 200, lockerMaxBackoffMs: 400 } } });
  const bo = locker.backOffice.service;
  const unitId = locker.config.unitId;
  const next = random(20250314);

  // The case of the finding: the fifth bound failure locks the reservation and starts the
  // locker-wide back-off at once; both are events.
  await keypad(locker);
  await ok(t, locker, { type: 'identifyMode', mode: 'plate' });
  await ok(t, locker, { type: 'lookup', by: 'plate', value: 'EL98765' });
  await ok(t, locker, { type: 'back' });
  for (let i = 0; i < 5; i += 1) await act(locker, { type: 'pin', pin: `70000${i}` });
  t.equal(locker.journeys.view().step, 'locked-out');
  await agree(t, locker, 'five bound failures');
  t.same((await bo.lockoutState(unitId)).lockedReservations, ['demo-dropoff-2'], 'the reservation lock reached the back office');

  const steps: [string, () => Promise<unknown>][] = [
    ['a wrong PIN', async () => { await keypad(locker); await act(locker, { type: 'pin', pin: String(100000 + Math.floor(next() * 800000)) }); }],
    ['a used-up or not-ready PIN', async () => { await keypad(locker); await act(locker, { type: 'pin', pin: '567890' }); }],
    ['a bound wrong PIN', async () => {
      await keypad(locker);
      await act(locker, { type: 'identifyMode', mode: 'plate' });
      if ((await act(locker, { type: 'lookup', by: 'plate', value: 'AB12345' })).status !== 200) return;
      await act(locker, { type: 'back' });
      await act(locker, { type: 'pin', pin: '700123' });
    }],
    ['the back-off runs out', () => until(async () => (await lockerState(locker)).lockerLockedUntil === null, 'the back-off to end')],
    ['staff lift the locker', () => bo.liftLockout({ unitId })],
    ['staff lift a reservation', async () => {
      const [locked] = await locker.store.lockedReservations();
      if (locked) await bo.liftLockout({ reservationId: locked });
    }],
  ];
  for (let i = 0; i < 24; i += 1) {
    const [label, step] = steps[Math.floor(next() * steps.length)] ?? steps[0]!;
    await step();
    await agree(t, locker, `step ${i + 1}, ${label}`);
    if (i === 11) {
      // Half way: a door opens for a customer (the only thing that ends a streak).
      // A new customer (a plate lookup binds the PINs of its own session only).
      await keypad(locker);
      await act(locker, { type: 'abandon' });
      await act(locker, { type: 'abandonConfirm' });
      await keypad(locker);
      await until(async () => (await locker.lockouts.lockedFor(new Date())) === null, 'no back-off running');
      const opened = await act(locker, { type: 'pin', pin: '345678' });
      t.equal(opened.view?.step, 'take-key', 'a customer gets the key');
      await act(locker, { type: 'abandon' });
      await act(locker, { type: 'abandonConfirm' });
      t.equal((await locker.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM lockouts WHERE scope = 'locker'"))?.n, 0, 'the streak ended with the door');
      await agree(t, locker, 'a door opened');
    }
  }
});

t.test('staff lift from the staff page: the waiting customer may type again at once', async (t) => {
  const locker = await withLocker(t);
  await keypad(locker);
  for (let i = 0; i < 5; i += 1) await act(locker, { type: 'pin', pin: `60000${i}` });
  const view = locker.journeys.view();
  t.match(view, { step: 'locked-out', error: { code: 'LOCKED_OUT', retryAfterS: 30 }, offer: { callHelp: true } });
  t.equal((await act(locker, { type: 'back' })).error?.code, 'LOCKED_OUT', '"Try again" waits while it lasts');
  await until(async () => (await locker.backOffice.service.lockoutState(locker.config.unitId)).lockerLockedUntil !== null, 'the back office to see it');

  const response = await fetch(`${locker.urls.backOffice}api/units/${locker.config.unitId}/lift-lockout`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  t.equal(response.status, 202, 'the staff page\'s button');
  await until(async () => (await locker.lockouts.lockedFor(new Date())) === null, 'the locker to lift it');
  t.match(await ok(t, locker, { type: 'back' }), { step: 'identify', error: null }, '"Try again" works now');
  t.match(await ok(t, locker, { type: 'pin', pin: '345678' }), { step: 'take-key' }, 'and the right PIN opens');
  await agree(t, locker, 'after the lift');
});
