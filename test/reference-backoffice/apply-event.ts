/**
 * What the locker's events do to the reference back office's master copy: each event, once,
 * when it joins the contiguous prefix of a unit's stream. Events of types this version does
 * not know are kept and listed, and change nothing.
 */
import type { Tx } from '../../kiosk/store/db.js';
import { helpCalls, reservations, timeline, units, type MasterReservation, type StoredEvent } from './store.js';
import { num, str } from './views.js';

/** What an event's effect needs beyond the database. */
export interface EventEffects {
  /** A help call was opened (first time its help.requested came): tell the locker it arrived. */
  helpCallOpened(tx: Tx, unitId: string, callId: string): Promise<void>;
  /** The customer at the locker asked to pay, for a check, or for a receipt (payments.ts). */
  payment?(tx: Tx, event: StoredEvent, r: MasterReservation): Promise<void>;
  /** An order became ready for pickup in `compartment`: tell the customer (pickup-message.ts). */
  pickupReady?(tx: Tx, r: MasterReservation, compartment: number, at: Date): Promise<unknown>;
}

/**
 * The effect of one event on the master copy; applied once, when it joins the contiguous prefix
 * (an urgent help.requested also at once, on arrival: opening a call twice is a no-op).
 * A refused event (nack) has no effect.
 */
