/**
 * PIN lockout, built so that an attacker cannot reset it and a real customer after an attacker
 * is not shut out for long (docs/security.md, "PIN guessing"):
 *
 * - Locker-wide: every wrong PIN (and every right PIN for a reservation that cannot be used
 *   now: used, cancelled, not ready, locked) adds one to a count that only a door opening for
 *   a customer resets, and that forgives one failure per `lockerDecayMs` of quiet. The first
 *   `lockerFreeFailures` are free (typos); from then on every failure starts a back-off of
 *   30 s, 60 s, then 120 s at most, so guessing runs at one PIN per two minutes at best while
 *   a customer after an attacker waits two minutes at most (and is offered Call for help).
 * - One reservation: wrong PINs after a plate lookup named it count against it; after
 *   `reservationMaxFailures` it is locked until staff lift it.
 *
 * Every lockout's start and end is an event in the outbox, written in the same transaction as
 * the state, so the back office's picture is the locker's: `lockout.locker` (with its end),
 * `lockout.reservation`, `lockout.ended` (expired, lifted by staff, reset). A back-off's end is
 * announced by a timer on the monotonic clock, so a wall clock that stepped back cannot stretch
 * it. Core only: the state lives behind the ports (JourneyStore, JourneyTx).
 */
import type { Logger } from 'pino';
import type { Clock } from '../lib/clock.js';
import type { FailureResult, JourneyStore, JourneyTx, PinGuard } from './ports.js';
import type { LockoutScope, LockoutState } from './types.js';

export interface LockoutPolicy {
  /** Wrong PINs after which a reservation named by a plate lookup is locked until staff lift it. */
  reservationMaxFailures: number;
  /** Locker-wide failures allowed before the first back-off (customers' typos). */
  lockerFreeFailures: number;
  /** The first back-off; doubles at each further failure, up to lockerMaxBackoffMs. */
  lockerBaseBackoffMs: number;
  /** The longest back-off: what a customer after an attacker waits at most. */
  lockerMaxBackoffMs: number;
  /** Each this long without a failure forgives one locker-wide failure. */
  lockerDecayMs: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  reservationMaxFailures: 5,
  lockerFreeFailures: 5,
  lockerBaseBackoffMs: 30_000,
  lockerMaxBackoffMs: 120_000,
  lockerDecayMs: 10 * 60_000,
};

export type LockoutTarget = { scope: 'locker' } | { scope: 'reservation'; reservationId: string };
export type LockoutEndReason = 'expired' | 'lifted' | 'reset';

export type LockerDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export function reservationScope(reservationId: string): LockoutScope {
  return `reservation:${reservationId}`;
}

// --- pure decisions --------------------------------------------------------------------------

/** The locker-wide count at `now`: the stored one less one per lockerDecayMs since it last changed. */
export function effectiveFailures(state: LockoutState | null, now: Date, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY): number {
  if (!state) return 0;
  const since = state.updatedAt === null ? 0 : now.getTime() - Date.parse(state.updatedAt);
  // A clock that stepped back (or a corrupt time) forgives nothing.
  const forgiven = Number.isFinite(since) && since > 0 ? Math.floor(since / policy.lockerDecayMs) : 0;
  return Math.max(0, state.failures - forgiven);
}

/** The back-off the `failures`-th failure in a streak starts (0: none yet). */
export function backoffFor(failures: number, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY): number {
  const over = failures - policy.lockerFreeFailures;
  if (over < 0) return 0;
  return Math.min(policy.lockerBaseBackoffMs * 2 ** Math.min(over, 30), policy.lockerMaxBackoffMs);
}

/** Wrong PINs left before the next locker-wide back-off. */
export function lockerAttemptsLeft(failures: number, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY): number {
  return Math.max(0, policy.lockerFreeFailures - failures);
}

export function lockerDecision(state: LockoutState | null, now: Date, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY): LockerDecision {
  if (state?.lockedUntil == null) return { allowed: true };
  const remaining = Date.parse(state.lockedUntil) - now.getTime();
  // NaN (a value we never write) counts as expired: a corrupt row must not lock the locker forever.
  if (!(remaining > 0)) return { allowed: true };
  // The Pi has no RTC: if the clock stepped back, the stored end could lie far ahead. A back-off
  // never lasts longer than the policy allows, whatever the clock did.
  return { allowed: false, retryAfterMs: Math.min(remaining, policy.lockerMaxBackoffMs) };
}

