import type { Compartment, CompartmentState } from '../core/types.js';
import type { Queryable, Tx } from './db.js';

/**
 * Compartments 1..N. The table's CHECKs hold the invariants (a reserved or occupied compartment
 * names its reservation, a free one holds nothing, a quarantined one says why), so a wrong
 * state change fails instead of being stored.
 */

interface CompartmentRow {
  id: number;
  state: CompartmentState;
  reservation_id: string | null;
  quarantine_reason: string | null;
  updated_at: string;
}

function toCompartment(row: CompartmentRow): Compartment {
  return {
    id: row.id,
    state: row.state,
    reservationId: row.reservation_id,
    quarantineReason: row.quarantine_reason,
    updatedAt: row.updated_at,
  };
}

export interface EnsureResult {
  /** Ids created by this call. */
  created: number[];
  /**
   * Ids above `count` still present because they hold (or once held) something; any that were
   * free are now disabled, so nothing is ever allocated behind a door that is not wired.
   */
  beyondCount: number[];
}

/**
 * Makes compartments 1..count exist. Rows above `count` (the configuration shrank) are deleted
 * only when empty and unreferenced: a row with content is kept for a person to resolve.
 */
export async function ensure(tx: Tx, count: number, now: Date): Promise<EnsureResult> {
  const at = now.toISOString();
  const created: number[] = [];
  for (let id = 1; id <= count; id += 1) {
    const { changes } = await tx.run(
      "INSERT INTO compartments (id, state, updated_at) VALUES (?, 'free', ?) ON CONFLICT (id) DO NOTHING",
      [id, at],
    );
    if (changes === 1) created.push(id);
  }
  await tx.run(
    `DELETE FROM compartments
     WHERE id > ? AND state IN ('free', 'disabled') AND reservation_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM reservations WHERE reservations.compartment_id = compartments.id)`,
    [count],
  );
  await tx.run("UPDATE compartments SET state = 'disabled', updated_at = ? WHERE id > ? AND state = 'free'", [at, count]);
  const rest = await tx.all<{ id: number }>('SELECT id FROM compartments WHERE id > ? ORDER BY id', [count]);
  return { created, beyondCount: rest.map((row) => row.id) };
}

export async function list(q: Queryable): Promise<Compartment[]> {
  const rows = await q.all<CompartmentRow>('SELECT * FROM compartments ORDER BY id');
  return rows.map(toCompartment);
}

export async function get(q: Queryable, id: number): Promise<Compartment | null> {
  const row = await q.get<CompartmentRow>('SELECT * FROM compartments WHERE id = ?', [id]);
  return row ? toCompartment(row) : null;
}

/** A state change, shaped so that each state carries exactly what it needs. */
export type CompartmentChange =
  | { state: 'free' }
  | { state: 'reserved' | 'occupied'; reservationId: string }
  | { state: 'quarantined'; reason: string; reservationId?: string | null }
  | { state: 'disabled'; reservationId?: string | null };

/** False if there is no such compartment. */
export async function setState(tx: Tx, id: number, change: CompartmentChange, now: Date): Promise<boolean> {
  const reservationId = change.state === 'free' ? null : (change.reservationId ?? null);
  const reason = change.state === 'quarantined' ? change.reason : null;
  const { changes } = await tx.run(
    'UPDATE compartments SET state = ?, reservation_id = ?, quarantine_reason = ?, updated_at = ? WHERE id = ?',
    [change.state, reservationId, reason, now.toISOString(), id],
  );
  return changes === 1;
}

/**
 * Takes the lowest-numbered free compartment for `reservationId` (it becomes `reserved`) and
 * returns it, or null when none is free. Quarantined, disabled, reserved and occupied
 * compartments are never handed out. Choosing and marking happen together so two allocations
 * in one transaction cannot get the same compartment.
 */
export async function allocateFree(tx: Tx, reservationId: string, now: Date): Promise<Compartment | null> {
  const row = await tx.get<{ id: number }>("SELECT id FROM compartments WHERE state = 'free' ORDER BY id LIMIT 1");
  if (!row) return null;
  await setState(tx, row.id, { state: 'reserved', reservationId }, now);
  return get(tx, row.id);
}
