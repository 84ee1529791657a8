import type { PinCandidate, Reservation, ReservationKind } from '../core/types.js';
import type { Queryable, SqlValue, Tx } from './db.js';
import { ALL_COLUMNS, BOOKING_COLUMNS, rowValues, toParams, toReservation, type ReservationRow } from './reservation-rows.js';

/**
 * Reservations. Two kinds of writer touch a reservation, so there are two kinds of write:
 * - `upsert` carries the back office's booking (who, what car, when, PIN, amount due), gated
 *   by the back office's `version`;
 * - `update` and `addPhone` carry what happens at the locker (status, compartment, remark,
 *   payment state, PIN failures). An upsert of an existing row never touches these, so a
 *   booking change arriving while a key is being deposited cannot undo the deposit.
 * Plates and phones are matched as given: normalise them first (core/normalise.ts).
 */

const INSERT_SQL = `INSERT INTO reservations (${ALL_COLUMNS.join(', ')})
  VALUES (${ALL_COLUMNS.map((c) => `$${c}`).join(', ')})`;
const UPDATE_BOOKING_SQL = `UPDATE reservations
  SET ${BOOKING_COLUMNS.map((c) => `${c} = $${c}`).join(', ')}
  WHERE id = $id AND version < $version`;

/** inserted: new; updated: newer version applied; stale: not newer than the stored one, ignored. */
export type UpsertResult = 'inserted' | 'updated' | 'stale';

/**
 * `stored`: the row as the caller just read it in this transaction (null: none), which saves a
 * query per command in a snapshot of thousands; omitted, it is read here.
 */
export async function upsert(tx: Tx, reservation: Reservation, stored?: { version: number } | null): Promise<UpsertResult> {
  const params = toParams(reservation);
  const existing = stored !== undefined ? stored : await tx.get<{ version: number }>('SELECT version FROM reservations WHERE id = ?', [reservation.id]);
  if (!existing) {
    await tx.run(INSERT_SQL, params);
    return 'inserted';
  }
  const bookingParams = Object.fromEntries(
    (['id', ...BOOKING_COLUMNS] as const).map((column) => [`$${column}`, params[`$${column}`]]),
  );
  const { changes } = await tx.run(UPDATE_BOOKING_SQL, bookingParams);
  return changes === 1 ? 'updated' : 'stale';
}

/**
 * New reservations in one statement: the rows go to SQLite as one JSON array of arrays, which
 * jsonb_each takes apart natively (each row as binary JSON, so the `->>` do not parse its text
 * once per column, as json_each's would), instead of 26 values bound one by one per row
 * (docs/performance.md). `->>` gives each element as SQL text, integer or NULL, as binding would.
 * A column that holds the same text, small integer or NULL in every row (a snapshot's status,
 * payment state, times of writing...) is bound once instead of written in every row: about half
 * the columns of a snapshot, and that much less JSON to write and take apart. All or none: a
 * row that breaks a constraint (a code already held) fails the whole statement.
 */
export async function insertMany(tx: Tx, rows: readonly Reservation[]): Promise<void> {
  if (rows.length === 0) return;
  const values = new Array<SqlValue[]>(rows.length);
  for (let r = 0; r < rows.length; r += 1) values[r] = rowValues(rows[r] as Reservation);
  const first = values[0] as SqlValue[];
  // ?1 is the rows' JSON; each column the same in every row gets a parameter of its own after it.
  const params: SqlValue[] = [''];
  const select = new Array<string>(ALL_COLUMNS.length);
  const varying: number[] = [];
  for (let c = 0; c < ALL_COLUMNS.length; c += 1) {
    const value = first[c] as SqlValue;
    if (bindsAsItself(value) && values.every((row) => row[c] === value)) {
      params.push(value);
      select[c] = `?${params.length}`;
    } else {
      select[c] = `value ->> ${varying.length}`;
      varying.push(c);
    }
  }
  const json = new Array<SqlValue[]>(values.length);
  for (let r = 0; r < values.length; r += 1) {
    const row = values[r] as SqlValue[];
    const out = new Array<SqlValue>(varying.length);
    for (let v = 0; v < varying.length; v += 1) out[v] = row[varying[v] as number] as SqlValue;
    json[r] = out;
  }
  params[0] = JSON.stringify(json);
  await tx.run(`INSERT INTO reservations (${ALL_COLUMNS_TEXT}) SELECT ${select.join(', ')} FROM jsonb_each(?1)`, params);
}

const ALL_COLUMNS_TEXT = ALL_COLUMNS.join(', ');

