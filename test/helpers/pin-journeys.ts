/**
 * The customer's journey side over a store and a lock port, wired as the locker wires it (the
 * lockout and the actuator on the same store), for the tests and the bench of the PIN path.
 */
import { Actuator } from '../../kiosk/core/actuator.js';
import { Journeys } from '../../kiosk/core/journeys.js';
import { LockoutService } from '../../kiosk/core/lockout.js';
import type { UnitPinHashing } from '../../kiosk/core/pin.js';
import type { JourneyStore, LockPort } from '../../kiosk/core/ports.js';
import type { Clock } from '../../kiosk/lib/clock.js';
import { createSilentLogger } from '../../kiosk/logging.js';

export interface PinJourneysOptions {
  store: JourneyStore;
  locks: LockPort;
  pinHashing: UnitPinHashing;
  clock: Clock;
  wallClock: () => Date;
  timeZone: string;
  idleTimeoutMs?: number;
}

export function pinJourneys(o: PinJourneysOptions): Journeys {
  const { store, locks, clock, wallClock } = o;
  const logger = createSilentLogger();
  return new Journeys({
    store,
    locks,
    pins: new LockoutService({ store, clock, wallClock }),
    pinHashing: o.pinHashing,
    actuator: new Actuator({ store, locks, wallClock, logger }),
    clock,
    wallClock,
    logger,
    timeZone: o.timeZone,
    defaultCountry: 'NO',
    defaultLanguage: 'en',
    ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
  });
}
