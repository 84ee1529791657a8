import FakeTimers from '@sinonjs/fake-timers';
import type { Clock } from '../../kiosk/lib/clock.js';

/** A Clock driven by @sinonjs/fake-timers: advance it with `tickAsync`/`runAllAsync`. */
export function createFakeClock(start = 0): Clock & { fake: FakeTimers.Clock } {
  const fake = FakeTimers.createClock(start);
  return {
    fake,
    now: () => fake.now,
    setTimeout: (callback, ms) => fake.setTimeout(callback, ms),
    clearTimeout: (handle) => (fake.clearTimeout as (id: unknown) => void)(handle),
  };
}
