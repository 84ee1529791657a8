/**
 * The door side of the mechanic journey, as the actuator does it for customers: the intent was
 * written with the burnt nonce (mechanic-desk.ts); here the pulse, its outcome in one
 * transaction with the event, and the end when the door closes:
 * - retrieve: the key is out, the compartment is free, the drop-off is `retrieved` (`key.retrieved`);
 * - deposit: the key is in, the pickup is `ready` in that compartment (`key.returned`, naming it).
 * A lock that was pulsed and not seen open quarantines its compartment; nothing is guessed.
 */
import type { Logger } from 'pino';
import type { MechanicPurpose } from './mechanic-token.js';
import type { LockPort, MechanicStore } from './ports.js';

export interface MechanicOpening {
  compartment: number;
  purpose: MechanicPurpose;
  reservationId: string;
  requestId: string;
  tabletId: string;
  /** The audit intent the outcome closes. */
  intentId: number;
}

/** True when the door opened (its closing finishes the journey). */
export async function pulseForMechanic(store: MechanicStore, locks: LockPort, o: MechanicOpening, log: Logger): Promise<boolean> {
  const outcome = await locks.open(o.compartment);
  const refused = !outcome.ok && outcome.pulses === 0;
  await store.transaction(async (tx) => {
    await tx.audit({
      compartmentId: o.compartment,
      action: 'open',
      phase: 'outcome',
      intentId: o.intentId,
      actor: `mechanic:${o.tabletId}`,
      reservationId: o.reservationId,
      result: outcome.ok ? 'opened' : outcome.error,
      detail: { pulses: outcome.pulses, requestId: o.requestId },
    });
    if (outcome.ok) {
      await tx.event('mechanic.opened', { requestId: o.requestId, tabletId: o.tabletId, reservationId: o.reservationId, compartment: o.compartment, purpose: o.purpose, confirmed: outcome.confirmed });
      await tx.timeline(o.reservationId, 'mechanic-opened', { compartment: o.compartment, tabletId: o.tabletId, purpose: o.purpose });
      return;
    }
    await tx.clearInflight(o.compartment);
    if (refused) {
      // Nothing was pulsed: the content is as before; a deposit's allocation is given back.
      if (o.purpose === 'deposit') await tx.setCompartment(o.compartment, 'free', null, null);
      await tx.event('compartment.open-refused', { compartment: o.compartment, reservationId: o.reservationId, error: outcome.error, reason: outcome.detail.slice(0, 500) });
      return;
    }
    await tx.event(outcome.error === 'JAMMED' ? 'compartment.jammed' : 'compartment.open-failed', { compartment: o.compartment, reservationId: o.reservationId, error: outcome.error });
    const reason = `mechanic ${o.purpose}: open failed: ${outcome.error}`;
    await tx.setCompartment(o.compartment, 'quarantined', o.purpose === 'retrieve' ? o.reservationId : null, reason);
    await tx.audit({ compartmentId: o.compartment, action: 'quarantine', phase: 'outcome', actor: 'system', reservationId: o.reservationId, result: 'quarantined', detail: { reason } });
    await tx.event('compartment.quarantined', { compartment: o.compartment, reason });
  });
  if (!outcome.ok) log.warn({ compartment: o.compartment, error: outcome.error, requestId: o.requestId }, 'mechanic open failed');
  return outcome.ok;
}

/** The door closed after a mechanic's open: the key is out (retrieve) or in (deposit). */
export async function finishMechanicOpen(store: MechanicStore, o: MechanicOpening, log: Logger): Promise<void> {
  await store.transaction(async (tx) => {
    const held = await tx.compartment(o.compartment);
    const expected = o.purpose === 'retrieve' ? 'occupied' : 'reserved';
    if (held?.state !== expected || held.reservationId !== o.reservationId) {
      // A forced door or a restart changed it meanwhile: a person decides what is inside.
      log.warn({ compartment: o.compartment, state: held?.state ?? null }, 'mechanic journey cannot finish: the compartment is no longer held for it');
      return;
    }
    await tx.clearInflight(o.compartment);
    if (o.purpose === 'retrieve') {
      await tx.updateReservation(o.reservationId, { status: 'retrieved', compartmentId: null });
      await tx.setCompartment(o.compartment, 'free', null, null);
      await tx.event('key.retrieved', { reservationId: o.reservationId, compartment: o.compartment, requestId: o.requestId, tabletId: o.tabletId });
      await tx.timeline(o.reservationId, 'key-retrieved', { compartment: o.compartment, tabletId: o.tabletId });
      return;
    }
    const reservation = await tx.reservation(o.reservationId);
    await tx.updateReservation(o.reservationId, { status: 'ready', compartmentId: o.compartment });
    await tx.setCompartment(o.compartment, 'occupied', o.reservationId, null);
    await tx.event('key.returned', { reservationId: o.reservationId, workOrder: reservation?.workOrder ?? null, compartment: o.compartment, requestId: o.requestId, tabletId: o.tabletId });
    await tx.timeline(o.reservationId, 'key-returned', { compartment: o.compartment, tabletId: o.tabletId });
  });
}
