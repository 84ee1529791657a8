import type { Inflight } from '../core/ports.js';
import type { Queryable, Tx } from './db.js';

/** Compartments opened for a journey that has not finished; at most one per compartment. */

interface InflightRow {
  compartment_id: number;
  reservation_id: string;
  journey: Inflight['journey'];
  session_id: string;
  at: string;
}

export async function set(tx: Tx, entry: Inflight): Promise<void> {
  await tx.run(
    `INSERT INTO inflight (compartment_id, reservation_id, journey, session_id, at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (compartment_id) DO UPDATE SET reservation_id = excluded.reservation_id,
       journey = excluded.journey, session_id = excluded.session_id, at = excluded.at`,
    [entry.compartmentId, entry.reservationId, entry.journey, entry.sessionId, entry.at],
  );
}

export async function clear(tx: Tx, compartmentId: number): Promise<void> {
  await tx.run('DELETE FROM inflight WHERE compartment_id = ?', [compartmentId]);
}

export async function list(q: Queryable): Promise<Inflight[]> {
  const rows = await q.all<InflightRow>('SELECT * FROM inflight ORDER BY compartment_id');
  return rows.map((row) => ({
    compartmentId: row.compartment_id,
    reservationId: row.reservation_id,
    journey: row.journey,
    sessionId: row.session_id,
    at: row.at,
  }));
}
