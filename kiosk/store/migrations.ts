import type { Logger } from '../logging.js';
import type { Db } from './db.js';
import { StoreError } from './errors.js';

/**
 * Forward-only schema migrations. Append a new entry for every change; never edit one that has
 * shipped, since lockers in the field have already applied it. Each runs in its own
 * transaction together with its schema_version row, so a failure leaves the previous version
 * intact. A migration that rebuilds a table must mind that foreign_keys is ON and cannot be
 * switched off inside a transaction (use PRAGMA defer_foreign_keys).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: string;
}

const V1_INITIAL = `
CREATE TABLE compartments (
  id                INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 16),
  state             TEXT NOT NULL DEFAULT 'free'
                    CHECK (state IN ('free', 'reserved', 'occupied', 'quarantined', 'disabled')),
  reservation_id    TEXT REFERENCES reservations (id),
  quarantine_reason TEXT,
  updated_at        TEXT NOT NULL,
  CHECK (state NOT IN ('reserved', 'occupied') OR reservation_id IS NOT NULL),
  CHECK (state <> 'free' OR (reservation_id IS NULL AND quarantine_reason IS NULL)),
  CHECK (state <> 'quarantined' OR quarantine_reason IS NOT NULL)
);

CREATE TABLE reservations (
  id                  TEXT PRIMARY KEY,
  code                TEXT NOT NULL UNIQUE,
  kind                TEXT NOT NULL CHECK (kind IN ('dropoff', 'pickup')),
  work_order          TEXT NOT NULL,
  plate               TEXT NOT NULL,
  plate_display       TEXT NOT NULL,
  driver_name         TEXT NOT NULL,
  phones              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(phones) AND json_type(phones) = 'array'),
  email               TEXT,
  appointment_date    TEXT NOT NULL CHECK (appointment_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  appointment_time    TEXT CHECK (appointment_time GLOB '[0-2][0-9]:[0-5][0-9]'),
  pin_hash            TEXT NOT NULL,
  status              TEXT NOT NULL
                      CHECK (status IN ('booked', 'deposited', 'retrieved', 'ready', 'collected', 'cancelled')),
  compartment_id      INTEGER REFERENCES compartments (id),
  remark              TEXT,
  payment_required    INTEGER NOT NULL DEFAULT 0 CHECK (payment_required IN (0, 1)),
  payment_status      TEXT NOT NULL DEFAULT 'none'
                      CHECK (payment_status IN ('none', 'pending', 'paid', 'cancelled', 'refunded')),
  payment_amount      INTEGER CHECK (payment_amount >= 0),
  payment_currency    TEXT,
  payment_version     INTEGER NOT NULL DEFAULT 0,
  version             INTEGER NOT NULL,
  failed_pin_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_pin_attempts >= 0),
  pin_locked_at       TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL
);
CREATE INDEX reservations_plate_date ON reservations (plate, appointment_date);
CREATE INDEX reservations_date ON reservations (appointment_date);

CREATE TABLE reservation_timeline (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  reservation_id TEXT NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
  at             TEXT NOT NULL,
  event          TEXT NOT NULL,
  detail         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX reservation_timeline_reservation ON reservation_timeline (reservation_id, id);

CREATE TABLE outbox (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  type      TEXT NOT NULL,
  payload   TEXT NOT NULL CHECK (json_valid(payload)),
  wall_time TEXT NOT NULL,
  mono_time REAL NOT NULL,
  boot_id   TEXT NOT NULL,
  acked_at  TEXT
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE acked_at IS NULL;

-- No foreign key on reservation_id: the audit trail outlives purged reservations.
CREATE TABLE audit_log (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  at             TEXT NOT NULL,
  compartment_id INTEGER,
  action         TEXT NOT NULL,
  phase          TEXT NOT NULL CHECK (phase IN ('intent', 'outcome')),
  intent_id      INTEGER REFERENCES audit_log (id),
  actor          TEXT NOT NULL,
  reservation_id TEXT,
  result         TEXT,
  detail         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
  boot_id        TEXT NOT NULL,
  CHECK (phase = 'outcome' OR intent_id IS NULL)
);
CREATE INDEX audit_log_compartment ON audit_log (compartment_id, id);
CREATE INDEX audit_log_intent ON audit_log (intent_id) WHERE intent_id IS NOT NULL;

CREATE TABLE lockouts (
  scope        TEXT PRIMARY KEY CHECK (scope = 'locker' OR scope GLOB 'reservation:?*'),
  failures     INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
  level        INTEGER NOT NULL DEFAULT 0 CHECK (level >= 0),
  locked_until TEXT
);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

const V2_HELP_CALLS = `
CREATE TABLE help_calls (
  id           TEXT PRIMARY KEY,
  session_id   TEXT NOT NULL,
  state        TEXT NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'taken', 'closed')),
  requested_at TEXT NOT NULL,
  taken_at     TEXT,
  taken_by     TEXT,
  CHECK (state = 'requested' OR taken_at IS NOT NULL)
);
CREATE INDEX help_calls_open ON help_calls (requested_at) WHERE state <> 'closed';
CREATE INDEX audit_log_reservation ON audit_log (reservation_id) WHERE reservation_id IS NOT NULL;
`;

/** A compartment opened for a journey that has not finished: what a restart must resolve. */
const V3_INFLIGHT = `
CREATE TABLE inflight (
  compartment_id INTEGER PRIMARY KEY REFERENCES compartments (id),
  reservation_id TEXT NOT NULL REFERENCES reservations (id),
  journey        TEXT NOT NULL CHECK (journey IN ('dropoff', 'pickup')),
  session_id     TEXT NOT NULL,
  at             TEXT NOT NULL
);
`;

