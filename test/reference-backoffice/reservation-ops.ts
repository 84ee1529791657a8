/**
 * Staff operations on one reservation (service.ts is the facade): create, update, cancel, the
 * PIN reset and the payment status. Each is one transaction: the change, its timeline line and
 * its commands commit together. Staff input is checked in full first: bad input is a
 * BackOfficeError naming the field, and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { localDate } from '../../kiosk/core/dates.js';
import { normalisePhone, normalisePlate } from '../../kiosk/core/normalise.js';
import type { Tx } from '../../kiosk/store/db.js';
import type { DemoAppointment } from './demo.js';
import { BackOfficeError, bad } from './errors.js';
import { sendPickupMessage } from './pickup-message.js';
import { hashFor, newCode, uniquePin } from './pins.js';
import type { ServiceContext } from './service-context.js';
import { PHONE_ERRORS, PLATE_ERRORS, createSchema, parse, paymentSchema, updateSchema } from './staff-input.js';
import { reservations, timeline, units, type MasterReservation } from './store.js';
import { displayPlate, paymentWire, toWire } from './views.js';

/** What a new reservation is made of; the rest (status, version 1, no remark or lock) follows. */
export type NewReservation = Pick<
  MasterReservation,
  'id' | 'unitId' | 'code' | 'kind' | 'workOrder' | 'plate' | 'plateDisplay' | 'driverName' | 'phones' | 'email' | 'appointmentDate' | 'appointmentTime' | 'pin' | 'pinHash' | 'compartmentId'
> & { payment: DemoAppointment['payment'] };

/**
 * Stores a new reservation (a pickup made with its key in a compartment is ready at once) with
 * its timeline line, its upsert and, when it is paid at the locker, its payment status.
 */
