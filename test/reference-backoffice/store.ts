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
import type { Logger } from '../../kiosk/logging.js';
import { openDatabase, type Db } from '../../kiosk/store/db.js';
import type { Migration } from '../../kiosk/store/migrations.js';
import { HELP_IGNORES_MIGRATION } from './staff-schema.js';

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

// The tables' reads and writes, one module per area; importers keep using this module.
export * from './store-units.js';
export * from './store-reservations.js';
export * from './store-log.js';
export * from './store-help.js';
