/**
 * Quarantine: a compartment whose content is uncertain is taken out of service until a person
 * has looked. Putting one in quarantine (the actuator, the journeys) and clearing it (staff,
 * through the back office's `compartment.clear-quarantine`, and later lockerctl) both happen
 * here, inside the caller's transaction, with the audit line and the event that tell the
 * back office.
 */
import { DomainError } from '../errors.js';
import type { JourneyStore, JourneyTx, LockPort } from './ports.js';

/**
 * Quarantine `compartment`. `claim`: the reservation whose key may be inside (stays on the
 * compartment); `heldFor`: whom it was held for, for the audit trail only (defaults to the claim).
 */
export async function quarantineIn(tx: JourneyTx, compartment: number, claim: string | null, reason: string, heldFor: string | null = claim): Promise<void> {
  await tx.setCompartment(compartment, 'quarantined', claim, reason);
  await tx.clearInflight(compartment);
  await tx.audit({ compartmentId: compartment, action: 'quarantine', phase: 'outcome', actor: 'system', reservationId: heldFor, result: 'quarantined', detail: { reason } });
  await tx.event('compartment.quarantined', { compartment, reason });
}

export interface ClearQuarantineRequest {
  compartment: number;
  /** Why it may go back into service (what the person found), for the audit trail: 1-500 characters. */
  reason: string;
  /** Who cleared it (a staff name or id, "technician"): 1-100 characters. */
  by: string;
}

export interface ClearQuarantineResult {
  compartment: number;
  /** What the compartment is now: `occupied` when it goes back to holding a ready pickup's key. */
  state: 'free' | 'occupied';
  reservationId: string | null;
}

/**
 * Staff looked and put a quarantined compartment back into service. Refused (DomainError,
 * nothing written) when it is not quarantined, or its door is not seen closed (open, or its
 * board not answering: nobody can say the compartment is shut). A compartment that still names
 * a pickup that is `ready` goes back to `occupied` for it (the key of record is in there);
 * otherwise it becomes `free` and names nobody.
 *
 * `doorState` is read by the caller from the lock bank (the core's LockPort.doorState).
 */
export async function clearQuarantine(tx: JourneyTx, request: ClearQuarantineRequest, doorState: 'open' | 'closed' | 'unknown'): Promise<ClearQuarantineResult> {
  const { compartment, by } = request;
  const reason = request.reason.trim();
  if (reason.length === 0 || reason.length > 500) throw new DomainError('BAD_ACTION', 'reason must be 1-500 characters');
  if (by.trim().length === 0 || by.length > 100) throw new DomainError('BAD_ACTION', 'by must be 1-100 characters');
  const current = await tx.compartment(compartment);
  if (!current) throw new DomainError('NOT_FOUND', `compartment ${compartment} does not exist`);
  if (current.state !== 'quarantined') throw new DomainError('NOT_QUARANTINED', `compartment ${compartment} is ${current.state}, not quarantined`);
  if (doorState !== 'closed') {
    throw new DomainError('DOOR_OPEN', doorState === 'open' ? `door ${compartment} is open: close it first` : `door ${compartment} cannot be read (its board is not answering): it must be seen closed`);
  }
  const claim = current.reservationId ? await tx.reservation(current.reservationId) : null;
  const keepsKey = claim !== null && claim.kind === 'pickup' && claim.status === 'ready' && claim.compartmentId === compartment;
  const state = keepsKey ? 'occupied' : 'free';
  const reservationId = keepsKey ? claim.id : null;
  await tx.setCompartment(compartment, state, reservationId, null);
  await tx.clearInflight(compartment);
  await tx.audit({
    compartmentId: compartment,
    action: 'clear',
    phase: 'outcome',
    actor: `staff:${by}`,
    reservationId: current.reservationId,
    result: state,
    detail: { reason, by, quarantinedFor: current.quarantineReason },
  });
  await tx.event('compartment.quarantine-cleared', { compartment, state, reservationId, reason, by });
  if (current.reservationId) await tx.timeline(current.reservationId, 'quarantine-cleared', { compartment, state });
  return { compartment, state, reservationId };
}

/**
 * clearQuarantine in a transaction of its own, with the door read from the lock bank: what a
 * caller outside the back-office link (lockerctl) uses. Rejects with DomainError (NOT_FOUND,
 * NOT_QUARANTINED, DOOR_OPEN, BAD_ACTION) and writes nothing when refused.
 */
export function clearQuarantineNow(store: JourneyStore, locks: Pick<LockPort, 'doorState'>, request: ClearQuarantineRequest): Promise<ClearQuarantineResult> {
  return store.transaction((tx) => clearQuarantine(tx, request, locks.doorState(request.compartment)));
}
