/**
 * The reference back office's own SQLite file (`<dataDir>/backoffice.db`), separate from any
 * locker's: its own forward-only migrations through the same `openDatabase` wrapper.
 *
 * - units: the lockers it knows (public key, link state, how far their events are acknowledged)
 * - reservations: the master copy a dealer system would hold, with its timeline
 * - events: every locker event once, keyed by (unit_id, seq); repeats are dropped
 * - commands: every command with its result; unanswered ones are (re)sent when the unit is online
 * - help_calls: calls from the locker's screens, taken and closed by staff
 * - used_tokens: the JWT ids lockers connected with, until each token expires (single use)
 * - units.lockout_until: the locker-wide PIN back-off the unit last reported (lockout events)
 *
 * Reads take a Db or a Tx (`Queryable`); writes take a Tx so a change and its timeline line,
 * or an event and its effect, commit together.
 */
import type { JWK } from 'jose';
import type { Logger } from '../../kiosk/logging.js';
import { openDatabase, type Db, type Queryable, type Tx } from '../../kiosk/store/db.js';
import type { Migration } from '../../kiosk/store/migrations.js';
import { HELP_IGNORES_MIGRATION } from './staff-schema.js';
import type { CommandName, HelloMessage } from '../../kiosk/sync/messages.js';

