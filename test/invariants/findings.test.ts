/**
 * The two findings of issue 15, replayed on the real store and actuator: each test failed
 * before its fix. A "kill" here is a boot that ends without any of its clean-up (nothing is
 * written after the last committed transaction, as with SIGKILL); the next boot recovers.
 */
import t, { type Test } from 'tap';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { audit, outbox, reservations } from '../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import { checkInvariants, describeViolations } from './check.js';
import { addReadyPickup, addReservation, bootLocker, closeDoor, type BootedLocker } from './store-fixture.js';

async function eventsOf(locker: BootedLocker): Promise<string[]> {
  const rows = await outbox.listAfter(locker.db, 0, 1000);
  return rows.map((e) => `${e.type}(${String(e.payload.compartment ?? '')})`);
}

async function assertInvariants(t: Test, locker: BootedLocker): Promise<void> {
  const violations = await checkInvariants(locker.path, { atRest: true });
  t.same(violations.map((v) => v.rule), [], `every invariant holds ${describeViolations(violations)}`);
}

t.test('finding 1: every outcome names its intent (opened, failed, interrupted by a restart)', async (t) => {
  const dir = t.testdir();
  let locker = await bootLocker(dir);
  await addReservation(locker, { id: 'r-1' });
  await addReservation(locker, { id: 'r-2' });
  await addReadyPickup(locker, 'p-1', 16);

  const opened = await locker.actuator.openNewFor((await locker.store.reservation('r-1'))!, 's-1', 'customer:s-1');
  t.ok(opened.ok, 'the drop-off opened');
  locker.sim.setJammed(15, true);
  const jammed = await locker.actuator.openReservedFor((await locker.store.reservation('p-1'))!, 's-2', 'customer:s-2');
  t.match(jammed, { ok: false, error: 'OPEN_FAILED' }, 'the jammed pickup did not open');
  await locker.bank.stop();
  await locker.db.close(); // killed with the drop-off's door open

  locker = await bootLocker(dir);
  t.teardown(() => locker.stop());
  const rows = (await audit.list(locker.db, { limit: 100 })).filter((row) => row.action === 'open').reverse();
  const intents = rows.filter((row) => row.phase === 'intent');
  const outcomes = rows.filter((row) => row.phase === 'outcome');
  t.equal(intents.length, 2);
  t.same(
    outcomes.map((o) => [o.result, o.intentId]),
    [
      ['opened', intents[0]?.id],
      ['JAMMED', intents[1]?.id],
      ['INTERRUPTED', intents[0]?.id],
    ],
    'each outcome names the intent it closes',
  );
  await assertInvariants(t, locker);
});

t.test('finding 2: a door forced during a drop-off, then a kill: the reservation ends in one compartment', async (t) => {
  const dir = t.testdir();
  let locker = await bootLocker(dir);
  await addReservation(locker, { id: 'r-1' });
  const first = await locker.actuator.openNewFor((await locker.store.reservation('r-1'))!, 's-1', 'customer:s-1');
  t.match(first, { ok: true, compartment: 1 });
  await locker.actuator.forced(1);
  await locker.bank.stop();
  await locker.db.close(); // SIGKILL: the session ends without a word

  locker = await bootLocker(dir);
  t.teardown(() => locker.stop());
  t.match(await locker.store.reservation('r-1'), { status: 'booked', compartmentId: null }, 'the drop-off is still to do');
  const retry = await locker.actuator.openNewFor((await locker.store.reservation('r-1'))!, 's-2', 'customer:s-2');
  t.match(retry, { ok: true, compartment: 2 }, 'the retry gets another compartment');
  await closeDoor(locker, 2);
  await locker.actuator.deposited(2, 'r-1', { addedPhone: null, remark: null });

  t.match(await locker.store.compartment(1), { state: 'quarantined', reservationId: null }, 'the forced compartment names no reservation');
  t.match(await locker.store.compartment(2), { state: 'occupied', reservationId: 'r-1' });
  t.match(await locker.store.reservation('r-1'), { status: 'deposited', compartmentId: 2 });
  t.same(await eventsOf(locker), ['compartment.opened(1)', 'compartment.forced(1)', 'compartment.quarantined(1)', 'compartment.opened(2)', 'key.deposited(2)']);
  const quarantine = (await audit.list(locker.db, { compartmentId: 1, limit: 10 })).find((row) => row.action === 'quarantine');
  t.equal(quarantine?.reservationId, 'r-1', 'the audit trail still says whom it was held for');
  await assertInvariants(t, locker);
});

t.test('a door forced during a drop-off: the journey cannot finish into the quarantined compartment', async (t) => {
  const locker = await bootLocker(t.testdir());
  t.teardown(() => locker.stop());
  await addReservation(locker, { id: 'r-1' });
  await locker.actuator.openNewFor((await locker.store.reservation('r-1'))!, 's-1', 'customer:s-1');
  await locker.actuator.forced(1);
  await closeDoor(locker, 1);

  await t.rejects(locker.actuator.deposited(1, 'r-1', { addedPhone: null, remark: null }), { code: 'SERVER' }, 'the deposit is refused');
  t.match(await locker.store.compartment(1), { state: 'quarantined', reservationId: null }, 'nothing was written');
  t.match(await locker.store.reservation('r-1'), { status: 'booked', compartmentId: null });

  await locker.actuator.abandonedAfterOpen(1, 'r-1', 'dropoff', 'abandoned');
  t.same(await eventsOf(locker), ['compartment.opened(1)', 'compartment.forced(1)', 'compartment.quarantined(1)', 'journey.abandoned(1)'], 'one quarantine, one event; the abandon reported');
  await assertInvariants(t, locker);
});

