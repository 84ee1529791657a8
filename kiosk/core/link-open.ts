/**
 * The customer opens their compartment from the link in the pickup message
 * (`reservation.remote-open`, docs/protocol.md "Open from the phone link"), without the screen.
 * The back office authenticated the link; the locker still checks everything it can itself,
 * inside the command's transaction:
 * - NONCE_USED: this link's nonce already opened (kept durably, written with the intent);
 * - WRONG_COMPARTMENT: the compartment named is not the one holding this reservation's key;
 * - NOT_READY: the key is not in the compartment (the pickup is not ready: not yet, or already collected);
 * - UNPAID: the reservation requires a payment the locker has not seen paid;
 * - IN_JOURNEY, BOARD_OFFLINE, THROTTLED: as a staff remote open (core/remote-open.ts), through
 *   the same shared throttle, with `alarm.remote-open-throttled` past the limit.
 * The pulse follows the commit through the lock bank (one pulse at a time, like every open).
 * After the door is opened and closed again the pickup is recorded as collected, unconfirmed
 * (as issue 7's closed-door rule), unless the item sensor shows the key still in.
 */
import type { Logger } from 'pino';
import { DomainError } from '../errors.js';
import { recordOpenOutcome } from './open-outcome.js';
import type { OpenThrottle } from './open-throttle.js';
import type { JourneyStore, JourneyTx, LockPort } from './ports.js';

export interface LinkOpenRequest {
  reservationId: string;
  /** The compartment the customer's page names ("Open compartment N"): must be the reservation's. */
  compartment: number;
  /** The link token's id, one per link (never the token itself). */
  nonce: string;
}

export type LinkOpenRefusal = 'NONCE_USED' | 'WRONG_COMPARTMENT' | 'NOT_READY' | 'UNPAID' | 'IN_JOURNEY' | 'BOARD_OFFLINE' | 'THROTTLED';

export type LinkOpenDecision =
  | { ok: true; compartment: number; reservationId: string; intentId: number }
  | { ok: false; reason: LinkOpenRefusal; retryAfterS?: number };

export interface LinkOpenTx extends JourneyTx {
  inflightOn(compartment: number): Promise<boolean>;
  nonceUsed(nonce: string): Promise<boolean>;
  useNonce(nonce: string, reservationId: string): Promise<void>;
  /** Records, with the intent, that this door is to be watched until it closes (survives a restart). */
  awaitClose(compartment: number, reservationId: string): Promise<void>;
}

/** A door opened from a link, not yet closed again. */
export interface AwaitingClose {
  compartment: number;
  reservationId: string;
  /** The door was seen open (the pulse confirmed it, or a door sensor): its closing records the pickup. */
  seenOpen: boolean;
}

/** Where the doors waiting to close are kept across restarts (kiosk/store/link-open-awaiting.ts). */
export interface AwaitingClosePort {
  list(): Promise<AwaitingClose[]>;
  seenOpen(compartment: number): Promise<void>;
  forget(compartment: number, reservationId: string): Promise<void>;
}

export interface LinkOpenerOptions {
  store: Pick<JourneyStore, 'transaction'>;
  locks: Pick<LockPort, 'open' | 'events' | 'itemPresent' | 'doorState'>;
  /** The doors waiting to close, kept durably (written with the intent; read back by recover()). */
  awaiting: AwaitingClosePort;
  /** The same throttle as staff remote opens (built once in kiosk/locker.ts). */
  throttle: OpenThrottle;
  boardOnline: (compartment: number) => boolean;
  customerOn?: (compartment: number) => boolean;
  /** Records the pickup (Actuator.collected). */
  collected: (compartment: number, reservationId: string, how: { confirmed: boolean }) => Promise<void>;
  logger: Logger;
}

const ACTOR = 'customer-link';
const NONCE = /^[A-Za-z0-9_-]{16,128}$/;

export class LinkOpener {
  readonly #o: LinkOpenerOptions;
  /** Compartments opened from a link, waiting for their door to close: compartment -> reservation. */
  readonly #awaitingClose = new Map<number, { reservationId: string; seenOpen: boolean }>();