export const BACKOFFICE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'back office: units, reservations, timeline, events, commands, help calls',
    up: `
CREATE TABLE units (
  unit_id        TEXT PRIMARY KEY,
  public_key_jwk TEXT NOT NULL CHECK (json_valid(public_key_jwk)),
  acked_seq      INTEGER NOT NULL DEFAULT 0 CHECK (acked_seq >= 0),
  next_seq       INTEGER,
  last_seen      TEXT,
  last_event_at  TEXT,
  link_state     TEXT NOT NULL DEFAULT 'never' CHECK (link_state IN ('never', 'online', 'offline')),
  last_hello     TEXT CHECK (last_hello IS NULL OR json_valid(last_hello)),
  registered_at  TEXT NOT NULL
);

CREATE TABLE reservations (
  id               TEXT PRIMARY KEY,
  unit_id          TEXT NOT NULL REFERENCES units (unit_id),
  code             TEXT NOT NULL UNIQUE,
  kind             TEXT NOT NULL CHECK (kind IN ('dropoff', 'pickup')),
  work_order       TEXT NOT NULL,
  plate            TEXT NOT NULL,
  plate_display    TEXT NOT NULL,
  driver_name      TEXT NOT NULL,
  phones           TEXT NOT NULL CHECK (json_valid(phones) AND json_type(phones) = 'array'),
  email            TEXT,
  appointment_date TEXT NOT NULL CHECK (appointment_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  appointment_time TEXT CHECK (appointment_time GLOB '[0-2][0-9]:[0-5][0-9]'),
  pin              TEXT NOT NULL,
  pin_hash         TEXT NOT NULL,
  status           TEXT NOT NULL
                   CHECK (status IN ('booked', 'deposited', 'retrieved', 'ready', 'collected', 'cancelled')),
  compartment_id   INTEGER CHECK (compartment_id BETWEEN 1 AND 16),
  remark           TEXT,
  added_phone      TEXT,
  pin_locked       INTEGER NOT NULL DEFAULT 0 CHECK (pin_locked IN (0, 1)),
  payment_required INTEGER NOT NULL DEFAULT 0 CHECK (payment_required IN (0, 1)),
  payment_status   TEXT NOT NULL DEFAULT 'none'
                   CHECK (payment_status IN ('none', 'pending', 'paid', 'cancelled', 'refunded')),
  payment_amount   INTEGER CHECK (payment_amount >= 0),
  payment_currency TEXT,
  payment_version  INTEGER NOT NULL DEFAULT 0,
  version          INTEGER NOT NULL CHECK (version >= 1),
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL
);
CREATE INDEX reservations_unit_date ON reservations (unit_id, appointment_date);

CREATE TABLE timeline (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  reservation_id TEXT NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
  at             TEXT NOT NULL,
  event          TEXT NOT NULL,
  detail         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX timeline_reservation ON timeline (reservation_id, id);

CREATE TABLE events (
  unit_id     TEXT NOT NULL REFERENCES units (unit_id),
  seq         INTEGER NOT NULL CHECK (seq >= 1),
  type        TEXT NOT NULL,
  at          TEXT NOT NULL CHECK (json_valid(at)),
  payload     TEXT NOT NULL CHECK (json_valid(payload)),
  received_at TEXT NOT NULL,
  PRIMARY KEY (unit_id, seq)
);

CREATE TABLE commands (
  n              INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  unit_id        TEXT NOT NULL REFERENCES units (unit_id),
  name           TEXT NOT NULL,
  args           TEXT NOT NULL CHECK (json_valid(args)),
  reservation_id TEXT,
  created_at     TEXT NOT NULL,
  sent_at        TEXT,
  send_count     INTEGER NOT NULL DEFAULT 0,
  ok             INTEGER CHECK (ok IN (0, 1)),
  result         TEXT CHECK (result IS NULL OR json_valid(result)),
  answered_at    TEXT
);
CREATE INDEX commands_pending ON commands (unit_id, answered_at, n);

CREATE TABLE help_calls (
  call_id     TEXT NOT NULL,
  unit_id     TEXT NOT NULL REFERENCES units (unit_id),
  step        TEXT,
  journey     TEXT,
  compartment INTEGER,
  state       TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'taken', 'closed')),
  taken_by    TEXT,
  event_seq   INTEGER NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (unit_id, call_id)
);
`,
  },
  {
    version: 2,
    name: 'back office: refused events, the inventory each unit holds as last paged',
    up: `
ALTER TABLE events ADD COLUMN refused_code TEXT;
ALTER TABLE events ADD COLUMN refused_reason TEXT;

CREATE TABLE unit_inventory (
  unit_id         TEXT NOT NULL REFERENCES units (unit_id),
  reservation_id  TEXT NOT NULL,
  version         INTEGER NOT NULL,
  payment_version INTEGER NOT NULL,
  status          TEXT NOT NULL,
  PRIMARY KEY (unit_id, reservation_id)
);
-- inventory_known: a complete paging has filled unit_inventory (and commands since kept it current).
ALTER TABLE units ADD COLUMN inventory_known INTEGER NOT NULL DEFAULT 0 CHECK (inventory_known IN (0, 1));
`,
  },
  {
    version: 3,
    name: 'back office: single-use token ids, the locker-wide PIN lockout per unit',
    up: `
CREATE TABLE used_tokens (
  jti        TEXT PRIMARY KEY,
  unit_id    TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX used_tokens_expiry ON used_tokens (expires_at);
ALTER TABLE units ADD COLUMN lockout_until TEXT;
`,
  },
  {
    version: 4,
    name: 'back office: mechanic tablets as known devices (tablets.ts)',
    up: `
CREATE TABLE tablets (
  tablet_id       TEXT PRIMARY KEY,
  name            TEXT NOT NULL,
  credential_hash TEXT NOT NULL UNIQUE,
  enrolled_at     TEXT NOT NULL,
  revoked_at      TEXT
);
CREATE TABLE tablet_enrolment_codes (
  code_hash  TEXT PRIMARY KEY,
  expires_at TEXT NOT NULL,
  used_at    TEXT
);
`,
  },
  { version: 5, name: 'back office: help calls ignored per staff member (staff-ops.ts)', up: HELP_IGNORES_MIGRATION },
];

export async function openBackOfficeDatabase(path: string, logger: Logger): Promise<Db> {
  return openDatabase(path, logger, { migrations: BACKOFFICE_MIGRATIONS });
}

function parseJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

// --- units ------------------------------------------------------------------------------

export type LinkState = 'never' | 'online' | 'offline';

export interface Unit {
  unitId: string;
  publicKeyJwk: JWK;
  ackedSeq: number;
  /** The next sequence number the locker will use, as last known (hello, or the latest event + 1). */
  nextSeq: number | null;
  lastSeen: string | null;
  lastEventAt: string | null;
  linkState: LinkState;
  lastHello: HelloMessage | null;
  registeredAt: string;
  /** The locker-wide PIN back-off the unit reported (its clock), until it reports the end; null: none. */
  lockoutUntil: string | null;
}

interface UnitRow {
  unit_id: string;
  public_key_jwk: string;
  acked_seq: number;
  next_seq: number | null;
  last_seen: string | null;
  last_event_at: string | null;
  link_state: LinkState;
  last_hello: string | null;
  registered_at: string;
  lockout_until: string | null;
}

