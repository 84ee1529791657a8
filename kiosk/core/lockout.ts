import type { Db, Queryable, Tx } from '../store/db.js';
import * as lockouts from '../store/lockouts.js';
import * as reservations from '../store/reservations.js';
import type { PinGuard } from './ports.js';
import type { LockoutState } from './types.js';

/**
 * PIN lockout: one reservation locks after too many wrong PINs (until staff reset it), and the
 * whole locker backs off after every run of consecutive failures, whichever reservation they
 * were for, so guessing across reservations is slowed as well. State lives in the lockouts
 * table (times as wall-clock ISO), so a restart does not hand out fresh attempts.
 */

export interface LockoutPolicy {
  /** Wrong PINs after which a reservation is locked until reset. */
  reservationMaxFailures: number;
  /** Consecutive wrong PINs, locker-wide, that trigger each back-off. */
  lockerFailuresPerBackoff: number;
  /** First back-off; doubles at each further one in the same streak. */
  lockerBaseBackoffMs: number;
  lockerMaxBackoffMs: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  reservationMaxFailures: 5,
  lockerFailuresPerBackoff: 5,
  lockerBaseBackoffMs: 30_000,
  lockerMaxBackoffMs: 15 * 60_000,
};

export type LockoutDecision =
  | { allowed: true }
  | { allowed: false; reason: 'locker_backoff'; retryAfterMs: number }
  | { allowed: false; reason: 'reservation_locked' };

export interface FailureResult {
  /** Set when this failure started a locker-wide back-off. */
  lockerLockedForMs: number | null;
  reservationLocked: boolean;
  /** Wrong PINs left before the reservation locks; null when no reservation was named. */
  attemptsLeft: number | null;
}

// --- pure decisions --------------------------------------------------------------------------

/** Length of the `level`-th back-off in a streak (level 1 = the first). */
export function backoffMs(level: number, policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY): number {
  if (level <= 0) return 0;
  return Math.min(policy.lockerBaseBackoffMs * 2 ** (level - 1), policy.lockerMaxBackoffMs);
}

export function lockerDecision(
  state: LockoutState | null,
  now: Date,
  policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
): LockoutDecision {
  if (state?.lockedUntil == null) return { allowed: true };
  const remaining = Date.parse(state.lockedUntil) - now.getTime();
  // NaN (a value we never write) counts as expired: a corrupt row must not lock the locker forever.
  if (!(remaining > 0)) return { allowed: true };
  // The Pi has no RTC: if the clock stepped back, the stored end could lie far ahead. A back-off
  // never lasts longer than its level allows, whatever the clock did.
  return { allowed: false, reason: 'locker_backoff', retryAfterMs: Math.min(remaining, backoffMs(state.level, policy)) };
}

export function isReservationLocked(state: LockoutState | null): boolean {
  return (state?.level ?? 0) > 0;
}

export function afterLockerFailure(
  state: LockoutState | null,
  now: Date,
  policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
): LockoutState {
  const failures = (state?.failures ?? 0) + 1;
  const level = state?.level ?? 0;
  if (failures % policy.lockerFailuresPerBackoff !== 0) {
    return { scope: 'locker', failures, level, lockedUntil: state?.lockedUntil ?? null };
  }
  const until = new Date(now.getTime() + backoffMs(level + 1, policy));
  return { scope: 'locker', failures, level: level + 1, lockedUntil: until.toISOString() };
}

export function afterReservationFailure(
  state: LockoutState | null,
  reservationId: string,
  policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
): LockoutState {
  const failures = (state?.failures ?? 0) + 1;
  const locked = isReservationLocked(state) || failures >= policy.reservationMaxFailures;
  return { scope: lockouts.reservationScope(reservationId), failures, level: locked ? 1 : 0, lockedUntil: null };
}

// --- the service -----------------------------------------------------------------------------

export class LockoutService {
  constructor(
    private readonly db: Db,
    readonly policy: LockoutPolicy = DEFAULT_LOCKOUT_POLICY,
  ) {}

  /** Pass `q` when already inside a transaction. */
  async checkAllowed(now: Date, reservationId: string | null = null, q: Queryable = this.db): Promise<LockoutDecision> {
    const locker = lockerDecision(await lockouts.get(q, 'locker'), now, this.policy);
    if (!locker.allowed || reservationId === null) return locker;
    const reservation = await lockouts.get(q, lockouts.reservationScope(reservationId));
    return isReservationLocked(reservation) ? { allowed: false, reason: 'reservation_locked' } : { allowed: true };
  }

  /**
   * A wrong PIN, for `reservationId` when the customer had identified one, else null.
   * The reservation's own failedPinAttempts/pinLockedAt are kept in step in the same transaction.
   */
  async recordFailure(tx: Tx, reservationId: string | null, now: Date): Promise<FailureResult> {
    const previous = await lockouts.get(tx, 'locker');
    const locker = afterLockerFailure(previous, now, this.policy);
    await lockouts.set(tx, locker);
    const startedBackoff = locker.level > (previous?.level ?? 0);
    const lockerLockedForMs = startedBackoff ? backoffMs(locker.level, this.policy) : null;
    if (reservationId === null) return { lockerLockedForMs, reservationLocked: false, attemptsLeft: null };

    const scope = lockouts.reservationScope(reservationId);
    const before = await lockouts.get(tx, scope);
    const after = afterReservationFailure(before, reservationId, this.policy);
    await lockouts.set(tx, after);
    const reservationLocked = isReservationLocked(after);
    const lockedNow = reservationLocked && !isReservationLocked(before);
    await reservations.update(
      tx,
      reservationId,
      { failedPinAttempts: after.failures, ...(lockedNow ? { pinLockedAt: now.toISOString() } : {}) },
      now,
    );
    const attemptsLeft = Math.max(0, this.policy.reservationMaxFailures - after.failures);
    return { lockerLockedForMs, reservationLocked, attemptsLeft: reservationLocked ? 0 : attemptsLeft };
  }

  /** A right PIN: ends the locker-wide streak; clears the reservation's count unless it is locked. */
  async recordSuccess(tx: Tx, reservationId: string, now: Date): Promise<void> {
    await lockouts.set(tx, { scope: 'locker', failures: 0, level: 0, lockedUntil: null });
    const scope = lockouts.reservationScope(reservationId);
    if (isReservationLocked(await lockouts.get(tx, scope))) return;
    await lockouts.clear(tx, scope);
    await reservations.update(tx, reservationId, { failedPinAttempts: 0 }, now);
  }

  /** Staff reset: the reservation may be tried again. */
  async resetReservation(tx: Tx, reservationId: string, now: Date): Promise<void> {
    await lockouts.clear(tx, lockouts.reservationScope(reservationId));
    await reservations.update(tx, reservationId, { failedPinAttempts: 0, pinLockedAt: null }, now);
  }
}

/** The core's PinGuard port: each call its own transaction. */
export function createPinGuard(db: Db, service: LockoutService): PinGuard {
  return {
    async lockedFor(now) {
      const decision = await service.checkAllowed(now);
      return decision.allowed || decision.reason !== 'locker_backoff' ? null : decision.retryAfterMs;
    },
    recordFailure: (reservationId, now) => db.transaction((tx) => service.recordFailure(tx, reservationId, now)),
    recordSuccess: (reservationId, now) => db.transaction((tx) => service.recordSuccess(tx, reservationId, now)),
  };
}
