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
  return row ? fromRow(row) : null;
}

/** The applied commands among these ids, in one query per 500. */
export async function getAppliedMany(q: Queryable, ids: readonly string[]): Promise<Map<string, AppliedCommand>> {
  const found = new Map<string, AppliedCommand>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    const rows = await q.all<{ id: string; name: string; content_hash: string; result: string; at: string }>(
      `SELECT id, name, content_hash, result, at FROM applied_commands WHERE id IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) found.set(row.id, fromRow(row));
  }
  return found;
}

function fromRow(row: { id: string; name: string; content_hash: string; result: string; at: string }): AppliedCommand {
  return {
    id: row.id,
    name: row.name,
    contentHash: row.content_hash,
    outcome: parseJsonObject(row.result, `applied_commands.result of ${row.id}`) as unknown as StoredOutcome,
    at: row.at,
  };
}

/** A command's result to remember, its outcome already as the JSON stored. */
export interface AppliedRecord {
  id: string;
  name: string;
  contentHash: string;
  resultJson: string;
}

export async function recordApplied(tx: Tx, command: Omit<AppliedCommand, 'at'>, now: Date): Promise<void> {
  await recordAppliedMany(tx, [{ id: command.id, name: command.name, contentHash: command.contentHash, resultJson: JSON.stringify(command.outcome) }], now);
}

/**
 * Records results in one statement, the rows as one JSON array taken apart by SQLite (as
 * reservations.insertMany: a batch's statements are round trips to the database's thread, and
 * binding values one by one is what a batch of hundreds spent).
 */
export async function recordAppliedMany(tx: Tx, records: readonly AppliedRecord[], now: Date): Promise<void> {
  if (records.length === 0) return;
  const at = now.toISOString();
  await tx.run(
    `INSERT INTO applied_commands (id, name, content_hash, result, at)
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ? FROM jsonb_each(?)`,
    [at, JSON.stringify(records.map((record) => [record.id, record.name, record.contentHash, record.resultJson]))],
  );
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

// --- amounts due -------------------------------------------------------------------------

export interface AmountDue {
  amount: number;
  currency: string;
}

/** The amount the reservation's own version states, or null when it states none. */
export async function amountDue(q: Queryable, reservationId: string): Promise<AmountDue | null> {
  const row = await q.get<AmountDue>('SELECT amount, currency FROM reservation_amount_due WHERE reservation_id = ?', [reservationId]);
  return row ?? null;
}

export async function setAmountDue(tx: Tx, reservationId: string, due: AmountDue | null): Promise<void> {
  if (due === null) {
    await tx.run('DELETE FROM reservation_amount_due WHERE reservation_id = ?', [reservationId]);
    return;
  }
  await tx.run(
    `INSERT INTO reservation_amount_due (reservation_id, amount, currency) VALUES (?, ?, ?)
     ON CONFLICT (reservation_id) DO UPDATE SET amount = excluded.amount, currency = excluded.currency`,
    [reservationId, due.amount, due.currency],
  );
}

// --- help calls ------------------------------------------------------------------------------

export type HelpCallState = 'requested' | 'taken' | 'closed';

export interface HelpCallRow {
  state: HelpCallState;
  receivedAt: string | null;
}

/**
 * The call as the locker knows it, or null when it never made it. The screen's request writes
 * only its `help.requested` event (kiosk/core/journeys.ts), so a call without a row yet is
 * found there; the outbox keeps events long after any answer can come (purged days after the
 * back office acknowledged them).
 */
export async function findHelpCall(q: Queryable, id: string): Promise<HelpCallRow | 'requested-only' | null> {
  const row = await q.get<{ state: HelpCallState; received_at: string | null }>('SELECT state, received_at FROM help_calls WHERE id = ?', [id]);
  if (row) return { state: row.state, receivedAt: row.received_at };
  const event = await q.get<{ one: number }>(
    "SELECT 1 AS one FROM outbox WHERE type = 'help.requested' AND json_extract(payload, '$.callId') = ? LIMIT 1",
    [id],
  );
  return event ? 'requested-only' : null;
}

/** The back office confirmed it has the call (`received`): no change to the screen. */
export async function markHelpCallReceived(tx: Tx, id: string, now: Date): Promise<void> {
  const at = now.toISOString();
  await tx.run(
    `INSERT INTO help_calls (id, session_id, state, requested_at, received_at)
     VALUES (?, 'unknown', 'requested', ?, ?)
     ON CONFLICT (id) DO UPDATE SET received_at = COALESCE(help_calls.received_at, excluded.received_at)`,
    [id, at, at],
  );
}

/** Records that someone took or closed a call (creating its row if only its event exists). */
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