/**
 * The back-office sync. `applied_commands`: every command id the locker has answered, with a
 * hash of its content and the result it got, so that a repeat gets the same answer and a reused
 * id with other content is refused (exactly-once as the back office sees it).
 * `mechanic_requests`: a tablet's request for a key or a compartment, kept until the mechanic
 * journey (a later issue) serves it.
 */
const V4_SYNC = `
CREATE TABLE applied_commands (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  result       TEXT NOT NULL CHECK (json_valid(result)),
  at           TEXT NOT NULL
);
CREATE INDEX applied_commands_at ON applied_commands (at);

CREATE TABLE mechanic_requests (
  request_id     TEXT PRIMARY KEY,
  command_id     TEXT NOT NULL,
  reservation_id TEXT NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
  purpose        TEXT NOT NULL CHECK (purpose IN ('retrieve', 'deposit')),
  tablet_id      TEXT NOT NULL,
  state          TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'served', 'expired', 'refused')),
  received_at    TEXT NOT NULL
);
CREATE INDEX mechanic_requests_pending ON mechanic_requests (received_at) WHERE state = 'pending';
`;

/**
 * The back-office contract, completed (docs/protocol.md): `refused_events`: events the back
 * office refused for good (nack), kept for /health and a person to look at;
 * `reservation_amount_due`: the amount a reservation's own version states (no row: it states
 * none), which every payment.status must match; `help_calls.received_at`: when the back office
 * confirmed it has the call.
 */
const V5_SYNC_CONTRACT = `
CREATE TABLE refused_events (
  seq        INTEGER PRIMARY KEY,
  type       TEXT NOT NULL,
  code       TEXT NOT NULL,
  reason     TEXT NOT NULL,
  refused_at TEXT NOT NULL
);

CREATE TABLE reservation_amount_due (
  reservation_id TEXT PRIMARY KEY REFERENCES reservations (id) ON DELETE CASCADE,
  amount         INTEGER NOT NULL CHECK (amount >= 0),
  currency       TEXT NOT NULL CHECK (length(currency) = 3)
);

ALTER TABLE help_calls ADD COLUMN received_at TEXT;
`;

/**
 * PINs and personal data (issues 8 and 13):
 * - `reservations.pin_index`: the hash part of a unit hash (core/pin.ts), so a typed PIN is
 *   found with one scrypt and one indexed lookup; NULL for a legacy hash (salted per
 *   reservation), which is checked the slow way;
 * - `reservations.purged_at`: when the retention sweep removed the personal data;
 * - `lockouts.updated_at`: when the count last changed, so the locker-wide count decays with time.
 */
const V6_PIN_INDEX_RETENTION = `
ALTER TABLE reservations ADD COLUMN pin_index TEXT;
ALTER TABLE reservations ADD COLUMN purged_at TEXT;
CREATE INDEX reservations_pin_index ON reservations (pin_index) WHERE pin_index IS NOT NULL;
ALTER TABLE lockouts ADD COLUMN updated_at TEXT;
`;

/**
 * The mechanic journey (issue 10): `mechanic_tokens` holds every QR token's nonce from the
 * moment it is shown; `used_at` is set in the transaction that writes the door's intent, so a
 * token opens at most one door, across restarts.
 */
const V7_MECHANIC_TOKENS = `
CREATE TABLE mechanic_tokens (
  nonce       TEXT PRIMARY KEY,
  request_id  TEXT NOT NULL REFERENCES mechanic_requests (request_id) ON DELETE CASCADE,
  tablet_id   TEXT NOT NULL,
  boot_id     TEXT NOT NULL,
  issued_mono INTEGER NOT NULL,
  issued_at   TEXT NOT NULL,
  used_at     TEXT
);
CREATE INDEX mechanic_tokens_request ON mechanic_tokens (request_id);
`;

/**
 * Paying at the locker (issue 12): a payment's state as the provider reports it (payment.status
 * may say requested, authorised, failed, expired... while `reservations.payment_status` keeps
 * the five states the pickup gate decides on) and the payment page's link for the top screen's
 * QR. One row per reservation, replaced by each applied payment version.
 */
