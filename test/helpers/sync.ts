/**
 * A locker's sync side on a temporary database, for the sync integration tests: the journey
 * store (with the commit hook wired as locker.ts will), the unit key, and a SyncService aimed at
 * a MiniBackOffice (or any URL).
 */
import { randomUUID } from 'node:crypto';
import type { Test } from 'tap';
import { LockoutService } from '../../kiosk/core/lockout.js';
import type { JourneyStore } from '../../kiosk/core/ports.js';
import type { Clock } from '../../kiosk/lib/clock.js';
import { createSilentLogger, type Logger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { createJourneyStore } from '../../kiosk/store/journey-store.js';
import { compartments } from '../../kiosk/store/repositories.js';
import type { HelpCallPort } from '../../kiosk/sync/commands.js';
import { loadOrCreateIdentity, type UnitIdentity } from '../../kiosk/sync/identity.js';
import type { DoorStateWire } from '../../kiosk/sync/messages.js';
import { SyncService, type BackOfficeSettings } from '../../kiosk/sync/sync-service.js';
import { createValidator, type ProtocolValidator } from '../../kiosk/sync/validate.js';
import { openTempDb, sampleReservation } from './store.js';

export const UNIT_ID = 'unit-test-1';
export const PIN_HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==';

let sharedValidator: ProtocolValidator | null = null;
/** Compiling the schemas takes a moment: once per test process. */
export function validator(): ProtocolValidator {
  sharedValidator ??= createValidator();
  return sharedValidator;
}

export interface LockerSide {
  db: Db;
  dir: string;
  identity: UnitIdentity;
  store: JourneyStore;
  bootId: string;
  /** Set by makeSync(). */
  sync: SyncService | null;
  makeSync(
    url: string,
    overrides?: Partial<BackOfficeSettings> & {
      help?: HelpCallPort;
      welcomeTimeoutMs?: number;
      doorState?: (id: number) => DoorStateWire;
      logger?: Logger;
      wallClock?: () => Date;
      timesyncFlagPath?: string | null;
      /** The link's timers (pings, retries, welcome): a fake clock makes them a test's to advance. */
      clock?: Clock;
    },
  ): SyncService;
  /** Appends `count` events in transactions of `perTx`, through the journey store. */
  appendEvents(count: number, perTx?: number): Promise<void>;
}

export async function lockerSide(t: Test, compartmentCount = 4): Promise<LockerSide> {
  const { db, dir } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, compartmentCount, new Date()));
  const identity = await loadOrCreateIdentity(dir, UNIT_ID);
  const bootId = randomUUID();
  const started = performance.now();
  const monoClock = (): number => performance.now() - started;
  const side: LockerSide = {
    db,
    dir,
    identity,
    bootId,
    sync: null,
    store: createJourneyStore(db, { wallClock: () => new Date(), monoClock, bootId }, { onEventsCommitted: () => side.sync?.notifyEventsCommitted() }),
    makeSync(url, overrides = {}) {
      const { help, welcomeTimeoutMs, doorState, logger, wallClock, timesyncFlagPath, clock, ...backOffice } = overrides;
      const sync = new SyncService({
        db,
        unitId: UNIT_ID,
        softwareVersion: '0.1.0-test',
        bootId,
        timeZone: 'Europe/Oslo',
        backOffice: {
          url,
          audience: 'keylocker-backoffice',
          caFile: null,
          pingIntervalMs: 5000,
          reconnectInitialMs: 20,
          reconnectMaxMs: 200,
          maxInFlight: 500,
          ...backOffice,
        },
        identity,
        doorState: doorState ?? ((id) => (id === 1 ? 'open' : 'closed')),
        lockouts: new LockoutService(),
        logger: logger ?? createSilentLogger(),
        monoClock,
        timesyncFlagPath: timesyncFlagPath ?? null,
        validator: validator(),
        outboxPollMs: 60_000,
        ...(help ? { help } : {}),
        ...(wallClock ? { wallClock } : {}),
        ...(clock ? { clock } : {}),
        ...(welcomeTimeoutMs !== undefined ? { welcomeTimeoutMs } : {}),
      });
      side.sync = sync;
      t.teardown(() => sync.stop());
      return sync;
    },
    async appendEvents(count, perTx = 2500) {
      let done = 0;
      for (let round = 0; round < 1000 && done < count; round += 1) {
        const n = Math.min(perTx, count - done);
        const base = done;
        await side.store.transaction(async (tx) => {
          for (let i = 1; i <= n; i += 1) await tx.event('compartment.closed', { compartment: ((base + i) % 16) + 1 });
        });
        done += n;
      }
    },
  };
  return side;
}

/**
 * `count` reservations with ids r-00000.., the first `today` of them on `date`, the others
 * booked on later dates (up to 2025-12-28), versions 1-3 and payment versions 0-1; one statement.
 */
export async function fillReservations(db: Db, count: number, today: number, date: string): Promise<void> {
  const r = sampleReservation();
  await db.transaction((tx) =>
    tx.run(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
       INSERT INTO reservations (id, code, kind, work_order, plate, plate_display, driver_name, phones, appointment_date, pin_hash, status, version, payment_version, created_at, updated_at)
       SELECT printf('r-%05d', i), 'C' || i, 'dropoff', 'WO', ?, ?, ?, '[]',
              CASE WHEN i < ? THEN ? ELSE printf('2025-%02d-%02d', 4 + (i / 1000) % 9, 1 + i % 28) END,
              ?, 'booked', 1 + i % 3, i % 2, ?, ?
       FROM n`,
      [count, r.plate, r.plateDisplay, r.driverName, today, date, r.pinHash, r.createdAt, r.createdAt],
    ),
  );
}