export async function applyEvent(tx: Tx, event: StoredEvent, effects: EventEffects): Promise<void> {
  if (event.refused) return;
  const p = event.payload;
  const at = event.at.clockSynchronised ? event.at.wall : event.receivedAt;
  const compartment = num(p.compartment);
  const own = async (id: unknown): Promise<MasterReservation | null> => {
    const r = typeof id === 'string' ? await reservations.get(tx, id) : null;
    return r && r.unitId === event.unitId ? r : null;
  };
  // Events about a compartment without a reservation id go to the reservation whose key is in it.
  const byCompartment = async (): Promise<MasterReservation | null> => {
    if (compartment === null) return null;
    const row = await tx.get<{ id: string }>(
      "SELECT id FROM reservations WHERE unit_id = ? AND compartment_id = ? AND status IN ('deposited', 'ready') ORDER BY updated_at DESC LIMIT 1",
      [event.unitId, compartment],
    );
    return row ? own(row.id) : null;
  };
  // The mechanic journey's events name the request: its reservation is the one we asked for.
  const byRequest = async (): Promise<MasterReservation | null> => {
    const row = await tx.get<{ reservation_id: string | null }>(
      "SELECT reservation_id FROM commands WHERE unit_id = ? AND name = 'mechanic.request' AND json_extract(args, '$.requestId') = ? LIMIT 1",
      [event.unitId, str(p.requestId)],
    );
    return own(row?.reservation_id);
  };
  /** The mechanic behind a tablet id, as staff named the tablet at enrolment. */
  const mechanic = async (): Promise<string | null> =>
    (await tx.get<{ name: string }>('SELECT name FROM tablets WHERE tablet_id = ?', [str(p.tabletId)]))?.name ?? str(p.tabletId);
  const note = async (r: MasterReservation | null, detail: Record<string, unknown>): Promise<void> => {
    if (r) await timeline.add(tx, r.id, event.type, { seq: event.seq, ...detail }, at);
  };

  switch (event.type) {
    case 'key.deposited': {
      const r = await own(p.reservationId);
      if (!r) break;
      const deposited: MasterReservation = {
        ...r,
        status: r.kind === 'pickup' ? 'ready' : 'deposited',
        compartmentId: compartment ?? r.compartmentId,
        remark: str(p.remark),
        addedPhone: str(p.addedPhone),
        updatedAt: event.receivedAt,
      };
      await reservations.update(tx, deposited);
      // confirmed false: the customer walked away at a closed door (absent from older lockers: true).
      await note(r, { compartment, confirmed: p.confirmed !== false });
      // A pickup's key put in at the locker: the order is ready, the customer is told.
      if (r.kind === 'pickup' && r.status !== 'ready' && deposited.compartmentId !== null) await effects.pickupReady?.(tx, deposited, deposited.compartmentId, new Date(at));
      break;
    }
    case 'key.collected': {
      const r = await own(p.reservationId);
      if (!r) break;
      await reservations.update(tx, { ...r, status: r.kind === 'pickup' ? 'collected' : 'retrieved', updatedAt: event.receivedAt });
      await note(r, { compartment, confirmed: p.confirmed !== false });
      break;
    }
    case 'key.retrieved': {
      // A mechanic took the dropped-off key (the mechanic journey): the compartment is free again.
      const r = await own(p.reservationId);
      if (!r) break;
      await reservations.update(tx, { ...r, status: 'retrieved', updatedAt: event.receivedAt });
      await note(r, { compartment, requestId: str(p.requestId), tabletId: str(p.tabletId), by: await mechanic() });
      break;
    }
    case 'key.returned': {
      // A mechanic put the finished car's key in: the pickup is ready in the compartment the
      // locker chose. A real back office now texts the customer its number and PIN or link.
      const r = await own(p.reservationId);
      if (!r) break;
      const returned: MasterReservation = { ...r, status: 'ready', compartmentId: compartment, updatedAt: event.receivedAt };
      await reservations.update(tx, returned);
      await note(r, { compartment, requestId: str(p.requestId), tabletId: str(p.tabletId), by: await mechanic() });
      if (compartment !== null && effects.pickupReady) await effects.pickupReady(tx, returned, compartment, new Date(at));
      else {
        const channels = [...(r.email ? ['e-mail'] : []), ...(r.phones.length > 0 ? ['SMS'] : [])];
        await timeline.add(tx, r.id, 'pickup.notified', { seq: event.seq, compartment, channels, simulated: true }, at);
      }
      break;
    }
    case 'mechanic.queued':
    case 'mechanic.qr-shown':
    case 'mechanic.expired':
    case 'mechanic.refused':
      await note(await byRequest(), { requestId: str(p.requestId), tabletId: str(p.tabletId), reason: str(p.reason) });
      break;
    case 'mechanic.opened':
      await note(await own(p.reservationId), { compartment, requestId: str(p.requestId), tabletId: str(p.tabletId), purpose: str(p.purpose) });
      break;
    case 'compartment.opened':
      await note(await own(p.reservationId), { compartment, purpose: str(p.purpose), confirmed: p.confirmed === true });
      break;
    case 'compartment.jammed':
    case 'compartment.open-failed':
      await note((await own(p.reservationId)) ?? (await byCompartment()), { compartment, error: str(p.error) });
      break;
    case 'compartment.quarantined':
      await note(await byCompartment(), { compartment, reason: str(p.reason) });
      if (compartment !== null) await units.setCompartmentState(tx, event.unitId, compartment, 'quarantined', null);
      break;
    case 'compartment.quarantine-cleared': {
      const state = p.state === 'occupied' ? 'occupied' : 'free';
      const holder = await own(p.reservationId);
      if (compartment !== null) await units.setCompartmentState(tx, event.unitId, compartment, state, holder?.id ?? null);
      await note(holder, { compartment, state, by: str(p.by) });
      break;
    }
    case 'journey.abandoned':
      await note(await own(p.reservationId), { compartment, content: str(p.content), quarantined: p.quarantined === true });
      break;
    case 'compartment.item-mismatch':
      await note(await own(p.reservationId), { compartment, expected: str(p.expected) });
      break;
    case 'compartment.closed':
    case 'compartment.forced':
      await note(await byCompartment(), { compartment });
      break;
    case 'compartment.left-open':
      await note(await byCompartment(), { compartment, openForS: num(p.openForS) });
      break;
    case 'locker.full':
      await note(await own(p.reservationId), {});
      break;
    case 'lockout.reservation': {
      const r = await own(p.reservationId);
      if (!r) break;
      await reservations.update(tx, { ...r, pinLocked: true, updatedAt: event.receivedAt });
      await note(r, {});
      break;
    }
    case 'lockout.locker': {
      // The locker's own end time, so this view and the locker's agree to the millisecond; a
      // locker without it is counted from when the event arrived.
      const retryAfterS = num(p.retryAfterS) ?? 0;
      const until = str(p.until) ?? new Date(Date.parse(event.receivedAt) + retryAfterS * 1000).toISOString();
      await units.setLockout(tx, event.unitId, until);
      break;
    }
    case 'lockout.ended': {
      if (p.scope === 'locker') {
        await units.setLockout(tx, event.unitId, null);
        break;
      }
      const r = await own(p.reservationId);
      if (!r) break;
      await reservations.update(tx, { ...r, pinLocked: false, updatedAt: event.receivedAt });
      await note(r, { reason: str(p.reason) });
      break;
    }
    case 'pin.ambiguous': {
      // Two of our reservations share a PIN at this unit: staff should give one a new PIN.
      const ids = Array.isArray(p.reservationIds) ? p.reservationIds : [];
      for (const id of ids) await note(await own(id), { with: ids.filter((other) => other !== id) });
      break;
    }
    case 'pin.delivery-requested': {
      const r = await own(p.reservationId);
      if (!r) break;
      const channels = [...(r.email ? ['e-mail'] : []), ...(r.phones.length > 0 ? ['SMS'] : [])];
      // The reference back office does not send anything: it records that a real one would have.
      await timeline.add(tx, r.id, 'pin.sent', { seq: event.seq, channels, simulated: true }, at);
      break;
    }
    case 'help.requested': {
      const callId = str(p.callId);
      if (callId === null) break;
      const opened = await helpCalls.open(tx, {
        callId,
        unitId: event.unitId,
        step: str(p.step),
        journey: str(p.journey),
        compartment,
        eventSeq: event.seq,
        createdAt: at,
      });
      if (opened) await effects.helpCallOpened(tx, event.unitId, callId);
      break;
    }
    case 'payment.requested':
    case 'payment.check-requested':
    case 'receipt.requested':
    case 'customer.club-consent': {
      const r = await own(p.reservationId);
      if (r && effects.payment) await effects.payment(tx, event, r);
      break;
    }
    default:
      // board.offline/online and event types this version does not know are
      // stored and listed; they change no reservation.
      break;
  }
}
