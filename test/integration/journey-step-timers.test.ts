/**
 * Issue 7, point 9, on a fake clock: each step has its own idle limit. Typing keeps the short
 * one; a customer paying on their phone, waiting for a PIN by SMS, or at an open compartment
 * gets longer; the warning comes before each limit and says what leaving will do.
 */
import t, { type Test } from 'tap';
import { doorJourneys, PICKUP_PIN, toPlaceKey, type DoorRig } from '../helpers/door-journeys.js';

/** The session is still on `step` just before `limitMs` (warning up), and over just after. */
async function endsAfter(t: Test, rig: DoorRig, step: string, limitMs: number, ends: string): Promise<void> {
  await rig.advance(limitMs - 10_500);
  t.equal(rig.journeys.view().idleWarning, null, `${step}: no warning yet`);
  await rig.advance(1_000);
  t.match(rig.journeys.view(), { step, idleWarning: 10, idleEnds: ends }, `${step}: the warning 10 s before, saying what will happen`);
  await rig.advance(9_000);
  t.equal(rig.journeys.view().step, step, `${step}: still there just before ${limitMs / 1000} s`);
  await rig.advance(1_500);
  t.equal(rig.journeys.view().step, 'welcome', `${step}: over after ${limitMs / 1000} s`);
}

t.test('typing a PIN: 60 s; nothing is kept', async (t) => {
  const rig = await doorJourneys(t);
  await rig.act({ type: 'start', journey: 'dropoff' });
  await endsAfter(t, rig, 'identify', 60_000, 'restart');
});

t.test('waiting for a payment: 300 s by default', async (t) => {
  const rig = await doorJourneys(t, { pickup: { paymentRequired: true } });
  await rig.act({ type: 'start', journey: 'pickup' });
  const view = await rig.act({ type: 'pin', pin: PICKUP_PIN });
  t.equal(view.step, 'payment');
  await endsAfter(t, rig, 'payment', 300_000, 'restart');
});

t.test('"the PIN is on its way": 180 s by default', async (t) => {
  const rig = await doorJourneys(t);
  await rig.act({ type: 'start', journey: 'dropoff' });
  await rig.act({ type: 'lookup', by: 'plate', value: 'AB 12345' });
  const view = await rig.act({ type: 'sendPin' });
  t.equal(view.step, 'lookup-sent');
  await endsAfter(t, rig, 'lookup-sent', 180_000, 'restart');
});

t.test('at an open compartment: 180 s by default; the warning says the compartment will be checked', async (t) => {
  const rig = await doorJourneys(t);
  await toPlaceKey(rig);
  await endsAfter(t, rig, 'place-key', 180_000, 'staff-check');
});

t.test('the limits come from the configuration; a new step starts its own', async (t) => {
  const rig = await doorJourneys(t, { journeys: { idleTimeoutMs: 20_000, idleLimits: { doorMs: 40_000, paymentMs: 30_000, pinWaitMs: 25_000 } } });
  await rig.act({ type: 'start', journey: 'dropoff' });
  await rig.act({ type: 'pin', pin: '000000' }).catch(() => undefined);
  await rig.advance(15_000);
  await rig.act({ type: 'lookup', by: 'plate', value: 'AB 12345' });
  await rig.advance(15_000);
  t.equal(rig.journeys.view().step, 'lookup-result', 'the lookup started the step\'s 20 s again');
  await rig.act({ type: 'sendPin' });
  await endsAfter(t, rig, 'lookup-sent', 25_000, 'restart');
  await toPlaceKey(rig);
  await endsAfter(t, rig, 'place-key', 40_000, 'staff-check');
});