  constructor(options: LinkOpenerOptions) {
    this.#o = options;
    options.locks.events.on('doorOpened', (id) => this.#seenOpen(id));
    options.locks.events.on('doorClosed', (id) => this.#closed(id));
  }

  /** Decides inside `tx`. Throws DomainError (nothing written): BAD_ACTION for a malformed nonce, NOT_FOUND for an unknown reservation. */
  async decide(tx: LinkOpenTx, request: LinkOpenRequest): Promise<LinkOpenDecision> {
    const { reservationId, compartment, nonce } = request;
    if (!NONCE.test(nonce)) throw new DomainError('BAD_ACTION', 'nonce must be 16-128 characters of A-Z a-z 0-9 _ -');
    const r = await tx.reservation(reservationId);
    if (!r) throw new DomainError('NOT_FOUND', `reservation ${reservationId} is not held by this locker`);
    await tx.event('reservation.remote-open-requested', { reservationId, compartment });
    const refuse = async (refusal: LinkOpenRefusal, retryAfterS?: number): Promise<LinkOpenDecision> => {
      await tx.event('reservation.remote-open-refused', { reservationId, compartment, reason: refusal, retryAfterS: retryAfterS ?? null });
      this.#o.logger.warn({ reservationId, compartment, refusal }, 'open from the phone link refused');
      return retryAfterS === undefined ? { ok: false, reason: refusal } : { ok: false, reason: refusal, retryAfterS };
    };
    if (await tx.nonceUsed(nonce)) return refuse('NONCE_USED');
    if (r.compartmentId !== compartment) return refuse('WRONG_COMPARTMENT');
    const held = await tx.compartment(compartment);
    if (r.kind !== 'pickup' || r.status !== 'ready' || held?.state !== 'occupied' || held.reservationId !== r.id) return refuse('NOT_READY');
    if (r.paymentRequired && r.paymentStatus !== 'paid') return refuse('UNPAID');
    if ((await tx.inflightOn(compartment)) || this.#o.customerOn?.(compartment) === true || this.#awaitingClose.has(compartment)) return refuse('IN_JOURNEY');
    if (!this.#o.boardOnline(compartment)) return refuse('BOARD_OFFLINE');
    const slot = this.#o.throttle.take();
    if (!slot.ok) {
      const retryAfterS = Math.ceil(slot.retryAfterMs / 1000);
      await tx.event('alarm.remote-open-throttled', { compartment, by: ACTOR, limit: slot.limit, windowS: Math.round(slot.windowMs / 1000), retryAfterS });
      return refuse('THROTTLED', retryAfterS);
    }
    await tx.useNonce(nonce, reservationId);
    await tx.awaitClose(compartment, reservationId);
    const intentId = await tx.audit({
      compartmentId: compartment,
      action: 'open',
      phase: 'intent',
      actor: ACTOR,
      reservationId,
      result: null,
      detail: { purpose: 'customer-link' },
    });
    await tx.timeline(reservationId, 'link-open-accepted', { compartment });
    return { ok: true, compartment, reservationId, intentId };
  }

  openAfterCommit(decision: Extract<LinkOpenDecision, { ok: true }>): void {
    this.open(decision).catch((error: unknown) => this.#o.logger.error({ err: String(error), compartment: decision.compartment }, 'open from the phone link could not be finished'));
  }

  /** After the decision committed: the pulse, its outcome and the done event; then the door is watched until it closes. */
  async open(decision: Extract<LinkOpenDecision, { ok: true }>): Promise<boolean> {
    const { compartment, reservationId, intentId } = decision;
    this.#awaitingClose.set(compartment, { reservationId, seenOpen: false });
    const outcome = await this.#o.locks.open(compartment);
    // A pulse that failed leaves nothing to wait for, unless the door was seen open meanwhile
    // (e.g. the service stopping before the confirmation came): then its closing still counts.
    if (!outcome.ok) {
      if (this.#awaitingClose.get(compartment)?.seenOpen !== true) {
        this.#awaitingClose.delete(compartment);
        await this.#o.awaiting.forget(compartment, reservationId);
      }
    } else if (outcome.confirmed || outcome.alreadyOpen) this.#seenOpen(compartment);
    const result = await recordOpenOutcome(this.#o.store, outcome, {
      compartment,
      intentId,
      actor: ACTOR,
      reservationId,
      purpose: 'customer-link',
      doneEvent: 'reservation.remote-open-done',
      donePayload: (result) => ({ reservationId, compartment, opened: outcome.ok, result, pulses: outcome.pulses }),
    });
    this.#o.logger.info({ compartment, result, pulses: outcome.pulses }, 'open from the phone link done');
    return outcome.ok;
  }

  /**
   * At start: the doors opened from a link before the restart and not closed since. One found
   * closed now (seen open before) records its pickup; one found open is watched until it closes;
   * one whose state is not known yet waits for the board's first answer (its door events).
   * Returns how many were waiting.
   */
  async recover(): Promise<number> {
    const waiting = await this.#o.awaiting.list();
    for (const entry of waiting) {
      this.#awaitingClose.set(entry.compartment, { reservationId: entry.reservationId, seenOpen: entry.seenOpen });
      const door = this.#o.locks.doorState(entry.compartment);
      if (door === 'open') this.#seenOpen(entry.compartment);
      else if (door === 'closed') this.#closed(entry.compartment);
    }
    if (waiting.length > 0) this.#o.logger.info({ compartments: waiting.map((w) => w.compartment) }, 'phone-link opens waiting for their door to close, found at start');
    return waiting.length;
  }

  #seenOpen(compartment: number): void {
    const waiting = this.#awaitingClose.get(compartment);
    if (!waiting || waiting.seenOpen) return;
    waiting.seenOpen = true;
    this.#o.awaiting.seenOpen(compartment).catch((error: unknown) => this.#o.logger.error({ err: String(error), compartment }, 'door seen open after a link open: not kept'));
  }

  /**
   * The door opened from a link closed again: the key was taken (unconfirmed), unless the item
   * sensor sees it still in. The durable row goes after the pickup is recorded: a restart in
   * between finds the compartment free and records nothing twice (collected() refuses it).
   */
  #closed(compartment: number): void {
    const waiting = this.#awaitingClose.get(compartment);
    if (!waiting?.seenOpen) return;
    this.#awaitingClose.delete(compartment);
    const forget = () => this.#o.awaiting.forget(compartment, waiting.reservationId).catch((error: unknown) => this.#o.logger.error({ err: String(error), compartment }, 'link open waiting to close: not cleared'));
    if (this.#o.locks.itemPresent?.(compartment) === true) {
      this.#o.logger.info({ compartment }, 'door closed after a link open with the key still in: left as it was');
      void forget();
      return;
    }
    this.#o
      .collected(compartment, waiting.reservationId, { confirmed: false })
      .catch((error: unknown) => this.#o.logger.error({ err: String(error), compartment }, 'pickup from the phone link not recorded'))
      .finally(() => void forget());
  }
}