export function isReservationLocked(state: LockoutState | null): boolean {
  return (state?.level ?? 0) > 0;
}

/** The locker-wide state after one more failure, and the back-off it starts (null: none). */
export function afterLockerFailure(
  state: LockoutState | null,
  now: Date,
  policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
): { state: LockoutState; backoffMs: number | null } {
  const failures = effectiveFailures(state, now, policy) + 1;
  const backoff = backoffFor(failures, policy);
  const level = Math.max(0, failures - policy.lockerFreeFailures + 1);
  const at = now.toISOString();
  if (backoff === 0) return { state: { scope: 'locker', failures, level, lockedUntil: state?.lockedUntil ?? null, updatedAt: at }, backoffMs: null };
  const until = new Date(now.getTime() + backoff).toISOString();
  return { state: { scope: 'locker', failures, level, lockedUntil: until, updatedAt: at }, backoffMs: backoff };
}

export function afterReservationFailure(
  state: LockoutState | null,
  reservationId: string,
  now: Date,
  policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
): LockoutState {
  const failures = (state?.failures ?? 0) + 1;
  const locked = isReservationLocked(state) || failures >= policy.reservationMaxFailures;
  return { scope: reservationScope(reservationId), failures, level: locked ? 1 : 0, lockedUntil: null, updatedAt: now.toISOString() };
}

// --- the service -----------------------------------------------------------------------------

export interface LockoutServiceOptions {
  /** Reads outside a transaction, and the transactions of the expiry watch. */
  store?: Pick<JourneyStore, 'lockout' | 'transaction'>;
  policy?: LockoutPolicy;
  /** The monotonic clock the end of a back-off is timed on; without it nothing is timed (tests of the sync alone). */
  clock?: Clock;
  wallClock?: () => Date;
  logger?: Logger;
}

export class LockoutService implements PinGuard {
  readonly policy: LockoutPolicy;
  readonly #store: LockoutServiceOptions['store'];
  readonly #clock: Clock | undefined;
  readonly #wall: () => Date;
  readonly #log: Logger | undefined;
  #watch: { handle: unknown; until: string } | null = null;

  constructor(options: LockoutServiceOptions = {}) {
    this.policy = options.policy ?? DEFAULT_LOCKOUT_POLICY;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#wall = options.wallClock ?? (() => new Date());
    this.#log = options.logger;
  }

