/**
 * reservations.insertMany (a batch's new reservations in one statement, the columns the same in
 * every row bound once) stores each row exactly as reservations.upsert stores it alone: every
 * column's value and SQLite type, whichever columns happen to be the same across the batch.
 */
import t from 'tap';
import type { Reservation } from '../../kiosk/core/types.js';
import { insertMany, upsert } from '../../kiosk/store/reservations.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

/** A deterministic generator, so that a failure can be run again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

const pick = <T>(next: () => number, choices: readonly T[]): T => choices[Math.floor(next() * choices.length)] as T;

function reservation(next: () => number, i: number, sameAs: Reservation | null): Reservation {
  // Each field either the first row's (so that a column may be the same throughout) or its own.
  const own = <K extends keyof Reservation>(key: K, value: Reservation[K]): Reservation[K] => (sameAs && next() < 0.5 ? sameAs[key] : value);
  return sampleReservation({
    id: `r-${i}`,
    code: `${pick(next, ['00', 'C-', ''])}${i}`,
    kind: own('kind', pick(next, ['dropoff', 'pickup'] as const)),
    workOrder: own('workOrder', pick(next, ['WO-1', '000123', 'x'])),
    plate: own('plate', pick(next, ['AB12345', 'BMW1'])),
    plateDisplay: own('plateDisplay', pick(next, ['AB 12345', 'b-mw 1'])),
    driverName: own('driverName', pick(next, ['Kari', 'Ørjan "Oz" \\ 😀', ''])),
    phones: own('phones', pick(next, [[], ['+4791234567'], ['+4791000001', '+4791000002']])),
    email: own('email', pick(next, [null, 'a@example.com'])),
    appointmentDate: own('appointmentDate', pick(next, ['2025-03-14', '2026-01-02'])),
    appointmentTime: own('appointmentTime', pick(next, [null, '08:30', '23:59'])),
    pinIndex: own('pinIndex', pick(next, [null, 'k'.repeat(43)])),
    status: own('status', pick(next, ['booked', 'ready', 'deposited'] as const)),
    remark: own('remark', pick(next, [null, '', 'note'])),
    paymentRequired: own('paymentRequired', pick(next, [true, false])),
    paymentStatus: own('paymentStatus', pick(next, ['none', 'pending', 'paid'] as const)),
    paymentAmount: own('paymentAmount', pick(next, [null, 0, 12_345, 2 ** 40])),
    paymentCurrency: own('paymentCurrency', pick(next, [null, 'NOK'])),
    paymentVersion: own('paymentVersion', pick(next, [0, 3])),
    // Integers past 32 bits: the sqlite3 binding binds those as REAL, JSON keeps them INTEGER.
    version: own('version', pick(next, [1, 2 ** 31, 2 ** 40 + 1])),
    failedPinAttempts: own('failedPinAttempts', pick(next, [0, 2])),
    pinLockedAt: own('pinLockedAt', pick(next, [null, '2025-03-14T08:00:00.000Z'])),
    createdAt: own('createdAt', pick(next, ['2025-03-14T08:00:00.000Z', '2025-03-15T08:00:00.000Z'])),
    updatedAt: own('updatedAt', pick(next, ['2025-03-14T08:00:00.000Z', '2025-03-16T08:00:00.000Z'])),
  });
}

t.test('rows inserted together read back, value and type, as rows inserted one by one', async (t) => {
  const { db } = await openTempDb(t);
  const next = random(20261129);
  let compared = 0;
  for (let round = 0; round < 40; round += 1) {
    const size = 1 + Math.floor(next() * 12);
    const rows: Reservation[] = [];
    for (let i = 0; i < size; i += 1) rows.push(reservation(next, round * 100 + i, rows[0] ?? null));
    await db.transaction((tx) => insertMany(tx, rows));
    await db.transaction(async (tx) => {
      for (const row of rows) await upsert(tx, { ...row, id: `alone-${row.id}`, code: `alone-${row.code}` }, null);
    });
    for (const row of rows) {
      const types = (id: string) => db.get<Record<string, string>>(`SELECT ${COLUMNS.map((c) => `typeof(${c}) AS ${c}`).join(', ')} FROM reservations WHERE id = ?`, [id]);
      const together = await db.get<Record<string, unknown>>('SELECT * FROM reservations WHERE id = ?', [row.id]);
      const alone = await db.get<Record<string, unknown>>('SELECT * FROM reservations WHERE id = ?', [`alone-${row.id}`]);
      t.ok(together, `${row.id} inserted`);
      const strip = ({ id: _i, code: _c, ...rest }: Record<string, unknown> = {}) => rest;
      if (JSON.stringify(strip(together)) !== JSON.stringify(strip(alone))) t.same(strip(together), strip(alone), `${row.id}: the same values`);
      const [a, b] = [await types(row.id), await types(`alone-${row.id}`)];
      if (JSON.stringify(a) !== JSON.stringify(b)) t.same(a, b, `${row.id}: the same SQLite types`);
      compared += 1;
    }
  }
  t.ok(compared > 150, `${compared} rows compared, in 40 batches of 1-12`);
  const kinds = await db.all<{ type: string }>("SELECT DISTINCT typeof(version) AS type FROM reservations WHERE id LIKE 'r-%' ORDER BY type");
  t.ok(kinds.length > 0, `version types seen in the batches: ${kinds.map((k) => k.type).join(', ')}`);
});

const COLUMNS = [
  'id', 'code', 'kind', 'work_order', 'plate', 'plate_display', 'driver_name', 'phones', 'email', 'appointment_date', 'appointment_time',
  'pin_hash', 'pin_index', 'status', 'compartment_id', 'remark', 'payment_required', 'payment_status', 'payment_amount',
  'payment_currency', 'payment_version', 'version', 'failed_pin_attempts', 'pin_locked_at', 'created_at', 'updated_at',
] as const;
