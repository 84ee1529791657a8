/**
 * Issue 13, tap to open: the compartment's number is on both screens while its lock is being
 * pulsed, not only once the pulse has ended and its outcome is written (the 300 ms pulse plus a
 * commit, before this: the customer looked at "opening" while the door was already opening).
 * Every view the screens were pushed is seen at the moment it was pushed (the journeys'
 * `changed` event, which the screen server broadcasts), beside the lock bank's pulse events.
 */
import t, { type Test } from 'tap';
import type { Locker } from '../../kiosk/locker.js';
import { ok, withLocker } from '../helpers/locker.js';

interface Pushed {
  pulsing: number | null;
  bottom: number | null;
  top: number | null;
  step: string;
}

/** What both screens were pushed, each marked with the compartment whose pulse was under way then. */
function watchPushes(t: Test, locker: Locker): Pushed[] {
  const pushed: Pushed[] = [];
  let pulsing: number | null = null;
  const started = (compartment: number): void => {
    pulsing = compartment;
  };
  const ended = (): void => {
    pulsing = null;
  };
  const changed = (): void => {
    const view = locker.journeys.view();
    pushed.push({ pulsing, bottom: view.compartment, top: locker.journeys.topView().compartment, step: view.step });
  };
  locker.hardware.bank.events.on('pulseStarted', started);
  locker.hardware.bank.events.on('pulseEnded', ended);
  locker.journeys.events.on('changed', changed);
  t.teardown(() => {
    locker.hardware.bank.events.off('pulseStarted', started);
    locker.hardware.bank.events.off('pulseEnded', ended);
    locker.journeys.events.off('changed', changed);
  });
  return pushed;
}

t.test('drop-off: Confirm, and compartment 1 is on both screens during its pulse', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  const pushed = watchPushes(t, locker);
  const view = await ok(t, locker, { type: 'confirm' });
  t.match(view, { step: 'place-key', compartment: 1 });
  const during = pushed.filter((p) => p.pulsing === 1);
  t.ok(during.length > 0, 'a view was pushed while the lock was pulsed');
  t.match(during[0], { step: 'opening', bottom: 1, top: 1 }, 'the number on both screens when the pulse starts');
});

t.test('pickup: the last PIN key, and compartment 16 is on both screens during its pulse', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  const pushed = watchPushes(t, locker);
  const view = await ok(t, locker, { type: 'pin', pin: '345678' });
  t.match(view, { step: 'take-key', compartment: 16 });
  const during = pushed.filter((p) => p.pulsing === 16);
  t.ok(during.length > 0, 'a view was pushed while the lock was pulsed');
  t.match(during[0], { step: 'opening', bottom: 16, top: 16 }, 'the number on both screens when the pulse starts');
});
