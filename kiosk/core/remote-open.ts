/**
 * Staff open a compartment from the back office (`compartment.remote-open`, docs/protocol.md
 * "Remote open"): someone at the desk lets a colleague or a customer at the locker get at a
 * door, with a reason for the audit trail. The decision is taken inside the command's
 * transaction (refusals and the intent commit with the command's result); the pulse follows the
 * commit (`open`), through the same lock bank path as `lockerctl open` (kiosk/admin/operations.ts):
 * intent audited before the lock moves, outcome after.
 *
 * Refused, nothing pulsed, with a `compartment.remote-open-refused` event:
 * - IN_JOURNEY: a customer is mid-journey on that compartment (its door is theirs until they finish);
 * - BOARD_OFFLINE: its lock board does not answer (no blind pulse: nobody could tell what happened);
 * - THROTTLED: more than the locker's limit of remote opens in a rolling minute
 *   (core/open-throttle.ts); an `alarm.remote-open-throttled` event goes with it.
 *
 * The compartment's state is not changed by a remote open (as a technician's open): the person
 * who asked for it is responsible for what they take or leave, and the audit trail says who.
 * Nothing here logs the reason (free text may hold anything): it is in the audit log only.
 */
import type { Logger } from 'pino';
import { DomainError } from '../errors.js';
import { recordOpenOutcome } from './open-outcome.js';
import type { OpenThrottle } from './open-throttle.js';
import type { JourneyStore, JourneyTx, LockPort } from './ports.js';

export interface RemoteOpenRequest {
  compartment: number;
  /** Why, for the audit trail: 1-500 characters. */
  reason: string;
  /** Who asked (a staff name or id): 1-100 characters. */
  by: string;
}

export type RemoteOpenRefusal = 'IN_JOURNEY' | 'BOARD_OFFLINE' | 'THROTTLED';

export type RemoteOpenDecision =
  | { ok: true; compartment: number; by: string; intentId: number; reservationId: string | null }
  | { ok: false; reason: RemoteOpenRefusal; retryAfterS?: number };

/** The command's transaction, with the one read the decision needs beyond a JourneyTx. */
export interface RemoteOpenTx extends JourneyTx {
  /** True while a customer journey holds the compartment (an open that has not finished). */
  inflightOn(compartment: number): Promise<boolean>;
}

export interface RemoteOpenerOptions {
  store: Pick<JourneyStore, 'transaction'>;
  locks: Pick<LockPort, 'open'>;
  /** The opens allowed per rolling window on this locker (shareable with other remote opens). */
  throttle: OpenThrottle;
  /** Compartment numbers this locker has. */
  compartmentIds: () => readonly number[];
  /** False while the board driving the compartment's lock does not answer. */
  boardOnline: (compartment: number) => boolean;
  /** True while the customer at the bottom screen is using this compartment (before or after its intent). */
  customerOn?: (compartment: number) => boolean;
  logger: Logger;
}

export class RemoteOpener {
  readonly #o: RemoteOpenerOptions;

  constructor(options: RemoteOpenerOptions) {
    this.#o = options;
  }

  /**
   * Checks the request and decides, writing in `tx` the intent (accepted) or the refusal's
   * events. Throws DomainError (nothing written): BAD_ACTION for a bad reason or by, NOT_FOUND
   * for a compartment this locker does not have.
   */
  async decide(tx: RemoteOpenTx, request: RemoteOpenRequest): Promise<RemoteOpenDecision> {
    const { compartment } = request;
    const reason = request.reason.trim();
    const by = request.by.trim();
    if (reason.length === 0 || reason.length > 500) throw new DomainError('BAD_ACTION', 'reason must be 1-500 characters');
    if (by.length === 0 || by.length > 100) throw new DomainError('BAD_ACTION', 'by must be 1-100 characters');
    if (!this.#o.compartmentIds().includes(compartment) || !(await tx.compartment(compartment))) {
      throw new DomainError('NOT_FOUND', `compartment ${compartment} does not exist`);
    }
    await tx.event('compartment.remote-open-requested', { compartment, by, reason });
    const refuse = async (refusal: RemoteOpenRefusal, retryAfterS?: number): Promise<RemoteOpenDecision> => {
      await tx.event('compartment.remote-open-refused', { compartment, by, reason: refusal, retryAfterS: retryAfterS ?? null });
      this.#o.logger.warn({ compartment, refusal }, 'remote open refused');
      return retryAfterS === undefined ? { ok: false, reason: refusal } : { ok: false, reason: refusal, retryAfterS };
    };
    if ((await tx.inflightOn(compartment)) || this.#o.customerOn?.(compartment) === true) return refuse('IN_JOURNEY');
    if (!this.#o.boardOnline(compartment)) return refuse('BOARD_OFFLINE');
    const slot = this.#o.throttle.take();
    if (!slot.ok) {
      const retryAfterS = Math.ceil(slot.retryAfterMs / 1000);
      await tx.event('alarm.remote-open-throttled', { compartment, by, limit: slot.limit, windowS: Math.round(slot.windowMs / 1000), retryAfterS });
      return refuse('THROTTLED', retryAfterS);
    }
    const holder = (await tx.compartment(compartment))?.reservationId ?? null;
    const intentId = await tx.audit({
      compartmentId: compartment,
      action: 'open',
      phase: 'intent',
      actor: `staff:${by}`,
      reservationId: holder,
      result: null,
      detail: { purpose: 'remote', reason, by },
    });
    return { ok: true, compartment, by, intentId, reservationId: holder };
  }

  /** `open`, started after the command's commit: a failure to record it is logged (its intent stays open in the audit trail). */
  openAfterCommit(decision: Extract<RemoteOpenDecision, { ok: true }>): void {
    this.open(decision).catch((error: unknown) => this.#o.logger.error({ err: String(error), compartment: decision.compartment }, 'remote open could not be finished'));
  }

  /** After the decision committed: the pulse, then its outcome and the done event in one transaction. */
  async open(decision: Extract<RemoteOpenDecision, { ok: true }>): Promise<boolean> {
    const { compartment, by, intentId, reservationId } = decision;
    const outcome = await this.#o.locks.open(compartment);
    const result = await recordOpenOutcome(this.#o.store, outcome, {
      compartment,
      intentId,
      actor: `staff:${by}`,
      reservationId,
      purpose: 'remote',
      doneEvent: 'compartment.remote-open-done',
      donePayload: (result) => ({ compartment, by, opened: outcome.ok, result, pulses: outcome.pulses }),
    });
    this.#o.logger.info({ compartment, result, pulses: outcome.pulses }, 'remote open done');
    return outcome.ok;
  }
}
