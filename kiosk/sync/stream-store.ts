/**
 * The SQL of event delivery beyond the store's outbox repository: reading what the locker still
 * holds (acknowledged or not: a back office that lost events gets them again while they last),
 * the urgent events sent ahead of the stream, the outbox's position for the hello, moving the
 * sequence past a back office that holds more than this unit made, and the record of events the
 * back office refused (nack). Reads take a Db or a Tx, writes a Tx.
 */
import type { OutboxEvent } from '../core/types.js';
import type { Queryable, Tx } from '../store/db.js';
import { toEvent, type OutboxRow } from '../store/outbox.js';

/** Events still held with seq > afterSeq, acknowledged or not, oldest first. */
export async function listHeldAfter(q: Queryable, afterSeq: number, limit: number): Promise<OutboxEvent[]> {
  const rows = await q.all<OutboxRow>('SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?', [afterSeq, limit]);
  return rows.map(toEvent);
}

/** Unacknowledged events of these types with seq > afterSeq, oldest first. */
export async function listPendingOfTypes(q: Queryable, types: readonly string[], afterSeq: number, limit: number): Promise<OutboxEvent[]> {
  if (types.length === 0) return [];
  const rows = await q.all<OutboxRow>(
    `SELECT * FROM outbox WHERE acked_at IS NULL AND seq > ? AND type IN (${types.map(() => '?').join(', ')}) ORDER BY seq LIMIT ?`,
    [afterSeq, ...types, limit],
  );
  return rows.map(toEvent);
}

export interface OutboxPosition {
  /** Lowest seq not yet acknowledged, or null. */
  firstUnacked: number | null;
  /** Lowest seq still held (acknowledged or not), or null. */
  firstHeld: number | null;
  /** The seq the next event will get: AUTOINCREMENT never reuses one, even after a purge. */
  nextSeq: number;
}

export async function outboxPosition(q: Queryable): Promise<OutboxPosition> {
  const row = await q.get<{ first_unacked: number | null; first_held: number | null; last: number | null }>(
    `SELECT (SELECT MIN(seq) FROM outbox WHERE acked_at IS NULL) AS first_unacked,
            (SELECT MIN(seq) FROM outbox) AS first_held,
            (SELECT seq FROM sqlite_sequence WHERE name = 'outbox') AS last`,
  );
  return { firstUnacked: row?.first_unacked ?? null, firstHeld: row?.first_held ?? null, nextSeq: (row?.last ?? 0) + 1 };
}

/**
 * The back office holds seqs up to `ackedSeq`, beyond the last this unit made: the unit's
 * database was restored or replaced. The sequence moves past `ackedSeq` (so no new event reuses
 * a seq the back office already has) and every unacknowledged event is appended again, in order,
 * under a new seq, so none is lost. Returns how many events were renumbered.
 */
export async function moveSequencePast(tx: Tx, ackedSeq: number): Promise<number> {
  const current = await tx.get<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
  if (current === undefined) await tx.run("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", [ackedSeq]);
  else if (current.seq < ackedSeq) await tx.run("UPDATE sqlite_sequence SET seq = ? WHERE name = 'outbox'", [ackedSeq]);
  const last = current?.seq ?? 0;
  const { changes } = await tx.run(
    `INSERT INTO outbox (type, payload, wall_time, mono_time, boot_id)
     SELECT type, payload, wall_time, mono_time, boot_id FROM outbox WHERE acked_at IS NULL AND seq <= ? ORDER BY seq`,
    [last],
  );
  await tx.run('DELETE FROM outbox WHERE acked_at IS NULL AND seq <= ?', [last]);
  return changes;
}

// --- events the back office refused -------------------------------------------------------

export interface RefusedEvent {
  seq: number;
  /** The event's type, or 'unknown' when the outbox no longer held it. */
  type: string;
  code: string;
  reason: string;
  refusedAt: string;
}

/** Records a refusal; false when this seq was already recorded (a repeated nack). */
export async function recordRefused(tx: Tx, refusal: Omit<RefusedEvent, 'type'>): Promise<boolean> {
  const { changes } = await tx.run(
    `INSERT INTO refused_events (seq, type, code, reason, refused_at)
     VALUES (?, COALESCE((SELECT type FROM outbox WHERE seq = ?), 'unknown'), ?, ?, ?)
     ON CONFLICT (seq) DO NOTHING`,
    [refusal.seq, refusal.seq, refusal.code, refusal.reason, refusal.refusedAt],
  );
  return changes === 1;
}

export async function refusedSummary(q: Queryable, latest: number): Promise<{ count: number; latest: RefusedEvent[] }> {
  const count = (await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM refused_events'))?.n ?? 0;
  const rows = await q.all<{ seq: number; type: string; code: string; reason: string; refused_at: string }>(
    'SELECT * FROM refused_events ORDER BY seq DESC LIMIT ?',
    [latest],
  );
  return { count, latest: rows.map((row) => ({ seq: row.seq, type: row.type, code: row.code, reason: row.reason, refusedAt: row.refused_at })) };
}
