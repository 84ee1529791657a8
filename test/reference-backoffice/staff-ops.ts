/**
 * The staff's side of the locker (issue 10), beside service.ts so each stays readable:
 * - the compartment view of each unit (compartment-view.ts), with what each tile holds (the
 *   order and plate from the master copy) and the answer to the last staff action on it;
 * - remote open with a reason (`compartment.remote-open`; the locker audits and throttles it);
 * - alarms the lockers raised (`alarm.*` events, e.g. alarm.remote-open-throttled);
 * - help calls ignored per staff member: "Ignore" hides a call for that person only. It is
 *   recorded here, per staff name, and sent to no locker: the locker's screens show one state
 *   per call (waiting, taken), and one person ignoring it changes neither, so the protocol needs
 *   no message for it (docs/protocol.md, "Help calls").
 *
 * Staff are named by what they type on the page (kept in the browser's localStorage): the
 * reference back office has no staff login (http.ts).
 */
import { z } from 'zod';
import type { Db, Queryable, Tx } from '../../kiosk/store/db.js';
import type { Logger } from '../../kiosk/logging.js';
import { foldCompartments, type CompartmentTile } from './compartment-view.js';
import { BackOfficeError, bad } from './errors.js';
import { parse } from './staff-input.js';
import { commands, helpCalls, reservations, units, type StoredCommand, type StoredEvent } from './store.js';
import type { NewCommand } from './service.js';

const staffName = z.string().trim().min(1, 'type your name on the page first').max(60);
export const remoteOpenSchema = z.strictObject({
  reason: z.string().trim().min(1, 'say why the compartment must be opened').max(500),
  by: staffName,
});
export const ignoreSchema = z.strictObject({ staff: staffName, unitId: z.string().min(1).max(100).optional() });

/** One compartment as the staff page shows it. */
export interface StaffTile extends CompartmentTile {
  /** The order whose key is (or is to be) in it, from the master copy; null when none is known. */
  holder: { reservationId: string; code: string; kind: string; workOrder: string; plateDisplay: string; status: string } | null;
  /** The newest staff action on it (remote open, clear quarantine) and the locker's answer. */
  lastAction: { name: string; createdAt: string; answered: boolean; ok: boolean | null; summary: string } | null;
}

export interface StaffUnitView {
  unitId: string;
  linkState: string;
  tiles: StaffTile[];
  /** Alarms the locker raised, newest first (the last 20). */
  alarms: { seq: number; type: string; at: string; compartment: number | null; by: string | null; detail: string }[];
}

export interface StaffOpsView {
  units: StaffUnitView[];
  /** Help calls each staff member chose to ignore: the page hides those for that name. */
  ignoredHelp: { unitId: string; callId: string; staff: string }[];
}

export interface StaffOpsOptions {
  db: Db;
  logger: Logger;
  now: () => Date;
  /** service.ts's command queue (checked against the protocol schema, stored with the change). */
  queue: (tx: Tx, command: NewCommand, now: Date) => Promise<string>;
  /** After the commit: send to the unit and push the pages. */
  committed: (unitId: string) => void;
  changed: () => void;
}

export class StaffOps {
  readonly #o: StaffOpsOptions;

  constructor(options: StaffOpsOptions) {
    this.#o = options;
  }

