/**
 * PINs and codes for the master copy: a PIN no other active reservation of the unit has, its
 * hash (with the unit's published salt when it has one, so the locker finds it by index), the
 * rehash of live reservations once a unit publishes its salt, and the short code staff read out.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { localDate } from '../../kiosk/core/dates.js';
import { hashPin, hashPinForUnit, indexOfHash, isUnitPinHashing, type UnitPinHashing } from '../../kiosk/core/pin.js';
import type { Tx } from '../../kiosk/store/db.js';
import type { HelloMessage } from '../../kiosk/sync/messages.js';
import { BackOfficeError } from './errors.js';
import type { ServiceContext } from './service-context.js';
import { reservations, units, type MasterReservation } from './store.js';
import { toWire } from './views.js';

/**
 * A PIN no other active reservation of the unit has (the protocol's rule): the staff's own,
 * refused when taken, or a fresh one drawn until it is free.
 */
export async function uniquePin(ctx: Pick<ServiceContext, 'drawPin'>, tx: Tx, unitId: string, wanted: string | null, exceptId: string | null): Promise<string> {
  if (wanted !== null) {
    if (await reservations.activePinTaken(tx, unitId, wanted, exceptId)) {
      throw new BackOfficeError('CONFLICT', 'pin: another active reservation at this locker has this PIN; choose another', 'pin');
    }
    return wanted;
  }
  // Bounded: with even 10,000 active reservations, 1 in 100 PINs is taken.
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const pin = ctx.drawPin();
    if (!(await reservations.activePinTaken(tx, unitId, pin, exceptId))) return pin;
  }
  throw new BackOfficeError('CONFLICT', 'no free PIN could be found for this locker');
}

/** The unit's salt and cost from its last hello, when it published one. */
async function unitHashing(tx: Tx, unitId: string): Promise<UnitPinHashing | null> {
  const published = (await units.get(tx, unitId))?.lastHello?.pinHashing;
  return isUnitPinHashing(published) ? published : null;
}

/** The PIN's hash for this unit: with its published salt (found by index), else a random salt (legacy). */
export async function hashFor(ctx: Pick<ServiceContext, 'pinCost'>, tx: Tx, unitId: string, pin: string): Promise<string> {
  const unit = await unitHashing(tx, unitId);
  return unit ? hashPinForUnit(pin, unit) : hashPin(pin, ctx.pinCost);
}

/**
 * A unit that published its salt gets every live reservation hashed with it (made before the
 * unit said hello, or under an older salt): version + 1 and an upsert each, so the locker
 * checks its PINs by index. Old hashes would keep working; this makes them fast.
 */
export async function rehashForUnit(ctx: Pick<ServiceContext, 'timeZone' | 'queue'>, tx: Tx, unitId: string, hello: HelloMessage, now: Date): Promise<number> {
  const unit = isUnitPinHashing(hello.pinHashing) ? hello.pinHashing : null;
  if (!unit) return 0;
  let queued = 0;
  for (const r of await reservations.listLive(tx, unitId, localDate(now, ctx.timeZone))) {
    if (r.status === 'deposited' || indexOfHash(r.pinHash, unit) !== null) continue;
    const next: MasterReservation = { ...r, pinHash: await hashPinForUnit(r.pin, unit), version: r.version + 1, updatedAt: now.toISOString() };
    await reservations.update(tx, next);
    await reservations.setPinHash(tx, r.id, next.pinHash);
    await ctx.queue(tx, { unitId, name: 'reservation.upsert', args: { reservation: toWire(next), version: next.version }, reservationId: r.id }, now);
    queued += 1;
  }
  return queued;
}

/** A reservation's code (D or P and digits), unique in the master copy. */
export async function newCode(tx: Tx, kind: 'dropoff' | 'pickup'): Promise<string> {
  const prefix = kind === 'dropoff' ? 'D' : 'P';
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const digits = attempt < 50 ? 4 : 6;
    const code = `${prefix}${randomInt(10 ** (digits - 1), 10 ** digits)}`;
    if (!(await reservations.codeExists(tx, code))) return code;
  }
  return `${prefix}${randomUUID().slice(0, 8).toUpperCase()}`;
}
