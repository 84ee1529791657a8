import type { OutboxEvent } from '../core/types.js';
import type { Queryable, Tx } from './db.js';
import { parseJsonObject } from './json-columns.js';

/**
 * Events for the back office, in `seq` order. Appended in the same transaction as the change
 * they describe, so an event exists if and only if the change does; delivered at least once
 * (the seq doubles as the idempotency key) and acknowledged up to a seq.
 */

/** An outbox row as SQLite returns it (`SELECT *`). */
export interface OutboxRow {
  seq: number;
  type: string;
  payload: string;
  wall_time: string;
  mono_time: number;
  boot_id: string;
  acked_at: string | null;
}

/** The row as the core's event (its payload parsed, checked to be an object). */
export function toEvent(row: OutboxRow): OutboxEvent {
  return {
    seq: row.seq,
    type: row.type,
    payload: parseJsonObject(row.payload, `outbox.payload of seq ${row.seq}`),
    wallTime: row.wall_time,
    monoTime: row.mono_time,
    bootId: row.boot_id,
    ackedAt: row.acked_at,
  };
}

export interface EventStamp {
  wallTime: string; // ISO
  monoTime: number; // ms since process start
  bootId: string;
}

/** Returns the new event's seq. */
export async function append(
  tx: Tx,
  type: string,
  payload: Record<string, unknown>,
  stamp: EventStamp,
): Promise<number> {
  const { lastID } = await tx.run(
    'INSERT INTO outbox (type, payload, wall_time, mono_time, boot_id) VALUES (?, ?, ?, ?, ?)',
    [type, JSON.stringify(payload), stamp.wallTime, stamp.monoTime, stamp.bootId],
  );
  return lastID;
}

/** Unacknowledged events with seq > afterSeq, oldest first. */
export async function listAfter(q: Queryable, afterSeq: number, limit: number): Promise<OutboxEvent[]> {
  const rows = await q.all<OutboxRow>(
    'SELECT * FROM outbox WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?',
    [afterSeq, limit],
  );
  return rows.map(toEvent);
}

/** Marks every unacknowledged event with seq <= `seq` delivered; returns how many. */
export async function ackUpTo(tx: Tx, seq: number, now: Date): Promise<number> {
  const { changes } = await tx.run('UPDATE outbox SET acked_at = ? WHERE acked_at IS NULL AND seq <= ?', [
    now.toISOString(),
    seq,
  ]);
  return changes;
}

export async function pendingCount(q: Queryable): Promise<number> {
  const row = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE acked_at IS NULL');
  return row?.n ?? 0;
}

export async function oldestPending(q: Queryable): Promise<OutboxEvent | null> {
  const row = await q.get<OutboxRow>('SELECT * FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT 1');
  return row ? toEvent(row) : null;
}

/**
 * Deletes events acknowledged before `before`: payloads may hold personal data (an added phone
 * number) that the locker must not keep once the back office has it. AUTOINCREMENT keeps seqs
 * from being reused even if the table empties.
 */
export async function purgeAcked(tx: Tx, before: Date): Promise<number> {
  const { changes } = await tx.run('DELETE FROM outbox WHERE acked_at IS NOT NULL AND acked_at < ?', [
    before.toISOString(),
  ]);
  return changes;
}
