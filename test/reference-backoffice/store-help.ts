/** Help calls from the lockers' screens, taken and closed by staff. */
import type { Queryable, Tx } from '../../kiosk/store/db.js';

// --- help calls -------------------------------------------------------------------------

export type HelpState = 'open' | 'taken' | 'closed';

export interface HelpCall {
  callId: string;
  unitId: string;
  step: string | null;
  journey: string | null;
  compartment: number | null;
  state: HelpState;
  takenBy: string | null;
  eventSeq: number;
  createdAt: string;
  updatedAt: string;
}

interface HelpRow {
  call_id: string;
  unit_id: string;
  step: string | null;
  journey: string | null;
  compartment: number | null;
  state: HelpState;
  taken_by: string | null;
  event_seq: number;
  created_at: string;
  updated_at: string;
}

function toHelp(row: HelpRow): HelpCall {
  return {
    callId: row.call_id,
    unitId: row.unit_id,
    step: row.step,
    journey: row.journey,
    compartment: row.compartment,
    state: row.state,
    takenBy: row.taken_by,
    eventSeq: row.event_seq,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const helpCalls = {
  /** False when the call was already open (an urgent copy came first, or a repeat). */
  async open(tx: Tx, call: Omit<HelpCall, 'state' | 'takenBy' | 'updatedAt'>): Promise<boolean> {
    const { changes } = await tx.run(
      `INSERT INTO help_calls (call_id, unit_id, step, journey, compartment, event_seq, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (unit_id, call_id) DO NOTHING`,
      [call.callId, call.unitId, call.step, call.journey, call.compartment, call.eventSeq, call.createdAt, call.createdAt],
    );
    return changes === 1;
  },
  async get(q: Queryable, unitId: string, callId: string): Promise<HelpCall | null> {
    const row = await q.get<HelpRow>('SELECT * FROM help_calls WHERE unit_id = ? AND call_id = ?', [unitId, callId]);
    return row ? toHelp(row) : null;
  },
  /** By call id alone (ids are the locker's uuids); null if none or ambiguous. */
  async findById(q: Queryable, callId: string): Promise<HelpCall | null> {
    const rows = await q.all<HelpRow>('SELECT * FROM help_calls WHERE call_id = ? LIMIT 2', [callId]);
    return rows.length === 1 && rows[0] ? toHelp(rows[0]) : null;
  },
  async setState(tx: Tx, unitId: string, callId: string, state: HelpState, by: string | null, now: Date): Promise<void> {
    await tx.run('UPDATE help_calls SET state = ?, taken_by = COALESCE(?, taken_by), updated_at = ? WHERE unit_id = ? AND call_id = ?', [
      state,
      by,
      now.toISOString(),
      unitId,
      callId,
    ]);
  },
  /** Open and taken calls, and those closed in the last `closedSince`. */
  async listActive(q: Queryable, closedSince: string): Promise<HelpCall[]> {
    const rows = await q.all<HelpRow>(
      "SELECT * FROM help_calls WHERE state <> 'closed' OR updated_at >= ? ORDER BY created_at DESC LIMIT 50",
      [closedSince],
    );
    return rows.map(toHelp);
  },
};