t.test('a door forced during a pickup: the key may be inside, the compartment keeps its name, the journey cannot free it', async (t) => {
  const locker = await bootLocker(t.testdir());
  t.teardown(() => locker.stop());
  await addReadyPickup(locker, 'p-1', 16);
  await locker.actuator.openReservedFor((await locker.store.reservation('p-1'))!, 's-1', 'customer:s-1');
  await locker.actuator.forced(16);
  t.match(await locker.store.compartment(16), { state: 'quarantined', reservationId: 'p-1' });
  await closeDoor(locker, 16);
  await t.rejects(locker.actuator.collected(16, 'p-1'), { code: 'SERVER' });
  await locker.actuator.abandonedAfterOpen(16, 'p-1', 'pickup', 'idle');
  t.match(await locker.store.reservation('p-1'), { status: 'ready', compartmentId: 16 });
  await assertInvariants(t, locker);
});

t.test('a forced door and a journey finishing at the same moment: one decides after the other', async (t) => {
  const locker = await bootLocker(t.testdir());
  t.teardown(() => locker.stop());
  await addReservation(locker, { id: 'r-1' });
  await locker.actuator.openNewFor((await locker.store.reservation('r-1'))!, 's-1', 'customer:s-1');
  await closeDoor(locker, 1);
  // Both start before either has written: the deposit (first) must not be undone by a stale read.
  const deposit = locker.actuator.deposited(1, 'r-1', { addedPhone: null, remark: null });
  const forced = locker.actuator.forced(1);
  await Promise.all([deposit, forced]);
  t.match(await locker.store.compartment(1), { state: 'quarantined', reservationId: 'r-1' }, 'forced after the deposit: the key is named');
  t.match(await locker.store.reservation('r-1'), { status: 'deposited', compartmentId: 1 });
  await assertInvariants(t, locker);
});

// Found by the crash run SEED=3 (lane 0, generation 1, life 14): a pickup abandoned after its
// door opened left its compartment quarantined, the customer typed the PIN again, and the
// quarantined compartment was pulsed open for them; the kill then left a pickup in flight on a
// quarantined compartment (inflight-agrees).
t.test('found by the kills: a PIN never opens a quarantined compartment, even for its own pickup', async (t) => {
  const locker = await bootLocker(t.testdir());
  t.teardown(() => locker.stop());
  await addReadyPickup(locker, 'p-1', 16);
  t.ok((await locker.actuator.openReservedFor((await locker.store.reservation('p-1'))!, 's-1', 'customer:s-1')).ok);
  await locker.actuator.abandonedAfterOpen(16, 'p-1', 'pickup', 'abandoned');
  await closeDoor(locker, 16);
  const pulses = locker.sim.pulseCount;

  const again = await locker.actuator.openReservedFor((await locker.store.reservation('p-1'))!, 's-2', 'customer:s-2');
  t.match(again, { ok: false, error: 'OPEN_FAILED', compartment: 16 }, 'refused');
  t.equal(locker.sim.pulseCount, pulses, 'no pulse');
  t.same(await locker.store.inflight(), [], 'nothing in flight');
  t.equal((await audit.list(locker.db, { limit: 100 })).filter((row) => row.phase === 'intent').length, 1, 'no intent written');
  await assertInvariants(t, locker);
});

// The actuator decided on the caller's copy of the reservation: a back-office command that
// committed between the journey's read and the actuation (a cancel, a refund) was not seen,
// so a compartment was held, and its door opened, for a cancelled or unpaid reservation.
t.test('a reservation cancelled, or a payment refunded, just before the door opens: nothing is held, nothing pulsed', async (t) => {
  const locker = await bootLocker(t.testdir());
  t.teardown(() => locker.stop());
  const commands = new CommandProcessor({ db: locker.db, lockouts: new LockoutService(), logger: createSilentLogger() });
  await addReservation(locker, { id: 'r-1' });
  await addReadyPickup(locker, 'p-1', 16);
  await locker.db.transaction((tx) => reservations.update(tx, 'p-1', { paymentStatus: 'paid', paymentAmount: 100, paymentCurrency: 'NOK', paymentVersion: 1 }, new Date()));
  await locker.db.run("UPDATE reservations SET payment_required = 1 WHERE id = 'p-1'");
  const dropoff = (await locker.store.reservation('r-1'))!;
  const pickup = (await locker.store.reservation('p-1'))!;

  const cancelled = await commands.apply({ v: 1, type: 'command', id: 'c-1', name: 'reservation.cancel', args: { reservationId: 'r-1', version: 2 } });
  t.match(cancelled, { ok: true });
  const refunded = await commands.apply({ v: 1, type: 'command', id: 'c-2', name: 'payment.status', args: { reservationId: 'p-1', status: 'refunded', amount: 100, currency: 'NOK', version: 2 } });
  t.match(refunded, { ok: true });

  t.match(await locker.actuator.openNewFor(dropoff, 's-1', 'customer:s-1'), { ok: false }, 'the cancelled drop-off is refused');
  t.match(await locker.actuator.openReservedFor(pickup, 's-2', 'customer:s-2'), { ok: false }, 'the refunded pickup is refused');
  t.equal(locker.sim.pulseCount, 0, 'no pulse');
  t.same((await locker.store.compartments()).filter((c) => c.state === 'reserved'), [], 'no compartment held');
  t.same(await locker.store.inflight(), []);
  await assertInvariants(t, locker);
});
