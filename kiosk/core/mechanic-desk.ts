/**
 * The mechanic journey (docs/protocol.md, "Mechanics"). A tablet asked for a key (retrieve) or
 * for a compartment to put a finished car's key in (deposit); the locker shows a one-time QR
 * token for that request on its top screen, one request at a time and only while no customer
 * is mid-journey on the bottom screen (otherwise the request waits and the back office is told
 * with `mechanic.queued`). The tablet scans it; the back office forwards it (`mechanic.open`)
 * naming the tablet it authenticated; the door opens only when the token is this locker's,
 * younger than 60 s on the monotonic clock, bound to that tablet, that request and its purpose,
 * and its nonce was never burnt. The nonce is burnt in the transaction that writes the door's
 * intent, before any pulse. Every refusal is a `mechanic.refused` event; nothing opens.
 *
 *   request --(no customer)--> QR shown --scan, token good--> door opens --door closes--> done
 *      \--(customer busy)--> queued --(customer gone)--^   \--60 s--> expired (next request)
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { MechanicPurpose, MechanicTokens, TokenRefusal } from './mechanic-token.js';
import { finishMechanicOpen, pulseForMechanic, type MechanicOpening } from './mechanic-actuation.js';
import type { JourneyTx, LockPort, MechanicRequestRecord, MechanicStore, MechanicTx } from './ports.js';
import type { Compartment, Reservation } from './types.js';

/** Why `mechanic.open` was refused (the `reason` of `mechanic.refused`). */
export type OpenRefusal = TokenRefusal | 'WRONG_TABLET' | 'WRONG_REQUEST' | 'WRONG_PURPOSE' | 'REPLAYED' | 'NOT_SERVABLE' | 'NO_COMPARTMENT';

export type OpenDecision = ({ ok: true } & MechanicOpening) | { ok: false; reason: OpenRefusal };

export interface MechanicOpenArgs {
  requestId: string;
  token: string;
  /** The tablet the back office authenticated (its device credential), not what the tablet claims. */
  tabletId: string;
}

export interface MechanicDeskOptions {
  store: MechanicStore;
  tokens: MechanicTokens;
  locks: LockPort;
  clock: Clock;
  wallClock: () => Date;
  logger: Logger;
  /** True while a customer is mid-journey on the bottom screen: no QR is shown then. */
  customerBusy: () => boolean;
  /** Draws text as a QR code (an SVG document). */
  renderQr: (text: string) => Promise<string>;
}

interface Shown {
  request: MechanicRequestRecord;
  svg: string;
  timer: unknown;
}

export class MechanicDesk {
  /** What the top screen shows changed. */
  readonly events = new EventEmitter<{ changed: [] }>();
  readonly #o: MechanicDeskOptions;
  readonly #queue: MechanicRequestRecord[] = [];
  /** Requests the back office was told are queued (told once each). */
  readonly #toldQueued = new Set<string>();
  #shown: Shown | null = null;
  /** Compartments opened for a mechanic, finished when their door closes. */
  readonly #open = new Map<number, MechanicOpening>();
  #busy: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(options: MechanicDeskOptions) {
    this.#o = options;
    options.locks.events.on('doorClosed', (id) => this.#doorClosed(id));
  }

