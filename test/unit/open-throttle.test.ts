/**
 * The remote-open throttle (kiosk/core/open-throttle.ts): N opens in any rolling window,
 * counted on a monotonic clock only.
 */
import t from 'tap';
import { RollingWindowThrottle } from '../../kiosk/core/open-throttle.js';
import { createFakeClock } from '../fakes/fake-clock.js';

t.test('4 in a minute are allowed, the 5th refused with when to retry, allowed again once the first leaves the window', async (t) => {
  const clock = createFakeClock(5_000);
  const throttle = new RollingWindowThrottle({ limit: 4, windowMs: 60_000, now: () => clock.now() });
  for (let i = 0; i < 4; i += 1) {
    t.same(throttle.take(), { ok: true, remaining: 3 - i }, `open ${i + 1}`);
    clock.fake.tick(10_000);
  }
  // the first was at 5 000, now is 45 000: it leaves the window at 65 000
  t.same(throttle.take(), { ok: false, retryAfterMs: 20_000, limit: 4, windowMs: 60_000 }, 'the 5th is refused');
  t.equal(throttle.used(), 4, 'a refusal takes no slot');
  clock.fake.tick(19_999);
  t.equal(throttle.take().ok, false, 'still refused 1 ms before the first open is a minute old');
  clock.fake.tick(1);
  t.same(throttle.take(), { ok: true, remaining: 0 }, 'allowed once it is');
  t.equal(throttle.take().ok, false, 'and the window is full again');
});

t.test('it is rolling, not per calendar minute', async (t) => {
  const clock = createFakeClock(59_000);
  const throttle = new RollingWindowThrottle({ limit: 2, windowMs: 60_000, now: () => clock.now() });
  t.ok(throttle.take().ok);
  t.ok(throttle.take().ok);
  clock.fake.tick(2_000); // a new "minute" on the wall
  t.equal(throttle.take().ok, false, 'the two opens of 2 s ago still count');
});

t.test('refuses a nonsense configuration', async (t) => {
  const now = () => 0;
  t.throws(() => new RollingWindowThrottle({ limit: 0, windowMs: 60_000, now }), RangeError);
  t.throws(() => new RollingWindowThrottle({ limit: 1.5, windowMs: 60_000, now }), RangeError);
  t.throws(() => new RollingWindowThrottle({ limit: 4, windowMs: 0, now }), RangeError);
});
