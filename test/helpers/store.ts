import { join } from 'node:path';
import type { Test } from 'tap';
import type { Reservation } from '../../kiosk/core/types.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase, type Db, type OpenOptions, type Tx } from '../../kiosk/store/db.js';
import { scratchDir } from './scratch.js';

/** A database in a fresh temporary directory, closed when the test ends. */
export async function openTempDb(t: Test, options: OpenOptions = {}): Promise<{ db: Db; dir: string; path: string }> {
  const dir = scratchDir(t);
  const path = join(dir, 'locker.db');
  const db = await openDatabase(path, createSilentLogger(), options);
  t.teardown(() => db.close());
  return { db, dir, path };
}

/**
 * A transaction that holds the database until `finish()`, its `body` run first; `entered`
 * resolves once it holds it, `done` when it has committed.
 */
export function heldTransaction(db: Db, body: (tx: Tx) => Promise<void> = async () => undefined): { entered: Promise<void>; finish: () => void; done: Promise<void> } {
  let inside!: () => void;
  const entered = new Promise<void>((resolve) => (inside = resolve));
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const done = db.transaction(async (tx) => {
    await body(tx);
    inside();
    await gate;
  });
  return { entered, finish, done };
}

/** A plausible reservation; the PIN hash is a placeholder, these tests never verify it. */
export function sampleReservation(overrides: Partial<Reservation> = {}): Reservation {
  return {
    id: 'r-1',
    code: 'C-0001',
    kind: 'dropoff',
    workOrder: 'WO-1001',
    plate: 'AB12345',
    plateDisplay: 'AB 12345',
    driverName: 'Kari Nordmann',
    phones: ['+4791234567'],
    email: 'kari@example.com',
    appointmentDate: '2025-03-14',
    appointmentTime: '08:30',
    pinHash: 'scrypt$256$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    pinIndex: null,
    status: 'booked',
    compartmentId: null,
    remark: null,
    paymentRequired: false,
    paymentStatus: 'none',
    paymentAmount: null,
    paymentCurrency: null,
    paymentVersion: 0,
    version: 1,
    failedPinAttempts: 0,
    pinLockedAt: null,
    createdAt: '2025-03-10T12:00:00.000Z',
    updatedAt: '2025-03-10T12:00:00.000Z',
    ...overrides,
  };
}
