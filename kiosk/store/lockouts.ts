import type { LockoutScope, LockoutState } from '../core/types.js';
import type { Queryable, Tx } from './db.js';

/** Persisted PIN lockout counters; the policy lives in core/lockout.ts. */

interface LockoutRow {
  scope: LockoutScope;
  failures: number;
  level: number;
  locked_until: string | null;
  updated_at: string | null;
}

export function reservationScope(reservationId: string): LockoutScope {
  return `reservation:${reservationId}`;
}

export async function get(q: Queryable, scope: LockoutScope): Promise<LockoutState | null> {
  const row = await q.get<LockoutRow>('SELECT * FROM lockouts WHERE scope = ?', [scope]);
  return row ? { scope: row.scope, failures: row.failures, level: row.level, lockedUntil: row.locked_until, updatedAt: row.updated_at } : null;
}

export async function set(tx: Tx, state: LockoutState): Promise<void> {
  await tx.run(
    `INSERT INTO lockouts (scope, failures, level, locked_until, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (scope) DO UPDATE SET failures = excluded.failures, level = excluded.level,
       locked_until = excluded.locked_until, updated_at = excluded.updated_at`,
    [state.scope, state.failures, state.level, state.lockedUntil, state.updatedAt],
  );
}

export async function clear(tx: Tx, scope: LockoutScope): Promise<void> {
  await tx.run('DELETE FROM lockouts WHERE scope = ?', [scope]);
}

/** Reservations locked after too many wrong PINs (level > 0), by id. */
export async function lockedReservations(q: Queryable): Promise<string[]> {
  const rows = await q.all<{ scope: string }>("SELECT scope FROM lockouts WHERE scope GLOB 'reservation:?*' AND level > 0 ORDER BY scope");
  return rows.map((row) => row.scope.slice('reservation:'.length));
}