const V8_PAYMENT_DETAILS = `
CREATE TABLE payment_details (
  reservation_id TEXT PRIMARY KEY REFERENCES reservations (id) ON DELETE CASCADE,
  state          TEXT NOT NULL
                 CHECK (state IN ('pending', 'requested', 'authorised', 'paid', 'failed', 'cancelled', 'refunded', 'expired')),
  link           TEXT,
  method         TEXT,
  receipt_channel TEXT CHECK (receipt_channel IN ('sms', 'email', 'qr')),
  version        INTEGER NOT NULL,
  updated_at     TEXT NOT NULL
);
`;

/**
 * Opening from the customer's phone link (reservation.remote-open): each link's nonce opens once.
 * Written in the same transaction as the open's intent, so a replay after a crash or a resent
 * command with another id finds it.
 */
const V9_LINK_OPEN_NONCES = `
CREATE TABLE link_open_nonces (
  nonce          TEXT PRIMARY KEY,
  reservation_id TEXT NOT NULL,
  used_at        TEXT NOT NULL
);
`;

/**
 * A door opened from the customer's phone link, waiting to close (then the pickup is recorded,
 * key.collected unconfirmed). Written in the same transaction as the open's intent, so a
 * restart while the door is open still records the pickup when the door is found closed.
 */
const V10_LINK_OPEN_AWAITING = `
CREATE TABLE link_open_awaiting (
  compartment_id INTEGER PRIMARY KEY,
  reservation_id TEXT NOT NULL,
  seen_open      INTEGER NOT NULL DEFAULT 0 CHECK (seen_open IN (0, 1)),
  since          TEXT NOT NULL
);
`;

/**
 * A typed PIN's candidates without reading every reservation (issue 13): the rows with a legacy
 * hash (no pin_index) that a PIN could open, by kind, status and date, so the legacy half of
 * reservations.pinCandidates is a search too. Rows with a unit hash are found by
 * reservations_pin_index; purged rows (pin_hash '') are in neither.
 */
const V11_LEGACY_PIN_CANDIDATES = `
CREATE INDEX reservations_legacy_pin ON reservations (kind, status, appointment_date) WHERE pin_index IS NULL AND pin_hash <> '';
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', up: V1_INITIAL },
  { version: 2, name: 'help calls; audit by reservation', up: V2_HELP_CALLS },
  { version: 3, name: 'in-flight journeys', up: V3_INFLIGHT },
  { version: 4, name: 'sync: applied commands, mechanic requests', up: V4_SYNC },
  { version: 5, name: 'sync: refused events, amount due, help calls received', up: V5_SYNC_CONTRACT },
  { version: 6, name: 'PIN index, lockout decay, personal data retention', up: V6_PIN_INDEX_RETENTION },
  { version: 7, name: 'mechanic tokens (single-use nonces)', up: V7_MECHANIC_TOKENS },
  { version: 8, name: 'payment details (provider state, payment link)', up: V8_PAYMENT_DETAILS },
  { version: 9, name: 'phone-link open nonces (single use)', up: V9_LINK_OPEN_NONCES },
  { version: 10, name: 'phone-link opens waiting for their door to close', up: V10_LINK_OPEN_AWAITING },
  { version: 11, name: 'PIN candidates with a legacy hash found by index', up: V11_LEGACY_PIN_CANDIDATES },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrateOptions {
  migrations?: readonly Migration[];
  logger?: Logger;
}

export interface MigrateResult {
  from: number;
  to: number;
}

/** The schema version recorded in the database; 0 for a database never migrated. */
export async function schemaVersion(db: Db): Promise<number> {
  const table = await db.get<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
  );
  if (!table) return 0;
  const row = await db.get<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_version');
  return row?.version ?? 0;
}

/** Brings the database from whatever version it has up to the last migration given. */
export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  assertWellFormed(migrations);
  const latest = migrations.length;
  await db.exec(`
    CREATE TABLE IF NOT EXISTS schema_version (
      version    INTEGER PRIMARY KEY,
      name       TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
  const from = await schemaVersion(db);
  if (from > latest) {
    throw new StoreError(
      'SCHEMA_TOO_NEW',
      `database ${db.path} has schema version ${from} but this software only knows up to ${latest}: ` +
        'it was written by a newer release; update the software or restore a backup (downgrades are not supported)',
    );
  }
  for (const migration of migrations.slice(from)) {
    await db.transaction(async (tx) => {
      await tx.exec(migration.up);
      await tx.run('INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
    });
    options.logger?.info({ version: migration.version, name: migration.name }, 'schema migrated');
  }
  return { from, to: latest };
}

function assertWellFormed(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new StoreError(
        'MIGRATIONS_INVALID',
        `migration "${migration.name}" has version ${migration.version}, expected ${index + 1}: versions must run 1, 2, 3... without gaps`,
      );
    }
  });
}
