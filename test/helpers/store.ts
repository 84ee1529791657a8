import { join } from 'node:path';
import type { Test } from 'tap';
import type { Reservation } from '../../kiosk/core/types.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase, type Db, type OpenOptions } from '../../kiosk/store/db.js';
import { scratchDir } from './scratch.js';

/** A database in a fresh temporary directory, closed when the test ends. */
export async function openTempDb(t: Test, options: OpenOptions = {}): Promise<{ db: Db; dir: string; path: string }> {
  const dir = scratchDir(t);
  const path = join(dir, 'locker.db');
  const db = await openDatabase(path, createSilentLogger(), options);
  t.teardown(() => db.close());
  return { db, dir, path };
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
