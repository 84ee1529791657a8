import type { AuditEntry } from '../core/types.js';
import type { Queryable, Tx } from './db.js';
import { parseJsonObject } from './json-columns.js';

/** The audit trail of actuations: append-only. `detail` must hold no personal data. */

interface AuditRow {
  id: number;
  at: string;
  compartment_id: number | null;
  action: string;
  phase: AuditEntry['phase'];
  intent_id: number | null;
  actor: string;
  reservation_id: string | null;
  result: string | null;
  detail: string;
  boot_id: string;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    compartmentId: row.compartment_id,
    action: row.action,
    phase: row.phase,
    intentId: row.intent_id,
    actor: row.actor,
    reservationId: row.reservation_id,
    result: row.result,
    detail: parseJsonObject(row.detail, `audit_log.detail of ${row.id}`),
    bootId: row.boot_id,
  };
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'intentId' | 'result' | 'detail'> & {
  intentId?: number | null;
  result?: string | null;
  detail?: Record<string, unknown>;
};

/** Returns the entry's id (an outcome passes its intent's id as `intentId`). */
export async function append(tx: Tx, entry: NewAuditEntry): Promise<number> {
  const { lastID } = await tx.run(
    `INSERT INTO audit_log (at, compartment_id, action, phase, intent_id, actor, reservation_id, result, detail, boot_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      entry.at,
      entry.compartmentId,
      entry.action,
      entry.phase,
      entry.intentId ?? null,
      entry.actor,
      entry.reservationId,
      entry.result ?? null,
      JSON.stringify(entry.detail ?? {}),
      entry.bootId,
    ],
  );
  return lastID;
}

export interface AuditQuery {
  compartmentId?: number;
  limit: number;
}

/** Newest first. */
export async function list(q: Queryable, query: AuditQuery): Promise<AuditEntry[]> {
  const rows =
    query.compartmentId === undefined
      ? await q.all<AuditRow>('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?', [query.limit])
      : await q.all<AuditRow>('SELECT * FROM audit_log WHERE compartment_id = ? ORDER BY id DESC LIMIT ?', [
          query.compartmentId,
          query.limit,
        ]);
  return rows.map(toEntry);
}

/**
 * Intents no outcome points back at, oldest first. At start-up these are actuations the
 * process died in the middle of: their compartments' content is uncertain.
 */
export async function listOpenIntents(q: Queryable): Promise<AuditEntry[]> {
  const rows = await q.all<AuditRow>(
    `SELECT * FROM audit_log AS intent
     WHERE intent.phase = 'intent'
       AND NOT EXISTS (SELECT 1 FROM audit_log AS outcome WHERE outcome.intent_id = intent.id)
     ORDER BY intent.id`,
  );
  return rows.map(toEntry);
}

/** The newest intent of `action` on this compartment, or null: what an outcome written later names. */
export async function latestIntentId(q: Queryable, compartmentId: number, action: string): Promise<number | null> {
  const row = await q.get<{ id: number }>(
    "SELECT id FROM audit_log WHERE compartment_id = ? AND action = ? AND phase = 'intent' ORDER BY id DESC LIMIT 1",
    [compartmentId, action],
  );
  return row?.id ?? null;
}
