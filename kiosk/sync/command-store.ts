/**
 * The SQL the sync layer needs beyond the store's repositories: the record of applied commands,
 * help calls, mechanic requests, and the few reads and writes about reservation versions and
 * the outbox's position that only the protocol cares about. Reads take a Db or a Tx, writes a Tx.
 */
import type { Queryable, Tx } from '../store/db.js';
import { parseJsonObject } from '../store/json-columns.js';

// --- applied commands ----------------------------------------------------------------------

export interface StoredOutcome {
  ok: boolean;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface AppliedCommand {
  id: string;
  name: string;
  contentHash: string;
  outcome: StoredOutcome;
  at: string;
}

export async function getApplied(q: Queryable, id: string): Promise<AppliedCommand | null> {
  const row = await q.get<{ id: string; name: string; content_hash: string; result: string; at: string }>(
    'SELECT id, name, content_hash, result, at FROM applied_commands WHERE id = ?',
    [id],
  );
  if (!row) return null;
  return {
    id: row.id,
    name: row.name,
    contentHash: row.content_hash,
    outcome: parseJsonObject(row.result, `applied_commands.result of ${row.id}`) as unknown as StoredOutcome,
    at: row.at,
  };
}

export async function recordApplied(tx: Tx, command: Omit<AppliedCommand, 'at'>, now: Date): Promise<void> {
  await tx.run('INSERT INTO applied_commands (id, name, content_hash, result, at) VALUES (?, ?, ?, ?, ?)', [
    command.id,
    command.name,
    command.contentHash,
    JSON.stringify(command.outcome),
    now.toISOString(),
  ]);
}

/** Forgets commands answered before `before`; the back office never repeats one that old. */
export async function purgeApplied(tx: Tx, before: Date): Promise<number> {
  const { changes } = await tx.run('DELETE FROM applied_commands WHERE at < ?', [before.toISOString()]);
  return changes;
}

// --- reservations: what only the protocol needs ----------------------------------------------

/** Sets the back office's version of a reservation (a cancel is a new version). */
export async function setReservationVersion(tx: Tx, id: string, version: number, now: Date): Promise<void> {
  await tx.run('UPDATE reservations SET version = ?, updated_at = ? WHERE id = ?', [version, now.toISOString(), id]);
}

/** Compartments held (reserved, not yet holding a key) for a reservation. */
export async function compartmentsReservedFor(q: Queryable, reservationId: string): Promise<number[]> {
  const rows = await q.all<{ id: number }>(
    "SELECT id FROM compartments WHERE reservation_id = ? AND state = 'reserved' ORDER BY id",
    [reservationId],
  );
  return rows.map((row) => row.id);
}

/** Whether a door has been opened for a journey on this reservation that has not finished. */
export async function hasInflight(q: Queryable, reservationId: string): Promise<boolean> {
  const row = await q.get<{ one: number }>('SELECT 1 AS one FROM inflight WHERE reservation_id = ? LIMIT 1', [reservationId]);
  return row !== undefined;
}

export interface AppliedVersionRow {
  id: string;
  version: number;
  paymentVersion: number;
}

/**
 * Versions for the hello, newest appointments first: open reservations (booked, deposited,
 * ready) and any of the last `recentDays` days, at most `limit`.
 */
export async function appliedVersions(q: Queryable, sinceDate: string, limit: number): Promise<AppliedVersionRow[]> {
  const rows = await q.all<{ id: string; version: number; payment_version: number }>(
    `SELECT id, version, payment_version FROM reservations
     WHERE status IN ('booked', 'deposited', 'ready') OR appointment_date >= ?
     ORDER BY appointment_date DESC, id
     LIMIT ?`,
    [sinceDate, limit],
  );
  return rows.map((row) => ({ id: row.id, version: row.version, paymentVersion: row.payment_version }));
}

/** The seq the next outbox event will get: AUTOINCREMENT never reuses one, even after a purge. */
export async function nextOutboxSeq(q: Queryable): Promise<number> {
  const row = await q.get<{ seq: number | null }>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
  return (row?.seq ?? 0) + 1;
}

// --- help calls ------------------------------------------------------------------------------

export type HelpCallState = 'requested' | 'taken' | 'closed';

export async function helpCallState(q: Queryable, id: string): Promise<HelpCallState | null> {
  const row = await q.get<{ state: HelpCallState }>('SELECT state FROM help_calls WHERE id = ?', [id]);
  return row?.state ?? null;
}

/**
 * Records that someone took or closed a call. A call the locker has no row for (the screen's
 * request did not record one) is created, with an unknown session.
 */
export async function setHelpCall(tx: Tx, id: string, state: 'taken' | 'closed', by: string | null, now: Date): Promise<void> {
  const at = now.toISOString();
  await tx.run(
    `INSERT INTO help_calls (id, session_id, state, requested_at, taken_at, taken_by)
     VALUES (?, 'unknown', ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET
       state = excluded.state,
       taken_at = COALESCE(help_calls.taken_at, excluded.taken_at),
       taken_by = COALESCE(excluded.taken_by, help_calls.taken_by)`,
    [id, state, at, at, by],
  );
}

// --- mechanic requests -----------------------------------------------------------------------

export interface MechanicRequest {
  requestId: string;
  commandId: string;
  reservationId: string;
  purpose: 'retrieve' | 'deposit';
  tabletId: string;
}

/** False when the request id was already recorded (by an earlier command). */
export async function recordMechanicRequest(tx: Tx, request: MechanicRequest, now: Date): Promise<boolean> {
  const { changes } = await tx.run(
    `INSERT INTO mechanic_requests (request_id, command_id, reservation_id, purpose, tablet_id, received_at)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO NOTHING`,
    [request.requestId, request.commandId, request.reservationId, request.purpose, request.tabletId, now.toISOString()],
  );
  return changes === 1;
}

export async function pendingMechanicRequests(q: Queryable): Promise<(MechanicRequest & { receivedAt: string })[]> {
  const rows = await q.all<{ request_id: string; command_id: string; reservation_id: string; purpose: 'retrieve' | 'deposit'; tablet_id: string; received_at: string }>(
    "SELECT * FROM mechanic_requests WHERE state = 'pending' ORDER BY received_at, request_id",
  );
  return rows.map((row) => ({
    requestId: row.request_id,
    commandId: row.command_id,
    reservationId: row.reservation_id,
    purpose: row.purpose,
    tabletId: row.tablet_id,
    receivedAt: row.received_at,
  }));
}