function toUnit(row: UnitRow): Unit {
  return {
    unitId: row.unit_id,
    publicKeyJwk: parseJson<JWK>(row.public_key_jwk) ?? {},
    ackedSeq: row.acked_seq,
    nextSeq: row.next_seq,
    lastSeen: row.last_seen,
    lastEventAt: row.last_event_at,
    linkState: row.link_state,
    lastHello: parseJson<HelloMessage>(row.last_hello),
    registeredAt: row.registered_at,
    lockoutUntil: row.lockout_until,
  };
}

export const units = {
  async register(tx: Tx, unitId: string, jwk: JWK, now: Date): Promise<void> {
    await tx.run(
      `INSERT INTO units (unit_id, public_key_jwk, registered_at) VALUES (?, ?, ?)
       ON CONFLICT (unit_id) DO UPDATE SET public_key_jwk = excluded.public_key_jwk`,
      [unitId, JSON.stringify(jwk), now.toISOString()],
    );
  },
  async get(q: Queryable, unitId: string): Promise<Unit | null> {
    const row = await q.get<UnitRow>('SELECT * FROM units WHERE unit_id = ?', [unitId]);
    return row ? toUnit(row) : null;
  },
  async list(q: Queryable): Promise<Unit[]> {
    return (await q.all<UnitRow>('SELECT * FROM units ORDER BY unit_id')).map(toUnit);
  },
  async markOnline(tx: Tx, unitId: string, hello: HelloMessage, now: Date): Promise<void> {
    await tx.run(
      `UPDATE units SET link_state = 'online', last_seen = ?, last_hello = ?,
         next_seq = MAX(COALESCE(next_seq, 0), ?) WHERE unit_id = ?`,
      [now.toISOString(), JSON.stringify(hello), hello.outbox.nextSeq, unitId],
    );
  },
  async setAckedSeq(tx: Tx, unitId: string, ackedSeq: number): Promise<void> {
    await tx.run('UPDATE units SET acked_seq = ? WHERE unit_id = ?', [ackedSeq, unitId]);
  },
  async markOffline(q: Queryable, unitId: string, now: Date): Promise<void> {
    await q.run("UPDATE units SET link_state = 'offline', last_seen = ? WHERE unit_id = ? AND link_state = 'online'", [
      now.toISOString(),
      unitId,
    ]);
  },
  /** At start: nobody is connected yet, whatever the last run left behind. */
  async markAllOffline(q: Queryable): Promise<void> {
    await q.run("UPDATE units SET link_state = 'offline' WHERE link_state = 'online'");
  },
  async touch(q: Queryable, unitId: string, now: Date): Promise<void> {
    await q.run('UPDATE units SET last_seen = ? WHERE unit_id = ?', [now.toISOString(), unitId]);
  },
  /**
   * A compartment's state changed by an event (quarantined, cleared): kept in the last hello's
   * list so the staff page shows it without waiting for the next connection.
   */
  async setCompartmentState(tx: Tx, unitId: string, compartment: number, state: HelloMessage['compartments'][number]['state'], reservationId: string | null): Promise<void> {
    const row = await tx.get<{ last_hello: string | null }>('SELECT last_hello FROM units WHERE unit_id = ?', [unitId]);
    const hello = parseJson<HelloMessage>(row?.last_hello ?? null);
    if (!hello) return;
    const compartments = hello.compartments.map((c) => (c.id === compartment ? { ...c, state, reservationId } : c));
    await tx.run('UPDATE units SET last_hello = ? WHERE unit_id = ?', [JSON.stringify({ ...hello, compartments }), unitId]);
  },
  async setLockout(tx: Tx, unitId: string, until: string | null): Promise<void> {
    await tx.run('UPDATE units SET lockout_until = ? WHERE unit_id = ?', [until, unitId]);
  },
};

export const tokens = {
  /**
   * Records a token id as used; false when it was used before (a replay). Ids of expired
   * tokens are forgotten: such a token is refused for its age anyway.
   */
  async use(tx: Tx, jti: string, unitId: string, expiresAt: Date, now: Date): Promise<boolean> {
    await tx.run('DELETE FROM used_tokens WHERE expires_at < ?', [now.toISOString()]);
    const { changes } = await tx.run('INSERT INTO used_tokens (jti, unit_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING', [
      jti,
      unitId,
      expiresAt.toISOString(),
    ]);
    return changes === 1;
  },
};

