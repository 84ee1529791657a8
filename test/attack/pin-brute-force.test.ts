/**
 * The attack script (pin-brute-force.ts) against a locker on the simulator: 1,000 guesses with
 * used, cancelled and not-ready PINs mixed in. The back-offs are shortened (config) so the run
 * takes seconds; their order is the real policy's: five free failures, then one guess per
 * back-off. On the code before issue 8 the used PIN reset the back-off: 100 guesses got through
 * in 4 s with no lockout at all.
 */
import t from 'tap';
import { act, ok, until, withLocker } from '../helpers/locker.js';
import { runAttack } from './pin-brute-force.js';

// A thousand guesses over HTTP, each one scrypt and one commit, take a minute or two on a
// busy machine: more than the suite's default two minutes per file.
t.setTimeout(480_000);

t.test('1,000 guesses interleaved with used, cancelled and not-ready PINs: five, then one per lockout', async (t) => {
  const locker = await withLocker(t, { security: { lockout: { lockerBaseBackoffMs: 2, lockerMaxBackoffMs: 4 } } });
  // Make 123456 a used PIN (the key was dropped off) and 234567 a cancelled one.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  const opened = await ok(t, locker, { type: 'confirm' });
  locker.hardware.sim?.closeDoor((opened.compartment ?? 1) - 1);
  await until(() => locker.hardware.bank.doorState(opened.compartment ?? 1) === 'closed', 'the door closed');
  await ok(t, locker, { type: 'confirm' });
  await ok(t, locker, { type: 'confirm' });
  await locker.backOffice.service.cancelReservation('demo-dropoff-2');
  await until(async () => (await locker.store.reservation('demo-dropoff-2'))?.status === 'cancelled', 'the cancellation');
  t.equal((await act(locker, { type: 'start', journey: null })).status, 200);

  const report = await runAttack({
    url: locker.server.url,
    guesses: 1000,
    every: 5,
    known: { used: '123456', cancelled: '234567', notReady: '567890' },
    seed: 1,
    maxWaitS: 5,
  });
  t.comment(JSON.stringify({ ...report, throughBeforeLockout: `${report.throughBeforeLockout.slice(0, 8).join(', ')}, ... (${report.throughBeforeLockout.length} runs)` }));
  t.equal(report.guesses, 1000);
  t.equal(report.opened, 0, 'nothing opened');
  t.equal(report.throughBeforeLockout[0], 5, 'five guesses before the first lockout');
  t.ok(report.throughBeforeLockout.slice(1).every((run) => run === 1), 'then exactly one guess per lockout, used PINs or not');
  t.equal(report.lockouts, 996);
  t.ok((report.answers.LOCKED_OUT ?? 0) >= 996, 'the used, cancelled and not-ready PINs only ever met a lockout after the first five');
});
