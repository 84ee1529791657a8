/**
 * Every door the locker opens for a journey goes through here, so that the store stays the
 * truth: the intent is written before the pulse, the outcome after, each in one transaction
 * with the compartment's new state and the outbox event that tells the back office. A
 * compartment whose content is uncertain is quarantined; nothing here ever guesses.
 */
import type { Logger } from 'pino';
import type { OpenOutcome } from '../../controller/lock-bank.js';
import { DomainError } from '../errors.js';
import type { JourneyStore, JourneyTx, LockPort } from './ports.js';
import { openOutcomeAudit } from './open-outcome.js';
import { quarantineIn } from './quarantine.js';
import type { Compartment, Reservation } from './types.js';

/**
 * OPEN_REFUSED: nothing was pulsed (the lock board was not answering), so the compartment is
 * as it was and stays in service. `anotherMayOpen`: only a lock that jammed while its board
 * answered says nothing about the others; after a board that did not answer, another
 * compartment would meet the same board.
 */
export type ActuationResult =
  | { ok: true; compartment: number }
  | { ok: false; error: 'NO_COMPARTMENT' | 'OPEN_FAILED' | 'OPEN_REFUSED'; compartment: number | null; anotherMayOpen: boolean };

/**
 * Told when the lock bank starts the pulse for the compartment being opened (its first pulse),
 * so the screens can show the number while the lock works rather than after the pulse.
 */
export type PulseListener = (compartment: number) => void;

export interface ActuatorOptions {
  store: JourneyStore;
  locks: LockPort;
  wallClock: () => Date;
  logger: Logger;
}

export class Actuator {
  readonly #store: JourneyStore;
  readonly #locks: LockPort;
  readonly #now: () => Date;
  readonly #log: Logger;

  constructor(options: ActuatorOptions) {
    this.#store = options.store;
    this.#locks = options.locks;
    this.#now = options.wallClock;
    this.#log = options.logger;
  }