  async lockedFor(now: Date): Promise<number | null> {
    const decision = lockerDecision(await this.#requireStore().lockout('locker'), now, this.policy);
    return decision.allowed ? null : decision.retryAfterMs;
  }

  async recordFailure(tx: JourneyTx, bound: string | null, now: Date): Promise<FailureResult> {
    const previous = await tx.lockout('locker');
    const { state, backoffMs } = afterLockerFailure(previous, now, this.policy);
    await tx.setLockout(state);
    if (backoffMs !== null && state.lockedUntil !== null) {
      await tx.event('lockout.locker', { retryAfterS: Math.ceil(backoffMs / 1000), until: state.lockedUntil, failures: state.failures });
      this.#arm(backoffMs, state.lockedUntil);
    }
    let attemptsLeft = lockerAttemptsLeft(state.failures, this.policy);
    let reservationLocked = false;
    if (bound !== null) {
      const scope = reservationScope(bound);
      const before = await tx.lockout(scope);
      const after = afterReservationFailure(before, bound, now, this.policy);
      await tx.setLockout(after);
      reservationLocked = isReservationLocked(after);
      const lockedNow = reservationLocked && !isReservationLocked(before);
      await tx.updateReservation(bound, { failedPinAttempts: after.failures, ...(lockedNow ? { pinLockedAt: now.toISOString() } : {}) });
      // Always its own event, also when this failure started a locker-wide back-off as well.
      if (lockedNow) await tx.event('lockout.reservation', { reservationId: bound });
      attemptsLeft = Math.min(attemptsLeft, reservationLocked ? 0 : Math.max(0, this.policy.reservationMaxFailures - after.failures));
    }
    return { lockerLockedForMs: backoffMs, reservationLocked, attemptsLeft };
  }

  async doorOpened(tx: JourneyTx, reservationId: string, _now: Date): Promise<void> {
    const locker = await tx.lockout('locker');
    if (locker) {
      // A back-off the back office was told of ended before this customer could type: say so.
      if (locker.lockedUntil !== null) await this.#ended(tx, { scope: 'locker' }, 'expired');
      await tx.clearLockout('locker');
    }
    const scope = reservationScope(reservationId);
    const own = await tx.lockout(scope);
    if (own && !isReservationLocked(own)) {
      await tx.clearLockout(scope);
      await tx.updateReservation(reservationId, { failedPinAttempts: 0 });
    }
  }

  /** Staff lift a lockout (or reset a reservation): the count starts again from nothing. */
  async lift(tx: JourneyTx, target: LockoutTarget, now: Date, reason: Exclude<LockoutEndReason, 'expired'> = 'lifted'): Promise<{ wasLocked: boolean }> {
    if (target.scope === 'locker') {
      const state = await tx.lockout('locker');
      const wasLocked = lockerDecision(state, now, this.policy).allowed === false;
      if (state?.lockedUntil != null) await this.#ended(tx, target, reason);
      if (state) await tx.clearLockout('locker');
      this.#disarm();
      return { wasLocked };
    }
    const scope = reservationScope(target.reservationId);
    const state = await tx.lockout(scope);
    const wasLocked = isReservationLocked(state);
    await tx.clearLockout(scope);
    await tx.updateReservation(target.reservationId, { failedPinAttempts: 0, pinLockedAt: null });
    if (wasLocked) await this.#ended(tx, target, reason);
    return { wasLocked };
  }

  /**
   * Tells the back office that the locker-wide back-off ended, once its time is up (called by
   * the watch, and at start for one that ended while the service was down). `expected`: only
   * that back-off, not a newer one. True when it wrote the end.
   */
  async settleExpired(expected?: string): Promise<boolean> {
    const store = this.#requireStore();
    return store.transaction(async (tx) => {
      const state = await tx.lockout('locker');
      if (state?.lockedUntil == null) return false;
      if (expected !== undefined ? state.lockedUntil !== expected : lockerDecision(state, this.#wall(), this.policy).allowed === false) return false;
      await tx.setLockout({ ...state, lockedUntil: null });
      await this.#ended(tx, { scope: 'locker' }, 'expired');
      return true;
    });
  }

  /** At start: a back-off that ended while the service was down is announced; a running one is timed. */
  async resume(): Promise<void> {
    const state = await this.#requireStore().lockout('locker');
    if (state?.lockedUntil == null) return;
    const decision = lockerDecision(state, this.#wall(), this.policy);
    if (decision.allowed) await this.settleExpired(state.lockedUntil);
    else this.#arm(decision.retryAfterMs, state.lockedUntil);
  }

  stop(): void {
    this.#disarm();
  }

  async #ended(tx: JourneyTx, target: LockoutTarget, reason: LockoutEndReason): Promise<void> {
    await tx.event('lockout.ended', {
      scope: target.scope,
      reservationId: target.scope === 'reservation' ? target.reservationId : null,
      reason,
    });
  }

  #arm(ms: number, until: string): void {
    const clock = this.#clock;
    if (!clock) return;
    this.#disarm();
    const handle = clock.setTimeout(() => {
      if (this.#watch?.handle !== handle) return;
      this.#watch = null;
      this.settleExpired(until).catch((error: unknown) => this.#log?.error({ err: String(error) }, 'could not record the end of a PIN back-off'));
    }, ms);
    this.#watch = { handle, until };
  }

  #disarm(): void {
    if (this.#watch && this.#clock) this.#clock.clearTimeout(this.#watch.handle);
    this.#watch = null;
  }

  #requireStore(): NonNullable<LockoutServiceOptions['store']> {
    if (!this.#store) throw new Error('LockoutService needs a store for reads outside a transaction');
    return this.#store;
  }
}
