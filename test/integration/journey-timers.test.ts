/**
 * The session's timers on a fake clock: inactivity, the lockout's end and "thank you" are
 * separate, so a touch (help, activity) never cancels the end of a lockout.
 */
import t, { type Test } from 'tap';
import { Actuator } from '../../kiosk/core/actuator.js';
import { Journeys } from '../../kiosk/core/journeys.js';
import type { PinGuard } from '../../kiosk/core/ports.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { createSimBank } from '../fakes/sim-bank.js';
import { openTempDb } from '../helpers/store.js';

async function setup(t: Test) {
  const { db } = await openTempDb(t);
  const { bank, clock } = createSimBank();
  const started = bank.start();
  await clock.fake.tickAsync(10);
  await started;
  const wallClock = () => new Date(1_800_000_000_000 + clock.now());
  const store = createJourneyStore(db, { wallClock, monoClock: () => clock.now(), bootId: 'boot' });
  // A PIN guard that locks for 30 s at the fifth failure, on the same clock.
  let failures = 0;
  let lockedUntil = 0;
  const pins: PinGuard = {
    lockedFor: async () => (clock.now() < lockedUntil ? lockedUntil - clock.now() : null),
    recordFailure: async () => {
      failures += 1;
      if (failures >= 5) lockedUntil = clock.now() + 30_000;
      return { lockerLockedForMs: failures >= 5 ? 30_000 : null, reservationLocked: false, attemptsLeft: Math.max(0, 5 - failures) };
    },
    doorOpened: async () => undefined,
  };
  const logger = createSilentLogger();
  const journeys = new Journeys({
    store,
    locks: bank,
    pins,
    actuator: new Actuator({ store, locks: bank, wallClock, logger }),
    clock,
    wallClock,
    logger,
    timeZone: 'Europe/Oslo',
    defaultCountry: 'NO',
    defaultLanguage: 'en',
  });
  return { journeys, clock, bank };
}

t.test('the lockout ends on time even while the customer keeps touching the screen', async (t) => {
  const { journeys, clock, bank } = await setup(t);
  await journeys.dispatch({ type: 'start', journey: 'dropoff' });
  for (let i = 0; i < 4; i += 1) await journeys.dispatch({ type: 'pin', pin: '000000' }).catch(() => undefined);
  const locked = await journeys.dispatch({ type: 'pin', pin: '000000' });
  t.equal(locked.step, 'locked-out');
  for (let s = 0; s < 29; s += 1) {
    await clock.fake.tickAsync(1000);
    await journeys.dispatch({ type: s % 2 ? 'activity' : 'help', ...(s % 2 ? {} : { open: true }) } as never);
    t.equal(journeys.view().step, 'locked-out');
  }
  await t.rejects(journeys.dispatch({ type: 'back' }), { code: 'LOCKED_OUT' }, 'no way round it');
  await clock.fake.tickAsync(1500);
  t.equal(journeys.view().step, 'identify', 'back to the keypad after 30 s');
  journeys.stop();
  await bank.stop();
});

t.test('inactivity: a warning 10 s before, then welcome; a touch postpones it', async (t) => {
  const { journeys, clock, bank } = await setup(t);
  await journeys.dispatch({ type: 'start', journey: 'pickup' });
  await clock.fake.tickAsync(49_000);
  t.equal(journeys.view().idleWarning, null);
  await clock.fake.tickAsync(1_500);
  t.equal(journeys.view().idleWarning, 10, 'the warning shows 10 s before');
  await journeys.dispatch({ type: 'activity' });
  t.equal(journeys.view().idleWarning, null, 'a touch clears it');
  await clock.fake.tickAsync(59_000);
  t.equal(journeys.view().step, 'identify', 'still there 59 s after the touch');
  await clock.fake.tickAsync(2_000);
  t.equal(journeys.view().step, 'welcome');
  t.equal(journeys.view().sessionId, null);
  journeys.stop();
  await bank.stop();
});
