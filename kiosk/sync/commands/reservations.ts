/**
 * reservation.upsert, reservation.cancel, reservation.reset (docs/protocol.md, "Reservations").
 *
 *   drop-off: booked --key.deposited--> deposited --key.retrieved (mechanic)--> retrieved
 *   pickup:   booked --upsert naming its compartment, or the mechanic's deposit--> ready --key.collected--> collected
 *   booked --reservation.cancel--> cancelled
 *
 * The locker owns the status; the back office owns the booking. A newer upsert replaces the
 * booking in any open status (booked, deposited, ready) but is a CONFLICT when it would
 * contradict where the key is: another kind once the key moved, a ready pickup's key in another
 * compartment (or none), a changed amount on a paid reservation, or any change to a finished
 * one (collected, retrieved, cancelled: send a new reservation id). A cancel applies only to a
 * booked reservation with no door open for it: once the key is in the locker it leaves by a
 * pickup or a mechanic's retrieval, never by a cancel.
 */
import { plateText } from '../../core/normalise.js';
import type { Reservation } from '../../core/types.js';
import { compartments, reservations, timeline } from '../../store/repositories.js';
import * as store from '../command-store.js';
import type { CommandArgs } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';

const FINISHED: ReadonlySet<Reservation['status']> = new Set(['collected', 'retrieved', 'cancelled']);
import { isUniqueViolation, requireReservation, sameText } from './shared.js';

async function upsert(ctx: CommandContext, { reservation: wire, version }: CommandArgs['reservation.upsert']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const readAhead = ctx.readAhead?.takeReservation(wire.id);
  const existing = readAhead !== undefined ? readAhead : await reservations.getById(tx, wire.id);
  if (existing && version <= existing.version) return { applied: false, reason: 'stale', version: existing.version };
  const plate = ctx.prepared?.plate ?? plateText(wire.plate);
  if (!plate.ok) throw new CommandFailure('SCHEMA', `args.reservation.plate is not a licence plate (${plate.error})`);
  if (existing && FINISHED.has(existing.status)) {
    throw new CommandFailure('CONFLICT', `reservation ${wire.id} is ${existing.status}: it cannot change any more (a new booking needs a new reservation id)`);
  }
  if (existing && existing.kind !== wire.kind && existing.status !== 'booked') {
    throw new CommandFailure('CONFLICT', `reservation ${wire.id} is ${existing.status}: its kind cannot change`);
  }
  if (existing?.status === 'ready' && wire.compartmentId !== existing.compartmentId) {
    throw new CommandFailure(
      'CONFLICT',
      `the key of reservation ${wire.id} is in compartment ${existing.compartmentId}: it leaves by a pickup or a mechanic's retrieval, not by an upsert naming ${wire.compartmentId ?? 'no compartment'}`,
    );
  }
  const due = wire.amountDue ?? null;
  const paid = existing?.paymentStatus === 'paid';
  if (due !== null && paid && (due.amount !== existing.paymentAmount || due.currency !== existing.paymentCurrency)) {
    throw new CommandFailure('CONFLICT', `reservation ${wire.id} is paid for another amount: refund or cancel that payment before changing the amount due`);
  }

  const ahead = ctx.prepared?.pinIndex;
  const pinIndex = ahead !== undefined ? ahead : await ctx.ports.pins.indexFor(tx, wire.pinHash);
  const at = now.toISOString();
  // What the locker owns (status, compartment, payment state, PIN failures) is kept. The amount
  // the locker holds follows the amount due the reservation states, unless a payment is paid
  // (then they are equal, see above); a reservation stating none keeps what payment.status set.
  const next: Reservation = {
    id: wire.id,
    code: wire.code,
    kind: wire.kind,
    workOrder: wire.workOrder,
    plate: plate.plate,
    plateDisplay: wire.plate,
    driverName: wire.driverName,
    phones: wire.phones.slice(),
    email: wire.email,
    appointmentDate: wire.appointmentDate,
    appointmentTime: wire.appointmentTime,
    pinHash: wire.pinHash,
    pinIndex,
    status: existing?.status ?? 'booked',
    compartmentId: existing?.compartmentId ?? null,
    remark: existing?.remark ?? null,
    paymentRequired: wire.paymentRequired,
    paymentStatus: existing?.paymentStatus ?? 'none',
    paymentAmount: due !== null && !paid ? due.amount : (existing?.paymentAmount ?? null),
    paymentCurrency: due !== null && !paid ? due.currency : (existing?.paymentCurrency ?? null),
    paymentVersion: existing?.paymentVersion ?? 0,
    version,
    failedPinAttempts: existing?.failedPinAttempts ?? 0,
    pinLockedAt: existing?.pinLockedAt ?? null,
    createdAt: existing?.createdAt ?? at,
    updatedAt: at,
  };
  let written: Awaited<ReturnType<typeof reservations.upsert>>;
  // A new booking that needs nothing more of its row in this command (no compartment named) may
  // be inserted with the rest of its batch.
  const later = readAhead === null && wire.compartmentId === null && due === null && ctx.readAhead?.insertLater(next) === true;
  try {
    written = later ? 'inserted' : await reservations.upsert(tx, next, existing ? { version: existing.version } : null);
  } catch (error) {
    // The code is UNIQUE: letting the constraint say so saves a query per command.
    if (isUniqueViolation(error, 'reservations.code')) throw new CommandFailure('CONFLICT', `another reservation already has the code of reservation ${wire.id}`);
    throw error;
  }
  if (written === 'stale') return { applied: false, reason: 'stale', version: existing?.version ?? version };
  // A row just inserted has no amount yet (the amount's row goes with its reservation: ON DELETE CASCADE).
  if (due !== null || written !== 'inserted') await store.setAmountDue(tx, wire.id, due);

  let status = next.status;
  if (wire.kind === 'pickup' && wire.compartmentId !== null && (status === 'booked' || status === 'ready')) {
    status = await keyIsIn(ctx, next, wire.compartmentId);
  }
  // A new booking is the back office's own news; a change of one the locker held is history.
  if (existing) await timeline.append(tx, wire.id, 'updated-by-back-office', { version }, now);
  ctx.afterCommit(() => ctx.ports.reservationChanged(wire.id, 'updated'));
  return { applied: true, created: written === 'inserted', version, status };
}