export async function insertNew(ctx: Pick<ServiceContext, 'queue'>, tx: Tx, fields: NewReservation, now: Date, created: Record<string, unknown>): Promise<MasterReservation> {
  const { payment, ...rest } = fields;
  const at = now.toISOString();
  const r: MasterReservation = {
    ...rest,
    status: rest.kind === 'pickup' && rest.compartmentId !== null ? 'ready' : 'booked',
    remark: null,
    addedPhone: null,
    pinLocked: false,
    paymentRequired: payment !== null,
    paymentStatus: payment?.status ?? 'none',
    paymentAmount: payment?.amount ?? null,
    paymentCurrency: payment?.currency ?? null,
    paymentVersion: payment ? 1 : 0,
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  await reservations.insert(tx, r);
  await timeline.add(tx, r.id, 'created', created, now);
  await ctx.queue(tx, { unitId: r.unitId, name: 'reservation.upsert', args: { reservation: toWire(r), version: r.version }, reservationId: r.id }, now);
  if (r.paymentRequired) await ctx.queue(tx, { unitId: r.unitId, name: 'payment.status', args: paymentWire(r), reservationId: r.id }, now);
  return r;
}

/** The unit named, or the only one registered. */
export async function unitFor(tx: Tx, unitId: string | undefined): Promise<string> {
  if (unitId !== undefined) {
    if (!(await units.get(tx, unitId))) throw bad('unitId', 'is not a registered unit');
    return unitId;
  }
  const all = await units.list(tx);
  if (all.length === 1 && all[0]) return all[0].unitId;
  if (all.length === 0) throw new BackOfficeError('NO_UNIT', 'no locker is registered yet');
  throw bad('unitId', 'is required when more than one locker is registered');
}

/** The reservation, or NOT_FOUND. */
export async function openReservation(tx: Tx, id: string): Promise<MasterReservation> {
  const r = await reservations.get(tx, id);
  if (!r) throw new BackOfficeError('NOT_FOUND', 'no such reservation');
  return r;
}

/**
 * Runs `change` on reservation `id` (NOT_FOUND when there is none) in one transaction with its
 * timeline line and commands; then `after` (a log line) and the commands go out.
 */
async function changeReservation(
  ctx: ServiceContext,
  id: string,
  change: (tx: Tx, r: MasterReservation, now: Date) => Promise<MasterReservation>,
  after?: (changed: MasterReservation) => void,
): Promise<MasterReservation> {
  const now = ctx.now();
  const changed = await ctx.db.transaction(async (tx) => change(tx, await openReservation(tx, id), now));
  after?.(changed);
  ctx.committed(changed.unitId);
  return changed;
}

function normalisePhones(ctx: Pick<ServiceContext, 'country'>, input: readonly string[]): string[] {
  const out: string[] = [];
  input.forEach((text, index) => {
    if (text.trim() === '') return;
    const phone = normalisePhone(text, ctx.country);
    if (!phone.ok) throw bad(`phones.${index}`, PHONE_ERRORS[phone.error]);
    if (!out.includes(phone.e164)) out.push(phone.e164);
  });
  return out;
}

/** A drop-off or pickup: a new PIN (kept for the demo page, only its hash is sent), version 1. */
export async function createReservation(ctx: ServiceContext, input: unknown): Promise<MasterReservation> {
  const data = parse(createSchema, input);
  const plate = normalisePlate(data.plate, ctx.country);
  if (!plate.ok) throw bad('plate', PLATE_ERRORS[plate.error]);
  const phones = normalisePhones(ctx, data.phones);
  if (data.kind === 'dropoff' && data.compartmentId !== null) throw bad('compartmentId', 'is for pickups only');
  if (data.paymentRequired && data.paymentAmount === null) throw bad('paymentAmount', 'is required when payment is required');
  if (!data.paymentRequired && data.paymentAmount !== null) throw bad('paymentAmount', 'is only for reservations that require payment');
  if (data.paymentRequired && data.kind !== 'pickup') throw bad('paymentRequired', 'only pickups are paid at the locker');
  const appointmentDate = data.appointmentDate ?? localDate(ctx.now(), ctx.timeZone);
  const now = ctx.now();

  const reservation = await ctx.db.transaction(async (tx) => {
    const unitId = await unitFor(tx, data.unitId);
    const pin = await uniquePin(ctx, tx, unitId, data.pin ?? null, null);
    const pinHash = await hashFor(ctx, tx, unitId, pin);
    const fields: NewReservation = {
      id: randomUUID(),
      unitId,
      code: await newCode(tx, data.kind),
      kind: data.kind,
      workOrder: data.workOrder,
      plate: plate.plate,
      plateDisplay: displayPlate(data.plate),
      driverName: data.driverName,
      phones,
      email: data.email,
      appointmentDate,
      appointmentTime: data.appointmentTime,
      pin,
      pinHash,
      compartmentId: data.compartmentId,
      payment: data.paymentRequired && data.paymentAmount !== null ? { status: 'pending', amount: data.paymentAmount, currency: data.currency } : null,
    };
    const r = await insertNew(ctx, tx, fields, now, { version: 1 });
    // Made with its key in a compartment: ready now, the customer is told (with the phone link).
    if (r.status === 'ready' && r.compartmentId !== null) await sendPickupMessage(tx, r, r.compartmentId, ctx.pickup, now);
    return r;
  });
  ctx.log.info({ reservationId: reservation.id, kind: reservation.kind, unitId: reservation.unitId }, 'reservation created');
  ctx.committed(reservation.unitId);
  return reservation;
}

/** Changes what staff may change; version + 1, sent as a new upsert. */
export async function updateReservation(ctx: ServiceContext, id: string, input: unknown): Promise<MasterReservation> {
  const data = parse(updateSchema, input);
  const plate = data.plate === undefined ? null : normalisePlate(data.plate, ctx.country);
  if (plate && !plate.ok) throw bad('plate', PLATE_ERRORS[plate.error]);
  const phones = data.phones === undefined ? undefined : normalisePhones(ctx, data.phones);
  return changeReservation(ctx, id, async (tx, r, now) => {
    if (data.compartmentId !== undefined && data.compartmentId !== null && r.kind !== 'pickup') throw bad('compartmentId', 'is for pickups only');
    if (r.status !== 'booked' && r.status !== 'ready') throw new BackOfficeError('CONFLICT', `a reservation that is ${r.status} cannot be changed`);
    if (r.status === 'ready' && data.compartmentId !== undefined && data.compartmentId !== r.compartmentId) {
      throw new BackOfficeError('CONFLICT', `the key is in compartment ${r.compartmentId}: it leaves by the pickup`);
    }
    const next: MasterReservation = {
      ...r,
      workOrder: data.workOrder ?? r.workOrder,
      plate: plate?.ok ? plate.plate : r.plate,
      plateDisplay: plate?.ok && data.plate !== undefined ? displayPlate(data.plate) : r.plateDisplay,
      driverName: data.driverName ?? r.driverName,
      phones: phones ?? r.phones,
      email: data.email === undefined ? r.email : data.email,
      appointmentDate: data.appointmentDate ?? r.appointmentDate,
      appointmentTime: data.appointmentTime === undefined ? r.appointmentTime : data.appointmentTime,
      compartmentId: data.compartmentId === undefined ? r.compartmentId : data.compartmentId,
      version: r.version + 1,
      updatedAt: now.toISOString(),
    };
    if (next.kind === 'pickup') next.status = next.compartmentId !== null ? 'ready' : 'booked';
    await reservations.update(tx, next);
    await timeline.add(tx, r.id, 'updated', { version: next.version, fields: Object.keys(data) }, now);
    await ctx.queue(tx, { unitId: r.unitId, name: 'reservation.upsert', args: { reservation: toWire(next), version: next.version }, reservationId: r.id }, now);
    // Staff put its key in a compartment: ready now, the customer is told (with the phone link).
    if (r.status !== 'ready' && next.status === 'ready' && next.compartmentId !== null) await sendPickupMessage(tx, next, next.compartmentId, ctx.pickup, now);
    return next;
  });
}

export async function cancelReservation(ctx: ServiceContext, id: string): Promise<MasterReservation> {
  return changeReservation(
    ctx,
    id,
    async (tx, r, now) => {
      // As the locker: once the key is in the locker (deposited, ready) it leaves by a pickup or a mechanic's retrieval, not by a cancel.
      if (r.status !== 'booked') throw new BackOfficeError('CONFLICT', `a reservation that is ${r.status} cannot be cancelled`);
      const next: MasterReservation = { ...r, status: 'cancelled', version: r.version + 1, updatedAt: now.toISOString() };
      await reservations.update(tx, next);
      await timeline.add(tx, r.id, 'cancelled', { version: next.version }, now);
      await ctx.queue(tx, { unitId: r.unitId, name: 'reservation.cancel', args: { reservationId: r.id, version: next.version }, reservationId: r.id }, now);
      return next;
    },
    () => ctx.log.info({ reservationId: id }, 'reservation cancelled'),
  );
}

/** Staff reset after too many wrong PINs: sends the reservation's code, which the locker checks. */
export async function resetReservation(ctx: ServiceContext, id: string): Promise<MasterReservation> {
  return changeReservation(ctx, id, async (tx, r, now) => {
    if (r.status === 'cancelled') throw new BackOfficeError('CONFLICT', 'the reservation is cancelled');
    await timeline.add(tx, r.id, 'reset.requested', {}, now);
    await ctx.queue(tx, { unitId: r.unitId, name: 'reservation.reset', args: { reservationId: r.id, code: r.code }, reservationId: r.id }, now);
    return r;
  });
}

/** paid / cancelled / refunded, for the amount already on the reservation; payment version + 1. */
export async function setPayment(ctx: ServiceContext, id: string, input: unknown): Promise<MasterReservation> {
  const { status } = parse(paymentSchema, input);
  return changeReservation(
    ctx,
    id,
    async (tx, r, now) => {
      if (!r.paymentRequired || r.paymentAmount === null || r.paymentCurrency === null) {
        throw new BackOfficeError('CONFLICT', 'this reservation has no payment');
      }
      if (r.paymentStatus === status) throw new BackOfficeError('CONFLICT', `the payment is already ${status}`);
      if (status === 'refunded' && r.paymentStatus !== 'paid') throw new BackOfficeError('CONFLICT', 'only a paid payment can be refunded');
      const next: MasterReservation = { ...r, paymentStatus: status, paymentVersion: r.paymentVersion + 1, updatedAt: now.toISOString() };
      await reservations.update(tx, next);
      await timeline.add(tx, r.id, 'payment.set', { status, amount: r.paymentAmount, currency: r.paymentCurrency, version: next.paymentVersion }, now);
      await ctx.queue(tx, { unitId: r.unitId, name: 'payment.status', args: paymentWire(next), reservationId: r.id }, now);
      return next;
    },
    () => ctx.log.info({ reservationId: id, status }, 'payment status set'),
  );
}