// --- reservations (master copy) ---------------------------------------------------------

export type ReservationStatus = 'booked' | 'deposited' | 'retrieved' | 'ready' | 'collected' | 'cancelled';
export type PaymentStatus = 'none' | 'pending' | 'paid' | 'cancelled' | 'refunded';

export interface MasterReservation {
  id: string;
  unitId: string;
  code: string;
  kind: 'dropoff' | 'pickup';
  workOrder: string;
  plate: string;
  plateDisplay: string;
  driverName: string;
  phones: string[];
  email: string | null;
  appointmentDate: string;
  appointmentTime: string | null;
  /** The plain PIN: kept only so the demo staff page can show it. Never logged, never sent. */
  pin: string;
  pinHash: string;
  status: ReservationStatus;
  compartmentId: number | null;
  remark: string | null;
  /** A phone number the customer added at the locker when dropping off. */
  addedPhone: string | null;
  /** The locker reported too many wrong PINs; staff reset it. */
  pinLocked: boolean;
  paymentRequired: boolean;
  paymentStatus: PaymentStatus;
  paymentAmount: number | null;
  paymentCurrency: string | null;
  paymentVersion: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface ReservationRow {
  id: string;
  unit_id: string;
  code: string;
  kind: 'dropoff' | 'pickup';
  work_order: string;
  plate: string;
  plate_display: string;
  driver_name: string;
  phones: string;
  email: string | null;
  appointment_date: string;
  appointment_time: string | null;
  pin: string;
  pin_hash: string;
  status: ReservationStatus;
  compartment_id: number | null;
  remark: string | null;
  added_phone: string | null;
  pin_locked: number;
  payment_required: number;
  payment_status: PaymentStatus;
  payment_amount: number | null;
  payment_currency: string | null;
  payment_version: number;
  version: number;
  created_at: string;
  updated_at: string;
}

function toReservation(row: ReservationRow): MasterReservation {
  return {
    id: row.id,
    unitId: row.unit_id,
    code: row.code,
    kind: row.kind,
    workOrder: row.work_order,
    plate: row.plate,
    plateDisplay: row.plate_display,
    driverName: row.driver_name,
    phones: parseJson<string[]>(row.phones) ?? [],
    email: row.email,
    appointmentDate: row.appointment_date,
    appointmentTime: row.appointment_time,
    pin: row.pin,
    pinHash: row.pin_hash,
    status: row.status,
    compartmentId: row.compartment_id,
    remark: row.remark,
    addedPhone: row.added_phone,
    pinLocked: row.pin_locked === 1,
    paymentRequired: row.payment_required === 1,
    paymentStatus: row.payment_status,
    paymentAmount: row.payment_amount,
    paymentCurrency: row.payment_currency,
    paymentVersion: row.payment_version,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const reservations = {
  async insert(tx: Tx, r: MasterReservation): Promise<void> {
    await tx.run(
      `INSERT INTO reservations (id, unit_id, code, kind, work_order, plate, plate_display, driver_name, phones, email,
         appointment_date, appointment_time, pin, pin_hash, status, compartment_id, remark, added_phone, pin_locked,
         payment_required, payment_status, payment_amount, payment_currency, payment_version, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.id, r.unitId, r.code, r.kind, r.workOrder, r.plate, r.plateDisplay, r.driverName, JSON.stringify(r.phones), r.email,
        r.appointmentDate, r.appointmentTime, r.pin, r.pinHash, r.status, r.compartmentId, r.remark, r.addedPhone, r.pinLocked ? 1 : 0,
        r.paymentRequired ? 1 : 0, r.paymentStatus, r.paymentAmount, r.paymentCurrency, r.paymentVersion, r.version, r.createdAt, r.updatedAt,
      ],
    );
  },
  /** Writes every mutable field of `r` back (the caller read it in the same transaction). */
  async update(tx: Tx, r: MasterReservation): Promise<void> {
    await tx.run(
      `UPDATE reservations SET work_order = ?, plate = ?, plate_display = ?, driver_name = ?, phones = ?, email = ?,
         appointment_date = ?, appointment_time = ?, status = ?, compartment_id = ?, remark = ?, added_phone = ?,
         pin_locked = ?, payment_required = ?, payment_status = ?, payment_amount = ?, payment_currency = ?,
         payment_version = ?, version = ?, updated_at = ?
       WHERE id = ?`,
      [
        r.workOrder, r.plate, r.plateDisplay, r.driverName, JSON.stringify(r.phones), r.email,
        r.appointmentDate, r.appointmentTime, r.status, r.compartmentId, r.remark, r.addedPhone,
        r.pinLocked ? 1 : 0, r.paymentRequired ? 1 : 0, r.paymentStatus, r.paymentAmount, r.paymentCurrency,
        r.paymentVersion, r.version, r.updatedAt, r.id,
      ],
    );
  },
  async setPinHash(tx: Tx, id: string, pinHash: string): Promise<void> {
    await tx.run('UPDATE reservations SET pin_hash = ? WHERE id = ?', [pinHash, id]);
  },
  async get(q: Queryable, id: string): Promise<MasterReservation | null> {
    const row = await q.get<ReservationRow>('SELECT * FROM reservations WHERE id = ?', [id]);
    return row ? toReservation(row) : null;
  },
  async codeExists(q: Queryable, code: string): Promise<boolean> {
    return (await q.get('SELECT 1 AS one FROM reservations WHERE code = ?', [code])) !== undefined;
  },
  /**
   * Whether another active reservation (booked or ready: its PIN can still open a door) of the
   * unit has this PIN. The protocol asks a back office to keep PINs unique among those.
   */
  async activePinTaken(q: Queryable, unitId: string, pin: string, exceptId: string | null = null): Promise<boolean> {
    const row = await q.get(
      "SELECT 1 AS one FROM reservations WHERE unit_id = ? AND pin = ? AND status IN ('booked', 'ready') AND id IS NOT ? LIMIT 1",
      [unitId, pin, exceptId],
    );
    return row !== undefined;
  },
  /** Ids of the unit's reservations the locker reported locked after wrong PINs. */
  async pinLocked(q: Queryable, unitId: string): Promise<string[]> {
    const rows = await q.all<{ id: string }>('SELECT id FROM reservations WHERE unit_id = ? AND pin_locked = 1 ORDER BY id', [unitId]);
    return rows.map((row) => row.id);
  },
  /** A date's reservations (and any still open from earlier days), appointment order. */
  async listForDay(q: Queryable, date: string): Promise<MasterReservation[]> {
    const rows = await q.all<ReservationRow>(
      `SELECT * FROM reservations
       WHERE appointment_date = ? OR (appointment_date < ? AND status IN ('deposited', 'ready'))
       ORDER BY appointment_date, COALESCE(appointment_time, '99:99'), kind, code`,
      [date, date],
    );
    return rows.map(toReservation);
  },
  /** Reservations the locker should hold: not finished, from `fromDate` on. */
  async listLive(q: Queryable, unitId: string, fromDate: string): Promise<MasterReservation[]> {
    const rows = await q.all<ReservationRow>(
      `SELECT * FROM reservations WHERE unit_id = ? AND status IN ('booked', 'deposited', 'ready')
         AND (appointment_date >= ? OR status IN ('deposited', 'ready'))
       ORDER BY created_at, id`,
      [unitId, fromDate],
    );
    return rows.map(toReservation);
  },
  async count(q: Queryable): Promise<number> {
    return (await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM reservations'))?.n ?? 0;
  },
};

// --- timeline ---------------------------------------------------------------------------

export interface TimelineEntry {
  at: string;
  event: string;
  detail: Record<string, unknown>;
}

export const timeline = {
  async add(tx: Tx, reservationId: string, event: string, detail: Record<string, unknown>, at: Date | string): Promise<void> {
    await tx.run('INSERT INTO timeline (reservation_id, at, event, detail) VALUES (?, ?, ?, ?)', [
      reservationId,
      typeof at === 'string' ? at : at.toISOString(),
      event,
      JSON.stringify(detail),
    ]);
  },
  async forReservations(q: Queryable, ids: readonly string[]): Promise<Map<string, TimelineEntry[]>> {
    const result = new Map<string, TimelineEntry[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return result;
    const rows = await q.all<{ reservation_id: string; at: string; event: string; detail: string }>(
      `SELECT reservation_id, at, event, detail FROM timeline
       WHERE reservation_id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`,
      ids,
    );
    for (const row of rows) {
      result.get(row.reservation_id)?.push({
        at: row.at,
        event: row.event,
        detail: parseJson<Record<string, unknown>>(row.detail) ?? {},
      });
    }
    return result;
  },
};

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
