/**
 * Demo reservations for a locker started without configuration, so a newcomer can walk every
 * journey at once. Only ever used with the simulator; the PINs are printed in the README.
 */
import type { Logger } from 'pino';
import { localDate } from './core/dates.js';
import { hashPin } from './core/pin.js';
import type { Reservation } from './core/types.js';
import type { Db } from './store/db.js';
import { compartments, reservations } from './store/repositories.js';

export interface DemoReservation {
  pin: string;
  reservation: Omit<Reservation, 'pinHash' | 'appointmentDate' | 'createdAt' | 'updatedAt'>;
}

const base = {
  failedPinAttempts: 0,
  pinLockedAt: null,
  remark: null,
  paymentRequired: false,
  paymentStatus: 'none' as const,
  paymentAmount: null,
  paymentCurrency: null,
  paymentVersion: 0,
  version: 1,
  compartmentId: null,
};

export const DEMO_RESERVATIONS: readonly DemoReservation[] = [
  {
    pin: '123456',
    reservation: { ...base, id: 'demo-dropoff-1', code: 'D1001', kind: 'dropoff', workOrder: 'WO-1001', plate: 'AB12345', plateDisplay: 'AB 12345', driverName: 'Kari Nordmann', phones: ['+4791234567'], email: 'kari.nordmann@example.com', appointmentTime: '08:00', status: 'booked' },
  },
  {
    pin: '234567',
    reservation: { ...base, id: 'demo-dropoff-2', code: 'D1002', kind: 'dropoff', workOrder: 'WO-1002', plate: 'EL98765', plateDisplay: 'EL 98765', driverName: 'Ola Hansen', phones: ['+4798765432'], email: null, appointmentTime: '09:30', status: 'booked' },
  },
  {
    pin: '345678',
    reservation: { ...base, id: 'demo-pickup-paid', code: 'P2001', kind: 'pickup', workOrder: 'WO-0990', plate: 'CD34567', plateDisplay: 'CD 34567', driverName: 'Ingrid Berg', phones: ['+4790011223'], email: 'ingrid@example.com', appointmentTime: null, status: 'ready', compartmentId: 16, paymentRequired: true, paymentStatus: 'paid', paymentAmount: 189000, paymentCurrency: 'NOK', paymentVersion: 1 },
  },
  {
    pin: '456789',
    reservation: { ...base, id: 'demo-pickup-unpaid', code: 'P2002', kind: 'pickup', workOrder: 'WO-0991', plate: 'EF45678', plateDisplay: 'EF 45678', driverName: 'Lars Lie', phones: ['+4790044556'], email: 'lars@example.com', appointmentTime: null, status: 'ready', compartmentId: 15, paymentRequired: true, paymentStatus: 'pending', paymentAmount: 249000, paymentCurrency: 'NOK', paymentVersion: 1 },
  },
  {
    pin: '567890',
    reservation: { ...base, id: 'demo-pickup-not-ready', code: 'P2003', kind: 'pickup', workOrder: 'WO-0992', plate: 'GH56789', plateDisplay: 'GH 56789', driverName: 'Nils Dahl', phones: ['+4790077889'], email: null, appointmentTime: null, status: 'booked' },
  },
];

/** Insert the demo reservations that are missing, dated today; occupy their compartments. */
export async function seedDemo(db: Db, options: { timeZone: string; now: Date; logger: Logger; pinCost?: Parameters<typeof hashPin>[1] }): Promise<number> {
  const today = localDate(options.now, options.timeZone);
  const hashes = await Promise.all(DEMO_RESERVATIONS.map((demo) => hashPin(demo.pin, options.pinCost)));
  let inserted = 0;
  await db.transaction(async (tx) => {
    for (const [index, demo] of DEMO_RESERVATIONS.entries()) {
      if (await reservations.getById(tx, demo.reservation.id)) continue;
      const at = options.now.toISOString();
      const compartmentId = demo.reservation.compartmentId;
      const free = compartmentId !== null && (await compartments.get(tx, compartmentId))?.state === 'free';
      await reservations.upsert(tx, {
        ...demo.reservation,
        compartmentId: free ? compartmentId : null,
        status: compartmentId !== null && !free ? 'booked' : demo.reservation.status,
        pinHash: hashes[index] ?? '',
        appointmentDate: today,
        createdAt: at,
        updatedAt: at,
      });
      if (free && compartmentId !== null) await compartments.setState(tx, compartmentId, { state: 'occupied', reservationId: demo.reservation.id }, options.now);
      inserted += 1;
    }
  });
  if (inserted > 0) options.logger.info({ inserted }, 'demo reservations seeded');
  return inserted;
}