  /**
   * Drop-off: allocate a free compartment, hold it for the reservation, open it. The
   * reservation is read again inside the allocating transaction: one the back office cancelled
   * a moment ago gets no compartment (refused before any intent or pulse).
   */
  async openNewFor(reservation: Reservation, sessionId: string, actor: string, onPulse?: PulseListener): Promise<ActuationResult> {
    const allocated = await this.#store.transaction(async (tx) => {
      const current = await tx.reservation(reservation.id);
      if (current?.kind !== 'dropoff' || current.status !== 'booked') return { refused: current?.status ?? 'unknown' } as const;
      const id = await tx.allocateCompartment(reservation.id);
      if (id === null) return null;
      return { compartment: id, intentId: await this.#intent(tx, id, reservation.id, 'dropoff', sessionId, actor) };
    });
    if (allocated === null) {
      this.#log.warn({ reservation: reservation.id }, 'no free compartment');
      await this.#store.transaction((tx) => tx.event('locker.full', { reservationId: reservation.id }));
      return { ok: false, error: 'NO_COMPARTMENT', compartment: null, anotherMayOpen: false };
    }
    if ('refused' in allocated) {
      this.#log.warn({ reservation: reservation.id, status: allocated.refused }, 'drop-off refused: the reservation is no longer booked');
      return { ok: false, error: 'OPEN_FAILED', compartment: null, anotherMayOpen: false };
    }
    return this.#pulseAndRecord(allocated.compartment, reservation, 'dropoff', actor, allocated.intentId, onPulse);
  }

  /**
   * Pickup: open the compartment that holds the reservation's key. Decided inside the intent's
   * transaction on what is true now: the reservation still `ready` (and paid, when payment is
   * required: a refund a moment ago closes the way), its compartment holding it as `occupied`
   * (a quarantined or disabled one is opened by a person who has looked, never by a PIN).
   * Otherwise refused before any intent or pulse.
   */
  async openReservedFor(reservation: Reservation, sessionId: string, actor: string, onPulse?: PulseListener): Promise<ActuationResult> {
    const compartment = reservation.compartmentId;
    if (compartment === null) return { ok: false, error: 'NO_COMPARTMENT', compartment: null, anotherMayOpen: false };
    const decided = await this.#store.transaction(async (tx) => {
      const refusal = pickupRefusal(await tx.reservation(reservation.id), await tx.compartment(compartment));
      if (refusal !== null) {
        await tx.timeline(reservation.id, 'pickup-refused', { compartment, why: refusal });
        return { refused: refusal } as const;
      }
      return { intentId: await this.#intent(tx, compartment, reservation.id, 'pickup', sessionId, actor) };
    });
    if ('refused' in decided) {
      this.#log.warn({ compartment, why: decided.refused }, 'pickup refused before the door opened');
      return { ok: false, error: 'OPEN_FAILED', compartment, anotherMayOpen: false };
    }
    return this.#pulseAndRecord(compartment, reservation, 'pickup', actor, decided.intentId, onPulse);
  }

  /**
   * Drop-off finished: the key is in, the door is closed. Refused (SERVER, nothing written)
   * when the compartment is no longer held for this drop-off: a door forced meanwhile put it
   * in quarantine, and only a person may decide what is in it now. `confirmed`: the customer
   * pressed Confirm (false: the session ended at a closed door, see door-settlement.ts).
   */
  async deposited(compartment: number, reservationId: string, extra: { addedPhone: string | null; remark: string | null }, how: { confirmed: boolean } = { confirmed: true }): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await this.#requireHeld(tx, compartment, reservationId, 'reserved');
      const reservation = await tx.reservation(reservationId);
      const phones = extra.addedPhone ? [extra.addedPhone] : [];
      await tx.updateReservation(reservationId, { status: 'deposited', compartmentId: compartment, remark: extra.remark, phones });
      await tx.setCompartment(compartment, 'occupied', reservationId, null);
      await tx.clearInflight(compartment);
      await tx.event('key.deposited', {
        reservationId,
        workOrder: reservation?.workOrder ?? null,
        compartment,
        addedPhone: extra.addedPhone,
        remark: extra.remark,
        confirmed: how.confirmed,
      });
      await tx.timeline(reservationId, 'key-deposited', { compartment, remark: extra.remark !== null, addedPhone: extra.addedPhone !== null, confirmed: how.confirmed });
    });
  }

  /** Pickup finished: the key is out, the door is closed, the compartment is free again. Refused like deposited(). */
  async collected(compartment: number, reservationId: string, how: { confirmed: boolean } = { confirmed: true }): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await this.#requireHeld(tx, compartment, reservationId, 'occupied');
      await tx.updateReservation(reservationId, { status: 'collected', compartmentId: null });
      await tx.setCompartment(compartment, 'free', null, null);
      await tx.clearInflight(compartment);
      await tx.event('key.collected', { reservationId, compartment, confirmed: how.confirmed });
      await tx.timeline(reservationId, 'key-collected', { compartment, confirmed: how.confirmed });
    });
  }

  /**
   * A session ended after its door opened but before it finished: content uncertain. A
   * compartment a forced door already quarantined stays as it is (one quarantine, one event).
   */
  async abandonedAfterOpen(compartment: number, reservationId: string, journey: 'dropoff' | 'pickup', reason: string): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const current = await tx.compartment(compartment);
      if (current?.state === 'quarantined' || current?.state === 'disabled') await tx.clearInflight(compartment);
      else await this.#quarantine(tx, compartment, journey === 'pickup' ? reservationId : null, `${journey} ${reason} after the door opened`, reservationId);
      if (journey === 'dropoff') await tx.updateReservation(reservationId, { compartmentId: null });
      await tx.event('journey.abandoned', { reservationId, compartment, journey, reason, content: 'unknown', quarantined: true });
      await tx.timeline(reservationId, 'abandoned-after-open', { compartment, reason });
    });
    this.#log.warn({ compartment, journey, reason }, 'compartment quarantined: session ended after opening');
  }

  /**
   * An abandoned journey whose compartment is as it was before the door opened, as its item
   * sensor shows: a drop-off's empty (free again, the booking still open), a pickup's holding
   * the key (still the customer's). Refused like deposited().
   */
  async leftAsItWas(compartment: number, reservationId: string, journey: 'dropoff' | 'pickup', reason: string): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await this.#requireHeld(tx, compartment, reservationId, journey === 'dropoff' ? 'reserved' : 'occupied');
      if (journey === 'dropoff') {
        await tx.setCompartment(compartment, 'free', null, null);
        await tx.updateReservation(reservationId, { compartmentId: null });
      }
      await tx.clearInflight(compartment);
      const content = journey === 'dropoff' ? 'empty' : 'key';
      await tx.event('journey.abandoned', { reservationId, compartment, journey, reason, content, quarantined: false });
      await tx.timeline(reservationId, 'abandoned-after-open', { compartment, reason, content });
    });
    this.#log.info({ compartment, journey, reason }, 'journey abandoned: the compartment is as it was');
  }

  /**
   * The session ended at a closed door, but the item sensor disagrees with the journey (empty
   * after a drop-off, the key still in after a pickup): an alarm for the back office, and the
   * compartment waits for a person (a pickup's keeps its claim).
   */
  async itemMismatch(compartment: number, reservationId: string, journey: 'dropoff' | 'pickup', expected: 'present' | 'absent', reason: string): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await this.#requireHeld(tx, compartment, reservationId, journey === 'dropoff' ? 'reserved' : 'occupied');
      await tx.event('compartment.item-mismatch', { compartment, reservationId, journey, expected, seen: expected === 'present' ? 'absent' : 'present' });
      await this.#quarantine(tx, compartment, journey === 'pickup' ? reservationId : null, `item sensor: ${expected === 'present' ? 'empty after a drop-off' : 'key still in after a pickup'}`, reservationId);
      if (journey === 'dropoff') await tx.updateReservation(reservationId, { compartmentId: null });
      await tx.event('journey.abandoned', { reservationId, compartment, journey, reason, content: 'unknown', quarantined: true });
      await tx.timeline(reservationId, 'item-mismatch', { compartment, expected });
    });
    this.#log.warn({ compartment, journey, expected }, 'item sensor disagrees with the journey: compartment quarantined');
  }

  /** At start: journeys that a restart interrupted leave their compartments quarantined. */
  async recover(): Promise<number> {
    const inflight = await this.#store.inflight();
    for (const entry of inflight) {
      // The intent that put this journey in flight (written in the same transaction as its
      // row): its journey's last outcome is this one, whether or not the pulse had its own.
      const intentId = await this.#store.latestIntentId(entry.compartmentId);
      await this.#store.transaction(async (tx) => {
        await this.#quarantine(tx, entry.compartmentId, entry.journey === 'pickup' ? entry.reservationId : null, `${entry.journey} interrupted by a restart`, entry.reservationId);
        if (entry.journey === 'dropoff') await tx.updateReservation(entry.reservationId, { compartmentId: null });
        await tx.audit({
          compartmentId: entry.compartmentId,
          action: 'open',
          phase: 'outcome',
          intentId,
          actor: 'system',
          reservationId: entry.reservationId,
          result: 'INTERRUPTED',
          detail: { session: entry.sessionId },
        });
        await tx.timeline(entry.reservationId, 'interrupted-by-restart', { compartment: entry.compartmentId });
      });
      this.#log.warn({ compartment: entry.compartmentId, journey: entry.journey }, 'journey interrupted by restart: compartment quarantined');
    }
    return inflight.length;
  }

  /**
   * A door opened without a command: the compartment is quarantined. A compartment held for a
   * drop-off in progress holds no key of record yet, so the reservation's claim does not stay
   * on it: the drop-off is still booked, a retry gets another compartment, and this one never
   * names the reservation again (the audit trail and the timeline keep who it was held for).
   */
  async forced(compartment: number): Promise<void> {
    await this.#store.transaction(async (tx) => {
      await tx.event('compartment.forced', { compartment });
      const current = await tx.compartment(compartment);
      if (!current || current.state === 'quarantined' || current.state === 'disabled') return;
      const holder = current.reservationId ? await tx.reservation(current.reservationId) : null;
      const dropoffInProgress = current.state === 'reserved' && holder?.kind === 'dropoff';
      await this.#quarantine(tx, compartment, dropoffInProgress ? null : current.reservationId, 'door opened without a command', current.reservationId);
      if (dropoffInProgress && holder) await tx.timeline(holder.id, 'forced-during-dropoff', { compartment });
    });
  }

  /** Doors seen open: only their closing is news (every door reads closed at start). */
  readonly #seenOpen = new Set<number>();

  async doorOpened(compartment: number): Promise<void> {
    this.#seenOpen.add(compartment);
  }

  async doorClosed(compartment: number): Promise<void> {
    if (!this.#seenOpen.delete(compartment)) return;
    await this.#store.transaction((tx) => tx.event('compartment.closed', { compartment }));
  }

  /** A lock board stopped answering, or came back: the back office should know. */
  async board(online: boolean, board: number, reason: string | null): Promise<void> {
    await this.#store.transaction((tx) => tx.event(online ? 'board.online' : 'board.offline', online ? { board } : { board, reason: reason ?? 'unknown' }));
  }

  async leftOpen(compartment: number, openForMs: number): Promise<void> {
    await this.#store.transaction((tx) => tx.event('compartment.left-open', { compartment, openForS: Math.round(openForMs / 1000) }));
  }

  async #pulseAndRecord(
    compartment: number,
    reservation: Reservation,
    purpose: 'dropoff' | 'pickup',
    actor: string,
    intentId: number,
    onPulse: PulseListener | undefined,
  ): Promise<ActuationResult> {
    let told = false;
    const started = (id: number): void => {
      if (id !== compartment || told || !onPulse) return;
      told = true;
      try {
        onPulse(compartment);
      } catch (error) {
        this.#log.error({ err: String(error), compartment }, 'a pulse listener failed');
      }
    };
    this.#locks.events.on('pulseStarted', started);
    let outcome: OpenOutcome;
    try {
      outcome = await this.#locks.open(compartment);
    } finally {
      this.#locks.events.off('pulseStarted', started);
    }
    const refused = !outcome.ok && outcome.pulses === 0;
    await this.#store.transaction(async (tx) => {
      const detail = outcome.ok ? { pulses: outcome.pulses, confirmed: outcome.confirmed } : { pulses: outcome.pulses, detail: outcome.detail };
      await tx.audit(openOutcomeAudit(outcome, { compartment, intentId, actor, reservationId: reservation.id }, detail));
      if (outcome.ok) {
        await tx.event('compartment.opened', { compartment, reservationId: reservation.id, purpose, confirmed: outcome.confirmed });
        await tx.timeline(reservation.id, 'compartment-opened', { compartment });
        return;
      }
      await tx.clearInflight(compartment);
      if (refused) {
        // Nothing was pulsed: the content is exactly as before. A drop-off's compartment goes
        // back to free; a pickup's keeps its key for its reservation, untouched.
        if (purpose === 'dropoff') await tx.setCompartment(compartment, 'free', null, null);
        await tx.event('compartment.open-refused', { compartment, reservationId: reservation.id, error: outcome.error, reason: outcome.detail.slice(0, 500) });
        await tx.timeline(reservation.id, 'open-refused', { compartment, error: outcome.error });
        return;
      }
      await tx.event(outcome.error === 'JAMMED' ? 'compartment.jammed' : 'compartment.open-failed', { compartment, reservationId: reservation.id, error: outcome.error });
      // Pulsed and not seen open: a drop-off compartment is empty but suspect; a pickup one
      // still holds the key: either way nobody else is given it until someone has looked.
      await this.#quarantine(tx, compartment, purpose === 'pickup' ? reservation.id : null, `open failed: ${outcome.error}`);
      await tx.timeline(reservation.id, 'open-failed', { compartment, error: outcome.error });
    });
    if (outcome.ok) return { ok: true, compartment };
    if (refused) {
      this.#log.warn({ compartment, error: outcome.error }, 'open refused before any pulse: compartment left in service');
      return { ok: false, error: 'OPEN_REFUSED', compartment, anotherMayOpen: false };
    }
    this.#log.error({ compartment, error: outcome.error, pulses: outcome.pulses }, 'compartment did not open');
    return { ok: false, error: 'OPEN_FAILED', compartment, anotherMayOpen: outcome.error === 'JAMMED' };
  }

  /** Returns the intent's audit id, which the outcome names. */
  async #intent(tx: JourneyTx, compartment: number, reservationId: string, journey: 'dropoff' | 'pickup', sessionId: string, actor: string): Promise<number> {
    await tx.setInflight({ compartmentId: compartment, reservationId, journey, sessionId, at: this.#now().toISOString() });
    return tx.audit({ compartmentId: compartment, action: 'open', phase: 'intent', actor, reservationId, result: null, detail: { purpose: journey } });
  }

  /**
   * `claim`: the reservation whose key may be inside (stays on the compartment); `heldFor`:
   * whom it was held for, for the audit trail only (defaults to the claim).
   */
  #quarantine(tx: JourneyTx, compartment: number, claim: string | null, reason: string, heldFor: string | null = claim): Promise<void> {
    return quarantineIn(tx, compartment, claim, reason, heldFor);
  }

  /** The journey may finish only while its compartment is still held for it (throwing rolls the transaction back). */
  async #requireHeld(tx: JourneyTx, compartment: number, reservationId: string, state: 'reserved' | 'occupied'): Promise<void> {
    const current = await tx.compartment(compartment);
    if (current?.state === state && current.reservationId === reservationId) return;
    this.#log.warn({ compartment, state: current?.state ?? null }, 'journey cannot finish: its compartment is no longer held for it');
    throw new DomainError('SERVER', `compartment ${compartment} is ${current?.state ?? 'unknown'}: the journey cannot finish there; call for help`);
  }
}

/** Why a pickup may not open now, or null when it may. */
function pickupRefusal(reservation: Reservation | null, compartment: Compartment | null): string | null {
  if (!reservation || reservation.kind !== 'pickup' || reservation.status !== 'ready') return `reservation ${reservation?.status ?? 'unknown'}`;
  if (reservation.paymentRequired && reservation.paymentStatus !== 'paid') return `payment ${reservation.paymentStatus}`;
  if (compartment?.state !== 'occupied' || compartment.reservationId !== reservation.id) return `compartment ${compartment?.state ?? 'unknown'}`;
  return null;
}
