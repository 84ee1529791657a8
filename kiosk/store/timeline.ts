import type { TimelineEntry } from '../core/types.js';
import type { Queryable, Tx } from './db.js';
import { parseJsonObject } from './json-columns.js';

/** A reservation's history for the back office. Deleted with the reservation. */

interface TimelineRow {
  id: number;
  reservation_id: string;
  at: string;
  event: string;
  detail: string;
}

function toEntry(row: TimelineRow): TimelineEntry {
  return {
    id: row.id,
    reservationId: row.reservation_id,
    at: row.at,
    event: row.event,
    detail: parseJsonObject(row.detail, `reservation_timeline.detail of ${row.id}`),
  };
}

export async function append(
  tx: Tx,
  reservationId: string,
  event: string,
  detail: Record<string, unknown>,
  now: Date,
): Promise<number> {
  const { lastID } = await tx.run(
    'INSERT INTO reservation_timeline (reservation_id, at, event, detail) VALUES (?, ?, ?, ?)',
    [reservationId, now.toISOString(), event, JSON.stringify(detail)],
  );
  return lastID;
}

/** Oldest first. */
export async function list(q: Queryable, reservationId: string): Promise<TimelineEntry[]> {
  const rows = await q.all<TimelineRow>(
    'SELECT * FROM reservation_timeline WHERE reservation_id = ? ORDER BY id',
    [reservationId],
  );
  return rows.map(toEntry);
}

/** When `event` was last written for the reservation (ISO), or null. */
export async function lastAt(q: Queryable, reservationId: string, event: string): Promise<string | null> {
  const row = await q.get<{ at: string }>(
    'SELECT at FROM reservation_timeline WHERE reservation_id = ? AND event = ? ORDER BY id DESC LIMIT 1',
    [reservationId, event],
  );
  return row?.at ?? null;
}