  /** Sends `compartment.remote-open`; the locker's result and events say what happened. */
  async remoteOpen(unitId: string, compartment: number, input: unknown): Promise<{ commandId: string }> {
    const { reason, by } = parse(remoteOpenSchema, input);
    if (!Number.isInteger(compartment) || compartment < 1 || compartment > 16) throw bad('compartment', 'is a compartment number 1-16');
    const now = this.#o.now();
    const commandId = await this.#o.db.transaction(async (tx) => {
      if (!(await units.get(tx, unitId))) throw bad('unitId', 'is not a registered unit');
      return this.#o.queue(tx, { unitId, name: 'compartment.remote-open', args: { compartment, reason, by }, reservationId: null }, now);
    });
    this.#o.logger.info({ unitId, compartment }, 'remote open sent');
    this.#o.committed(unitId);
    return { commandId };
  }

  /** Hides a help call for one staff member; the others still see it, the locker is not told. */
  async ignoreHelp(callId: string, input: unknown): Promise<{ ignored: true }> {
    const { staff, unitId } = parse(ignoreSchema, input);
    const now = this.#o.now();
    await this.#o.db.transaction(async (tx) => {
      const call = unitId === undefined ? await helpCalls.findById(tx, callId) : await helpCalls.get(tx, unitId, callId);
      if (!call) throw new BackOfficeError('NOT_FOUND', 'no such help call');
      if (call.state !== 'open') throw new BackOfficeError('CONFLICT', `the help call is already ${call.state}`);
      await tx.run('INSERT INTO help_call_ignores (unit_id, call_id, staff_name, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [call.unitId, callId, staff, now.toISOString()]);
    });
    this.#o.changed();
    return { ignored: true };
  }

  /** What the staff page adds to its state: compartments, alarms, ignored help calls. */
  async view(q: Queryable = this.#o.db): Promise<StaffOpsView> {
    const unitRows = await units.list(q);
    const views: StaffUnitView[] = [];
    for (const unit of unitRows) {
      const since = unit.lastHello?.outbox.nextSeq ?? Number.MAX_SAFE_INTEGER;
      const events = await eventsSince(q, unit.unitId, since);
      const tiles = foldCompartments(unit.lastHello, events);
      const actions = await recentActions(q, unit.unitId);
      const staffTiles: StaffTile[] = [];
      for (const tile of tiles) {
        const r = tile.reservationId ? await reservations.get(q, tile.reservationId) : null;
        const action = actions.find((c) => (c.args as { compartment?: unknown }).compartment === tile.id) ?? null;
        staffTiles.push({
          ...tile,
          holder: r ? { reservationId: r.id, code: r.code, kind: r.kind, workOrder: r.workOrder, plateDisplay: r.plateDisplay, status: r.status } : null,
          lastAction: action ? actionView(action) : null,
        });
      }
      views.push({ unitId: unit.unitId, linkState: unit.linkState, tiles: staffTiles, alarms: await alarms(q, unit.unitId) });
    }
    const ignored = await q.all<{ unit_id: string; call_id: string; staff_name: string }>(
      "SELECT i.unit_id, i.call_id, i.staff_name FROM help_call_ignores i JOIN help_calls c ON c.unit_id = i.unit_id AND c.call_id = i.call_id WHERE c.state = 'open'",
    );
    return { units: views, ignoredHelp: ignored.map((row) => ({ unitId: row.unit_id, callId: row.call_id, staff: row.staff_name })) };
  }
}

async function eventsSince(q: Queryable, unitId: string, seq: number): Promise<StoredEvent[]> {
  const rows = await q.all<{ seq: number; type: string; at: string; payload: string; received_at: string; refused_code: string | null }>(
    `SELECT seq, type, at, payload, received_at, refused_code FROM events WHERE unit_id = ? AND seq >= ? AND refused_code IS NULL ORDER BY seq LIMIT 5000`,
    [unitId, seq],
  );
  return rows.map((row) => ({ unitId, seq: row.seq, type: row.type, at: JSON.parse(row.at) as StoredEvent['at'], payload: JSON.parse(row.payload) as Record<string, unknown>, receivedAt: row.received_at }));
}

async function recentActions(q: Queryable, unitId: string): Promise<StoredCommand[]> {
  const recent = [...(await commands.recent(q, 50, 'compartment.remote-open')), ...(await commands.recent(q, 50, 'compartment.clear-quarantine'))];
  return recent.filter((c) => c.unitId === unitId).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

function actionView(c: StoredCommand): NonNullable<StaffTile['lastAction']> {
  const verb = c.name === 'compartment.remote-open' ? 'Open' : 'Clear quarantine';
  const r = c.result ?? {};
  let summary: string;
  if (c.answeredAt === null) summary = `${verb}: sent, waiting for the locker`;
  else if (c.ok === false) {
    const error = (r as { error?: { code?: unknown; message?: unknown } }).error;
    summary = `${verb} refused: ${String(error?.message ?? error?.code ?? 'error')}`;
  }
  else if (r.accepted === false) summary = `${verb} refused: ${REFUSALS[String(r.reason)] ?? String(r.reason)}${typeof r.retryAfterS === 'number' ? ` (try again in ${r.retryAfterS} s)` : ''}`;
  else summary = c.name === 'compartment.remote-open' ? 'Opened from the back office' : `Quarantine cleared: ${String(r.state ?? '')}`;
  return { name: c.name, createdAt: c.createdAt, answered: c.answeredAt !== null, ok: c.ok === null ? null : c.ok && r.accepted !== false, summary };
}

const REFUSALS: Record<string, string> = {
  IN_JOURNEY: 'a customer is using this compartment right now',
  BOARD_OFFLINE: 'its lock board does not answer',
  THROTTLED: 'too many remote opens in a minute at this locker',
};

async function alarms(q: Queryable, unitId: string): Promise<StaffUnitView['alarms']> {
  const rows = await q.all<{ seq: number; type: string; payload: string; received_at: string }>(
    "SELECT seq, type, payload, received_at FROM events WHERE unit_id = ? AND type LIKE 'alarm.%' ORDER BY seq DESC LIMIT 20",
    [unitId],
  );
  return rows.map((row) => {
    const p = JSON.parse(row.payload) as Record<string, unknown>;
    const detail =
      row.type === 'alarm.remote-open-throttled'
        ? `More than ${String(p.limit)} remote opens in ${String(p.windowS)} s: compartment ${String(p.compartment)} was not opened`
        : row.type;
    return { seq: row.seq, type: row.type, at: row.received_at, compartment: typeof p.compartment === 'number' ? p.compartment : null, by: typeof p.by === 'string' ? p.by : null, detail };
  });
}