/**
 * Whether a value bound as a parameter is stored as `->>` would store it: text, NULL, or an
 * integer the sqlite3 binding binds as one (32 bits; a larger one it binds as a REAL, which
 * the INTEGER columns would turn back into an integer, but it stays in the JSON all the same).
 */
function bindsAsItself(value: SqlValue): boolean {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31);
}

export async function getById(q: Queryable, id: string): Promise<Reservation | null> {
  const row = await q.get<ReservationRow>('SELECT * FROM reservations WHERE id = ?', [id]);
  return row ? toReservation(row) : null;
}

/**
 * The reservations with these ids, in one query per 500 (a batch of commands reads what it will
 * change at once instead of one round trip to the database's thread per command).
 */
export async function getManyById(q: Queryable, ids: readonly string[]): Promise<Map<string, Reservation>> {
  const found = new Map<string, Reservation>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    const rows = await q.all<ReservationRow>(`SELECT * FROM reservations WHERE id IN (${chunk.map(() => '?').join(', ')})`, chunk);
    for (const row of rows) found.set(row.id, toReservation(row));
  }
  return found;
}

export async function getByCode(q: Queryable, code: string): Promise<Reservation | null> {
  const row = await q.get<ReservationRow>('SELECT * FROM reservations WHERE code = ?', [code]);
  return row ? toReservation(row) : null;
}

const ORDER = 'ORDER BY appointment_time NULLS LAST, id';

/** Every reservation (any status) for this normalised plate on this date (YYYY-MM-DD). */
export async function findByPlate(q: Queryable, plate: string, date: string): Promise<Reservation[]> {
  const rows = await q.all<ReservationRow>(
    `SELECT * FROM reservations WHERE plate = ? AND appointment_date = ? ${ORDER}`,
    [plate, date],
  );
  return rows.map(toReservation);
}

/** Every reservation (any status) listing this E.164 number on this date. */
export async function findByPhone(q: Queryable, e164: string, date: string): Promise<Reservation[]> {
  const rows = await q.all<ReservationRow>(
    `SELECT * FROM reservations
     WHERE appointment_date = ?
       AND EXISTS (SELECT 1 FROM json_each(reservations.phones) WHERE json_each.value = ?)
     ${ORDER}`,
    [date, e164],
  );
  return rows.map(toReservation);
}

export async function listByDate(q: Queryable, date: string): Promise<Reservation[]> {
  const rows = await q.all<ReservationRow>(`SELECT * FROM reservations WHERE appointment_date = ? ${ORDER}`, [date]);
  return rows.map(toReservation);
}

/** Reservations of one kind on any of these dates (YYYY-MM-DD). */
export async function listByKindOnDates(
  q: Queryable,
  kind: ReservationKind,
  dates: readonly string[],
): Promise<Reservation[]> {
  if (dates.length === 0) return [];
  const rows = await q.all<ReservationRow>(
    `SELECT * FROM reservations WHERE kind = ? AND appointment_date IN (${dates.map(() => '?').join(', ')})
     ORDER BY appointment_date, appointment_time NULLS LAST, id`,
    [kind, ...dates],
  );
  return rows.map(toReservation);
}

/** A reservation row with what its compartment says: whether its key is in this locker now. */
const WITH_KEY = `SELECT reservations.*,
    (reservations.kind = 'pickup' AND compartments.state = 'occupied' AND compartments.reservation_id = reservations.id) AS key_in_locker
  FROM reservations LEFT JOIN compartments ON compartments.id = reservations.compartment_id`;

type CandidateRow = ReservationRow & { key_in_locker: number | null };

function toCandidate(row: CandidateRow): PinCandidate {
  return { reservation: toReservation(row), keyInLocker: row.key_in_locker === 1 };
}

/**
 * A typed PIN's candidates in one SELECT (one consistent read): the reservations whose unit hash
 * has `index`, whatever their status, and the legacy hashes (no index) that the PIN could open
 * now: among `ids` (a plate lookup's matches) when given, else drop-offs booked for one of
 * `dropoffDates` and pickups whose key is in this locker. Each legacy row costs one scrypt.
 */
export async function pinCandidates(q: Queryable, query: PinCandidatesQuery): Promise<PinCandidate[]> {
  const { sql, params } = pinCandidatesSql(query);
  const rows = await q.all<CandidateRow>(sql, params);
  return rows.map(toCandidate);
}

export interface PinCandidatesQuery {
  index: string | null;
  dropoffDates: readonly string[];
  ids?: readonly string[] | undefined;
}

