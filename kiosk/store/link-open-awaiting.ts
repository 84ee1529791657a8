/**
 * The doors opened from a phone link that have not closed yet (table link_open_awaiting,
 * migration 10): the store side of core/link-open.ts's AwaitingClosePort. The row itself is
 * written with the open's intent (LinkOpenTx.awaitClose, sync/commands/remote-open.ts).
 */
import type { AwaitingClose, AwaitingClosePort } from '../core/link-open.js';
import type { Db, Tx } from './db.js';

export async function awaitClose(tx: Tx, compartment: number, reservationId: string, now: Date): Promise<void> {
  await tx.run(
    `INSERT INTO link_open_awaiting (compartment_id, reservation_id, seen_open, since) VALUES (?, ?, 0, ?)
     ON CONFLICT (compartment_id) DO UPDATE SET reservation_id = excluded.reservation_id, seen_open = 0, since = excluded.since`,
    [compartment, reservationId, now.toISOString()],
  );
}

export function awaitingClosePort(db: Db): AwaitingClosePort {
  return {
    list: async (): Promise<AwaitingClose[]> =>
      (await db.all<{ compartment_id: number; reservation_id: string; seen_open: number }>('SELECT compartment_id, reservation_id, seen_open FROM link_open_awaiting ORDER BY compartment_id')).map((row) => ({
        compartment: row.compartment_id,
        reservationId: row.reservation_id,
        seenOpen: row.seen_open === 1,
      })),
    seenOpen: async (compartment) => {
      await db.run('UPDATE link_open_awaiting SET seen_open = 1 WHERE compartment_id = ?', [compartment]);
    },
    forget: async (compartment, reservationId) => {
      await db.run('DELETE FROM link_open_awaiting WHERE compartment_id = ? AND reservation_id = ?', [compartment, reservationId]);
    },
  };
}