  /** At start: requests recorded before a restart wait again (their tokens died with the old boot). */
  async resume(): Promise<void> {
    for (const request of await this.#o.store.pendingRequests()) this.#enqueue(request);
    this.#kick();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#shown) this.#o.clock.clearTimeout(this.#shown.timer);
    this.#shown = null;
  }

  /** A `mechanic.request` was recorded (after its commit). */
  requested(request: MechanicRequestRecord): void {
    this.#enqueue(request);
    this.#kick();
  }

  /** The bottom screen changed: a customer who left frees the top screen for a waiting QR. */
  customerChanged(): void {
    if (this.#shown) this.events.emit('changed');
    this.#kick();
  }

  /** The QR for the top screen, or null (none waiting, or a customer is at the locker). */
  qr(): { svg: string; captionKey: string } | null {
    if (!this.#shown || this.#o.customerBusy()) return null;
    return { svg: this.#shown.svg, captionKey: 'qr.mechanic' };
  }

  /** The request whose QR is up, for tests and /health. */
  shownRequestId(): string | null {
    return this.#shown?.request.requestId ?? null;
  }

  /**
   * `mechanic.open`, inside the command's transaction: checks the token and its binding, burns
   * the nonce and writes the door's intent, or writes the refusal event. Nothing is pulsed here:
   * `opened()` does that once the transaction has committed.
   */
  async decideOpen(tx: JourneyTx, m: MechanicTx, args: MechanicOpenArgs): Promise<OpenDecision> {
    const refuse = async (reason: OpenRefusal): Promise<OpenDecision> => {
      await tx.event('mechanic.refused', { requestId: args.requestId, tabletId: args.tabletId, reason });
      this.#o.logger.warn({ requestId: args.requestId, tabletId: args.tabletId, reason }, 'mechanic token refused');
      return { ok: false, reason };
    };
    const checked = await this.#o.tokens.verify(args.token);
    if (!checked.ok) return refuse(checked.reason);
    const claims = checked.claims;
    if (claims.tabletId !== args.tabletId) return refuse('WRONG_TABLET');
    if (claims.requestId !== args.requestId) return refuse('WRONG_REQUEST');
    const request = await m.request(claims.requestId);
    if (!request || request.reservationId !== claims.reservationId) return refuse('WRONG_REQUEST');
    if (request.tabletId !== claims.tabletId) return refuse('WRONG_TABLET');
    if (request.purpose !== claims.purpose) return refuse('WRONG_PURPOSE');
    const at = this.#o.wallClock().toISOString();
    if (!(await m.burnNonce(claims.nonce, at))) return refuse('REPLAYED');
    // A request whose QR timed out (its timer may fire a moment before the token's age says so).
    if (request.state === 'expired') return refuse('EXPIRED');
    if (request.state !== 'pending') return refuse('REPLAYED');
    const reservation = await tx.reservation(request.reservationId);
    let compartment: number | null;
    if (request.purpose === 'retrieve') {
      compartment = reservation?.compartmentId ?? null;
      const held = compartment === null ? null : await tx.compartment(compartment);
      if (servableRefusal(request.purpose, reservation, held) !== null) return refuse('NOT_SERVABLE');
    } else {
      if (servableRefusal(request.purpose, reservation, null) !== null) return refuse('NOT_SERVABLE');
      compartment = await tx.allocateCompartment(request.reservationId);
      if (compartment === null) return refuse('NO_COMPARTMENT');
    }
    if (compartment === null) return refuse('NOT_SERVABLE');
    await m.setRequestState(request.requestId, 'served');
    const opening: MechanicOpening = {
      compartment,
      purpose: request.purpose,
      reservationId: request.reservationId,
      requestId: request.requestId,
      tabletId: request.tabletId,
      intentId: 0,
    };
    // The inflight row makes a restart mid-open quarantine the compartment (actuator.recover):
    // a retrieve's compartment holds the key (as a pickup's), a deposit's does not yet (as a drop-off's).
    await tx.setInflight({ compartmentId: compartment, reservationId: request.reservationId, journey: request.purpose === 'retrieve' ? 'pickup' : 'dropoff', sessionId: `mechanic:${request.requestId}`, at });
    opening.intentId = await tx.audit({
      compartmentId: compartment,
      action: 'open',
      phase: 'intent',
      actor: `mechanic:${request.tabletId}`,
      reservationId: request.reservationId,
      result: null,
      detail: { purpose: request.purpose, requestId: request.requestId },
    });
    await tx.timeline(request.reservationId, 'mechanic-token-accepted', { tabletId: request.tabletId, purpose: request.purpose, compartment });
    return { ok: true, ...opening };
  }

  /** After `decideOpen`'s transaction committed: pulse the lock, record the outcome; the QR goes away. */
  opened(decision: OpenDecision): void {
    if (!decision.ok) return;
    if (this.#shown?.request.requestId === decision.requestId) this.#hide();
    const run = this.#serial(async () => {
      const ok = await pulseForMechanic(this.#o.store, this.#o.locks, decision, this.#o.logger);
      if (ok) this.#open.set(decision.compartment, decision);
    });
    void run;
    this.#kick();
  }

  /** Waits for everything queued so far (tests). */
  settled(): Promise<void> {
    return this.#busy.then(() => undefined);
  }

  #enqueue(request: MechanicRequestRecord): void {
    if (this.#shown?.request.requestId === request.requestId) return;
    if (this.#queue.some((queued) => queued.requestId === request.requestId)) return;
    this.#queue.push(request);
  }

  #kick(): void {
    void this.#serial(() => this.#showNext());
  }

  #serial(step: () => Promise<void>): Promise<void> {
    const run = this.#busy.then(step);
    this.#busy = run.catch((error: unknown) => this.#o.logger.error({ err: String(error) }, 'mechanic desk step failed'));
    return run;
  }

  async #showNext(): Promise<void> {
    if (this.#stopped || this.#shown) return;
    if (this.#o.customerBusy()) {
      const untold = this.#queue.filter((request) => !this.#toldQueued.has(request.requestId));
      if (untold.length === 0) return;
      await this.#o.store.transaction(async (tx) => {
        for (const request of untold) {
          await tx.event('mechanic.queued', { requestId: request.requestId, tabletId: request.tabletId, reason: 'customer-at-locker', position: this.#queue.indexOf(request) + 1 });
        }
      });
      for (const request of untold) this.#toldQueued.add(request.requestId);
      return;
    }
    for (let request = this.#queue.shift(); request !== undefined; request = this.#queue.shift()) {
      if (await this.#show(request)) return;
    }
  }

  /** Shows this request's QR; false when it can no longer be served (refused and told). */
  async #show(request: MechanicRequestRecord): Promise<boolean> {
    const issued = await this.#o.tokens.issue(request);
    const at = this.#o.wallClock().toISOString();
    const served = await this.#o.store.transaction(async (tx, m) => {
      const current = await m.request(request.requestId);
      if (current?.state !== 'pending') return false;
      const reservation = await tx.reservation(request.reservationId);
      const held = reservation?.compartmentId ? await tx.compartment(reservation.compartmentId) : null;
      const why = servableRefusal(request.purpose, reservation, held);
      if (why !== null) {
        await m.setRequestState(request.requestId, 'refused');
        await tx.event('mechanic.refused', { requestId: request.requestId, tabletId: request.tabletId, reason: 'NOT_SERVABLE' });
        this.#o.logger.warn({ requestId: request.requestId, why }, 'mechanic request cannot be served');
        return false;
      }
      await m.tokenIssued({ nonce: issued.claims.nonce, requestId: request.requestId, tabletId: request.tabletId, bootId: issued.claims.bootId, issuedMono: issued.claims.issuedMono, at });
      await tx.event('mechanic.qr-shown', { requestId: request.requestId, tabletId: request.tabletId, validForS: Math.round(this.#o.tokens.ttlMs / 1000) });
      return true;
    });
    if (!served) return false;
    const svg = await this.#o.renderQr(issued.token);
    const timer = this.#o.clock.setTimeout(() => void this.#serial(() => this.#expire(request.requestId)), this.#o.tokens.ttlMs);
    this.#shown = { request, svg, timer };
    this.events.emit('changed');
    return true;
  }

  async #expire(requestId: string): Promise<void> {
    if (this.#shown?.request.requestId !== requestId) return;
    this.#hide();
    await this.#o.store.transaction(async (tx, m) => {
      if ((await m.request(requestId))?.state !== 'pending') return;
      await m.setRequestState(requestId, 'expired');
      await tx.event('mechanic.expired', { requestId });
    });
    await this.#showNext();
  }

  #hide(): void {
    if (!this.#shown) return;
    this.#o.clock.clearTimeout(this.#shown.timer);
    this.#shown = null;
    this.events.emit('changed');
  }

  #doorClosed(compartment: number): void {
    const opening = this.#open.get(compartment);
    if (!opening) return;
    this.#open.delete(compartment);
    void this.#serial(() => finishMechanicOpen(this.#o.store, opening, this.#o.logger));
  }
}

/** Why this request cannot be served now, or null. */
export function servableRefusal(purpose: MechanicPurpose, reservation: Reservation | null, held: Compartment | null): string | null {
  if (!reservation) return 'reservation unknown';
  if (purpose === 'retrieve') {
    if (reservation.kind !== 'dropoff' || reservation.status !== 'deposited') return `reservation ${reservation.kind} ${reservation.status}`;
    if (held?.state !== 'occupied' || held.reservationId !== reservation.id) return `compartment ${held?.state ?? 'unknown'}`;
    return null;
  }
  if (reservation.kind !== 'pickup' || reservation.status !== 'booked') return `reservation ${reservation.kind} ${reservation.status}`;
  return null;
}
