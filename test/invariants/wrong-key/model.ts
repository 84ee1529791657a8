/**
 * What the back office last told the locker, as the back office sees it (the model the wrong-key
 * property is checked against), and the case's seeded choices of reservations.
 */
import { hashPin, hashPinForUnit, type UnitPinHashing } from '../../../kiosk/core/pin.js';
import { addDays } from '../../../kiosk/core/dates.js';
import type { ReservationWire } from '../../../kiosk/sync/messages.js';
import type { Random } from '../crash/random.js';

/** The cheapest cost the core accepts (core/pin.ts ACCEPTED_PIN_COST): well under a millisecond. */
export const CHEAP_COST = { N: 2 ** 10, r: 1, p: 1 } as const;

export const PLATES = ['AB 12345', 'CD 67890', 'EF 24680'] as const;
export const TODAY = '2027-03-10';
export const AMOUNT = { amount: 50_000, currency: 'NOK' } as const;

export interface ModelReservation {
  id: string;
  code: string;
  kind: 'dropoff' | 'pickup';
  plateDisplay: string;
  phone: string;
  appointmentDate: string;
  /** The PIN of the newest version the locker accepted. */
  pin: string;
  /** Every PIN it ever had (a customer may type an old one). */
  pins: string[];
  /** Hashed as a legacy hash (salted per reservation) rather than with the unit's salt. */
  legacy: boolean;
  version: number;
  paymentRequired: boolean;
  paid: boolean;
  paymentVersion: number;
  cancelled: boolean;
  /** A customer saw "done" for it: the key was placed (drop-off) or taken (pickup). */
  finished: boolean;
  /** Some session reached it (identified, opened, ended): its state is the locker's to decide now. */
  touched: boolean;
  /** Pickup: the compartment the back office said its key is in (and the locker accepted). */
  compartment: number | null;
}

export const plateKey = (display: string): string => display.replace(/\s+/g, '').toUpperCase();

/** A 6-digit PIN from the seeded source. */
export function randomPin(random: Random): string {
  return String(random.int(0, 999_999)).padStart(6, '0');
}

/** A unit hashing with a salt drawn from the seed (a replay hashes the same). */
export function seededUnitHashing(random: Random): UnitPinHashing {
  const salt = Buffer.from(Array.from({ length: 16 }, () => random.int(0, 255))).toString('base64');
  return { salt, ...CHEAP_COST };
}

export class PinHasher {
  readonly #cache = new Map<string, Promise<string>>();
  constructor(readonly unit: UnitPinHashing | null) {}

  hash(pin: string, legacy: boolean): Promise<string> {
    const key = `${legacy || !this.unit ? 'legacy' : 'unit'}:${pin}`;
    let hashed = this.#cache.get(key);
    if (!hashed) {
      hashed = legacy || !this.unit ? hashPin(pin, CHEAP_COST) : hashPinForUnit(pin, this.unit);
      this.#cache.set(key, hashed);
    }
    return hashed;
  }
}

export function dateChoice(random: Random): string {
  const roll = random.next();
  if (roll < 0.8) return TODAY;
  if (roll < 0.9) return addDays(TODAY, 1);
  return addDays(TODAY, 3);
}

export async function toWire(m: ModelReservation, pin: string, hasher: PinHasher, compartmentId: number | null): Promise<ReservationWire> {
  return {
    id: m.id,
    code: m.code,
    kind: m.kind,
    workOrder: `WO-${m.id}`,
    plate: m.plateDisplay,
    driverName: `Driver ${m.id}`,
    phones: [m.phone],
    email: null,
    appointmentDate: m.appointmentDate,
    appointmentTime: '08:30',
    pinHash: await hasher.hash(pin, m.legacy),
    compartmentId,
    paymentRequired: m.paymentRequired,
    ...(m.paymentRequired ? { amountDue: { ...AMOUNT } } : {}),
  };
}