/**
 * The statement behind pinCandidates: searches joined by UNION ALL (their rows are disjoint),
 * the unit hashes by reservations_pin_index, the legacy ones by reservations_legacy_pin (or by
 * id), so its cost does not grow with the reservations held: written as one WHERE with ORs, it
 * made SQLite read every reservation.
 */
export function pinCandidatesSql(query: PinCandidatesQuery): { sql: string; params: (string | null)[] } {
  const legacy = `${WITH_KEY} WHERE reservations.pin_index IS NULL AND reservations.pin_hash <> ''`;
  const marks = (values: readonly string[]) => (values.length > 0 ? values : ['']).map(() => '?').join(', ');
  const branches =
    query.ids !== undefined
      ? [{ sql: `${legacy} AND reservations.id IN (${marks(query.ids)})`, params: query.ids.length > 0 ? [...query.ids] : [''] }]
      : [
          {
            sql: `${legacy} AND reservations.kind = 'dropoff' AND reservations.status = 'booked' AND reservations.appointment_date IN (${marks(query.dropoffDates)})`,
            params: query.dropoffDates.length > 0 ? [...query.dropoffDates] : [''],
          },
          {
            sql: `${legacy} AND reservations.kind = 'pickup' AND reservations.status = 'ready'
               AND compartments.state = 'occupied' AND compartments.reservation_id = reservations.id`,
            params: [],
          },
        ];
  return {
    sql: `SELECT * FROM (${WITH_KEY} WHERE reservations.pin_index = ?
     ${branches.map((b) => `UNION ALL ${b.sql}`).join('\n     ')}) ORDER BY id`,
    params: [query.index, ...branches.flatMap((b) => b.params)],
  };
}

/** These reservations (a plate lookup's matches), with whether their key is in the locker. */
export async function candidatesByIds(q: Queryable, ids: readonly string[]): Promise<PinCandidate[]> {
  if (ids.length === 0) return [];
  const rows = await q.all<CandidateRow>(`${WITH_KEY} WHERE reservations.id IN (${ids.map(() => '?').join(', ')}) ORDER BY reservations.id`, [...ids]);
  return rows.map(toCandidate);
}

export type ReservationPatch = Partial<
  Pick<
    Reservation,
    | 'status'
    | 'compartmentId'
    | 'remark'
    | 'paymentRequired'
    | 'paymentStatus'
    | 'paymentAmount'
    | 'paymentCurrency'
    | 'paymentVersion'
    | 'failedPinAttempts'
    | 'pinLockedAt'
  >
>;

const PATCH_COLUMNS: { readonly [K in keyof Required<ReservationPatch>]: string } = {
  status: 'status',
  compartmentId: 'compartment_id',
  remark: 'remark',
  paymentRequired: 'payment_required',
  paymentStatus: 'payment_status',
  paymentAmount: 'payment_amount',
  paymentCurrency: 'payment_currency',
  paymentVersion: 'payment_version',
  failedPinAttempts: 'failed_pin_attempts',
  pinLockedAt: 'pin_locked_at',
};

/** Sets the given fields (undefined ones are left alone). False if there is no such reservation. */
export async function update(tx: Tx, id: string, patch: ReservationPatch, now: Date): Promise<boolean> {
  const sets: string[] = [];
  const params: SqlValue[] = [];
  for (const [field, column] of Object.entries(PATCH_COLUMNS)) {
    const value = patch[field as keyof ReservationPatch];
    if (value === undefined) continue;
    sets.push(`${column} = ?`);
    params.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  }
  sets.push('updated_at = ?');
  params.push(now.toISOString(), id);
  const { changes } = await tx.run(`UPDATE reservations SET ${sets.join(', ')} WHERE id = ?`, params);
  return changes === 1;
}

export type AddPhoneResult = 'added' | 'already_present' | 'not_found';

/** Adds a phone the customer typed at the locker (E.164) unless the reservation already has it. */
export async function addPhone(tx: Tx, id: string, e164: string, now: Date): Promise<AddPhoneResult> {
  const { changes } = await tx.run(
    `UPDATE reservations SET phones = json_insert(phones, '$[#]', ?), updated_at = ?
     WHERE id = ? AND NOT EXISTS (SELECT 1 FROM json_each(reservations.phones) WHERE json_each.value = ?)`,
    [e164, now.toISOString(), id, e164],
  );
  if (changes === 1) return 'added';
  const exists = await tx.get<{ one: number }>('SELECT 1 AS one FROM reservations WHERE id = ?', [id]);
  return exists ? 'already_present' : 'not_found';
}