/**
 * A pickup naming its compartment: the mechanic has put the key in. The compartment must be
 * free (or already this reservation's); one holding another key, quarantined (content
 * uncertain) or disabled is a CONFLICT for a person to resolve.
 */
async function keyIsIn(ctx: CommandContext, reservation: Reservation, compartmentId: number): Promise<Reservation['status']> {
  const { tx, now } = ctx;
  if (reservation.status === 'ready' && reservation.compartmentId !== null && reservation.compartmentId !== compartmentId) {
    throw new CommandFailure('CONFLICT', `the key of reservation ${reservation.id} is in compartment ${reservation.compartmentId}, not ${compartmentId}`);
  }
  const compartment = await compartments.get(tx, compartmentId);
  if (!compartment) throw new CommandFailure('CONFLICT', `compartment ${compartmentId} does not exist in this locker`);
  const ours = compartment.reservationId === reservation.id && (compartment.state === 'reserved' || compartment.state === 'occupied');
  if (compartment.state !== 'free' && !ours) {
    throw new CommandFailure('CONFLICT', `compartment ${compartmentId} is ${compartment.state}${compartment.reservationId ? ' for another reservation' : ''}`);
  }
  if (compartment.state === 'occupied' && reservation.status === 'ready') return 'ready';
  // A compartment held for it elsewhere is not needed any more.
  for (const id of await store.compartmentsReservedFor(tx, reservation.id)) {
    if (id !== compartmentId) await compartments.setState(tx, id, { state: 'free' }, now);
  }
  await compartments.setState(tx, compartmentId, { state: 'occupied', reservationId: reservation.id }, now);
  await reservations.update(tx, reservation.id, { status: 'ready', compartmentId }, now);
  await timeline.append(tx, reservation.id, 'key-in-compartment', { compartment: compartmentId, by: 'back-office' }, now);
  return 'ready';
}

async function cancel(ctx: CommandContext, { reservationId, version }: CommandArgs['reservation.cancel']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const r = await requireReservation(tx, reservationId);
  if (version <= r.version) return { applied: false, reason: 'stale', version: r.version };
  if (r.status === 'cancelled') {
    await store.setReservationVersion(tx, r.id, version, now);
    return { applied: false, reason: 'already-cancelled', version };
  }
  if (r.status !== 'booked') {
    const where = r.status === 'collected' || r.status === 'retrieved' ? 'has been taken' : 'is in the locker';
    throw new CommandFailure('CONFLICT', `reservation ${r.id} is ${r.status}: its key ${where}`);
  }
  if (await store.hasInflight(tx, r.id)) {
    // The door is open for this customer now: the journey finishes, and its event follows.
    throw new CommandFailure('CONFLICT', `a door is open for reservation ${r.id} right now; the journey will finish`);
  }
  const freed = await store.compartmentsReservedFor(tx, r.id);
  for (const id of freed) await compartments.setState(tx, id, { state: 'free' }, now);
  await reservations.update(tx, r.id, { status: 'cancelled', compartmentId: null }, now);
  await store.setReservationVersion(tx, r.id, version, now);
  await timeline.append(tx, r.id, 'cancelled-by-back-office', { version }, now);
  ctx.afterCommit(() => ctx.ports.reservationChanged(r.id, 'cancelled'));
  return { applied: true, version, status: 'cancelled', freedCompartments: freed };
}

async function reset(ctx: CommandContext, { reservationId, code }: CommandArgs['reservation.reset']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const r = await requireReservation(tx, reservationId);
  if (!sameText(r.code, code)) throw new CommandFailure('CODE_MISMATCH', `the code does not match reservation ${r.id}`);
  const { wasLocked } = await ctx.ports.pins.lift(tx, { scope: 'reservation', reservationId: r.id }, now, 'reset');
  await timeline.append(tx, r.id, 'reset-by-staff', { wasLocked }, now);
  ctx.afterCommit(() => ctx.ports.reservationChanged(r.id, 'reset'));
  return { applied: true, wasLocked };
}

export const reservationCommands: CommandFamily<'reservation.upsert' | 'reservation.cancel' | 'reservation.reset'> = {
  'reservation.upsert': upsert,
  'reservation.cancel': cancel,
  'reservation.reset': reset,
};
