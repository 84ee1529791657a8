/** What went over the link: every locker event once (by unit and seq), every command with its result. */
import type { CommandName } from '../../kiosk/sync/messages.js';
import type { Queryable, Tx } from '../../kiosk/store/db.js';
import { parseJson } from './store-rows.js';

// --- events -----------------------------------------------------------------------------

export interface StoredEvent {
  unitId: string;
  seq: number;
  type: string;
  at: { wall: string; mono: number; bootId: string; clockSynchronised: boolean };
  payload: Record<string, unknown>;
  receivedAt: string;
  /** Refused for good (a nack was sent): held for contiguity, never applied. */
  refused?: { code: string; reason: string } | null;
}

interface EventRow {
  unit_id: string;
  seq: number;
  type: string;
  at: string;
  payload: string;
  received_at: string;
  refused_code: string | null;
  refused_reason: string | null;
}

function toEvent(row: EventRow): StoredEvent {
  return {
    unitId: row.unit_id,
    seq: row.seq,
    type: row.type,
    at: parseJson<StoredEvent['at']>(row.at) ?? { wall: row.received_at, mono: 0, bootId: '', clockSynchronised: false },
    payload: parseJson<Record<string, unknown>>(row.payload) ?? {},
    receivedAt: row.received_at,
    refused: row.refused_code === null ? null : { code: row.refused_code, reason: row.refused_reason ?? '' },
  };
}

export const events = {
  /** False when (unit, seq) is already held: the repeat is dropped. */
  async insert(tx: Tx, event: StoredEvent): Promise<boolean> {
    const { changes } = await tx.run(
      `INSERT INTO events (unit_id, seq, type, at, payload, received_at, refused_code, refused_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (unit_id, seq) DO NOTHING`,
      [
        event.unitId,
        event.seq,
        event.type,
        JSON.stringify(event.at),
        JSON.stringify(event.payload),
        event.receivedAt,
        event.refused?.code ?? null,
        event.refused?.reason ?? null,
      ],
    );
    if (changes === 1) {
      await tx.run(
        `UPDATE units SET next_seq = MAX(COALESCE(next_seq, 0), ?), last_event_at = ? WHERE unit_id = ?`,
        [event.seq + 1, event.receivedAt, event.unitId],
      );
    }
    return changes === 1;
  },
  /** Events after `afterSeq`, in order, stopping at the first gap: the ones that extend the contiguous prefix. */
  async contiguousAfter(q: Queryable, unitId: string, afterSeq: number, limit = 10_000): Promise<StoredEvent[]> {
    const rows = await q.all<EventRow>('SELECT * FROM events WHERE unit_id = ? AND seq > ? ORDER BY seq LIMIT ?', [
      unitId,
      afterSeq,
      limit,
    ]);
    const run: StoredEvent[] = [];
    let expected = afterSeq + 1;
    for (const row of rows) {
      if (row.seq !== expected) break;
      run.push(toEvent(row));
      expected += 1;
    }
    return run;
  },
  async recent(q: Queryable, limit: number): Promise<StoredEvent[]> {
    const rows = await q.all<EventRow>('SELECT * FROM events ORDER BY received_at DESC, seq DESC LIMIT ?', [limit]);
    return rows.map(toEvent);
  },
  async seqs(q: Queryable, unitId: string): Promise<number[]> {
    const rows = await q.all<{ seq: number }>('SELECT seq FROM events WHERE unit_id = ? ORDER BY seq', [unitId]);
    return rows.map((row) => row.seq);
  },
};

// --- commands ---------------------------------------------------------------------------

export interface StoredCommand {
  id: string;
  unitId: string;
  name: CommandName;
  args: Record<string, unknown>;
  reservationId: string | null;
  createdAt: string;
  sentAt: string | null;
  sendCount: number;
  ok: boolean | null;
  result: Record<string, unknown> | null;
  answeredAt: string | null;
}

interface CommandRow {
  n: number;
  id: string;
  unit_id: string;
  name: CommandName;
  args: string;
  reservation_id: string | null;
  created_at: string;
  sent_at: string | null;
  send_count: number;
  ok: number | null;
  result: string | null;
  answered_at: string | null;
}

function toCommand(row: CommandRow): StoredCommand {
  return {
    id: row.id,
    unitId: row.unit_id,
    name: row.name,
    args: parseJson<Record<string, unknown>>(row.args) ?? {},
    reservationId: row.reservation_id,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    sendCount: row.send_count,
    ok: row.ok === null ? null : row.ok === 1,
    result: parseJson<Record<string, unknown>>(row.result),
    answeredAt: row.answered_at,
  };
}

export const commands = {
  async insert(
    tx: Tx,
    command: { id: string; unitId: string; name: CommandName; args: object; reservationId: string | null },
    now: Date,
  ): Promise<void> {
    await tx.run(
      'INSERT INTO commands (id, unit_id, name, args, reservation_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [command.id, command.unitId, command.name, JSON.stringify(command.args), command.reservationId, now.toISOString()],
    );
  },
  async get(q: Queryable, id: string): Promise<StoredCommand | null> {
    const row = await q.get<CommandRow>('SELECT * FROM commands WHERE id = ?', [id]);
    return row ? toCommand(row) : null;
  },
  /** Not yet answered, in creation order. */
  async pending(q: Queryable, unitId: string): Promise<StoredCommand[]> {
    const rows = await q.all<CommandRow>('SELECT * FROM commands WHERE unit_id = ? AND answered_at IS NULL ORDER BY n', [unitId]);
    return rows.map(toCommand);
  },
  async markSent(q: Queryable, id: string, now: Date): Promise<void> {
    await q.run('UPDATE commands SET sent_at = ?, send_count = send_count + 1 WHERE id = ?', [now.toISOString(), id]);
  },
  /** Records the first answer; false if the command is unknown for this unit or already answered. */
  async answer(tx: Tx, unitId: string, id: string, ok: boolean, result: Record<string, unknown>, now: Date): Promise<boolean> {
    const { changes } = await tx.run(
      'UPDATE commands SET ok = ?, result = ?, answered_at = ? WHERE id = ? AND unit_id = ? AND answered_at IS NULL',
      [ok ? 1 : 0, JSON.stringify(result), now.toISOString(), id, unitId],
    );
    return changes === 1;
  },
  async recent(q: Queryable, limit: number, name?: CommandName): Promise<StoredCommand[]> {
    const rows =
      name === undefined
        ? await q.all<CommandRow>('SELECT * FROM commands ORDER BY n DESC LIMIT ?', [limit])
        : await q.all<CommandRow>('SELECT * FROM commands WHERE name = ? ORDER BY n DESC LIMIT ?', [name, limit]);
    return rows.map(toCommand);
  },
  async count(q: Queryable): Promise<number> {
    return (await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM commands'))?.n ?? 0;
  },
};
