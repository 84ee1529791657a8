/**
 * A typed PIN's candidates (kiosk/store/reservations.ts, pinCandidates) are found by index
 * searches whatever the number of reservations held (issue 13): written as one WHERE with ORs,
 * the query read every reservation, so a PIN check slowed with the backlog (the PIN bench's
 * p50 was 4 % slower with 1,000 held than with 10). Shown on SQLite's own query plan, and the
 * candidates are checked against the old query, kept here as the oracle, on a mixed store.
 */
import t from 'tap';
import type { Db } from '../../kiosk/store/db.js';
import { compartments, reservations } from '../../kiosk/store/repositories.js';
import { pinCandidates, pinCandidatesSql, type PinCandidatesQuery } from '../../kiosk/store/reservations.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const TODAY = '2026-11-28';
const QUERIES: PinCandidatesQuery[] = [
  { index: 'idx-7', dropoffDates: [TODAY, '2026-11-29'] },
  { index: 'idx-7', dropoffDates: [] },
  { index: null, dropoffDates: [TODAY] },
  { index: 'idx-3', dropoffDates: [TODAY], ids: ['r-legacy-3', 'r-legacy-6', 'r-legacy-51', 'r-unit-4', 'r-nobody'] },
  { index: 'idx-3', dropoffDates: [TODAY], ids: [] },
];

/** The query as it was before (one WHERE with ORs): the oracle for which rows are candidates. */
function oldSql(query: PinCandidatesQuery): { sql: string; params: (string | null)[] } {
  const legacyWhere =
    query.ids !== undefined
      ? `reservations.id IN (${query.ids.length > 0 ? query.ids.map(() => '?').join(', ') : "''"})`
      : `((reservations.kind = 'dropoff' AND reservations.status = 'booked'
           AND reservations.appointment_date IN (${(query.dropoffDates.length > 0 ? query.dropoffDates : ['']).map(() => '?').join(', ')}))
         OR (reservations.kind = 'pickup' AND reservations.status = 'ready'
           AND compartments.state = 'occupied' AND compartments.reservation_id = reservations.id))`;
  const legacyParams = query.ids !== undefined ? [...query.ids] : query.dropoffDates.length > 0 ? [...query.dropoffDates] : [''];
  return {
    sql: `SELECT reservations.id FROM reservations LEFT JOIN compartments ON compartments.id = reservations.compartment_id
     WHERE (reservations.pin_index IS NOT NULL AND reservations.pin_index = ?)
        OR (reservations.pin_index IS NULL AND reservations.pin_hash <> '' AND ${legacyWhere})
     ORDER BY reservations.id`,
    params: [query.index, ...legacyParams],
  };
}

async function oldCandidates(db: Db, query: PinCandidatesQuery): Promise<string[]> {
  const { sql, params } = oldSql(query);
  return (await db.all<{ id: string }>(sql, params)).map((r) => r.id);
}

/** 1,000 reservations of every kind, status and hash form, 4 keys in the locker. */
async function mixedStore(t: Parameters<typeof openTempDb>[0]): Promise<Db> {
  const { db } = await openTempDb(t);
  const now = new Date();
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 16, now);
    const statuses = ['booked', 'deposited', 'ready', 'collected', 'cancelled'] as const;
    for (let i = 0; i < 1000; i += 1) {
      const legacy = i % 3 === 0;
      const purged = i % 17 === 0;
      const kind = i % 2 === 0 ? 'pickup' : 'dropoff';
      const status = statuses[i % statuses.length]!;
      await reservations.upsert(
        tx,
        sampleReservation({
          id: legacy ? `r-legacy-${i}` : `r-unit-${i}`,
          code: `C-${i}`,
          kind,
          status,
          appointmentDate: i % 7 === 0 ? TODAY : i % 7 === 1 ? '2026-11-29' : '2026-10-01',
          pinHash: purged ? '' : legacy ? `scrypt$legacy$${i}` : `scrypt$unit$${i}`,
          pinIndex: purged || legacy ? null : `idx-${i % 10}`,
        }),
      );
    }
    // Keys in the locker: two legacy pickups ready, one unit-hash pickup, one ready row whose compartment is empty.
    for (const [compartment, id] of [[1, 'r-legacy-30'], [2, 'r-legacy-60'], [3, 'r-unit-2']] as const) {
      await tx.run("UPDATE reservations SET compartment_id = ?, status = 'ready' WHERE id = ?", [compartment, id]);
      await compartments.setState(tx, compartment, { state: 'occupied', reservationId: id }, now);
    }
    await tx.run("UPDATE reservations SET compartment_id = 4, status = 'ready' WHERE id = 'r-legacy-90'");
  });
  return db;
}

t.test('every shape of the query is index searches only: no scan of reservations', async (t) => {
  const db = await mixedStore(t);
  for (const query of QUERIES) {
    const { sql, params } = pinCandidatesSql(query);
    const plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((row) => row.detail);
    t.same(plan.filter((line) => /^SCAN /.test(line)), [], `${JSON.stringify(query)}: ${plan.filter((l) => /reservations/.test(l)).join('; ')}`);
    t.ok(plan.some((line) => /SEARCH reservations USING INDEX reservations_pin_index/.test(line)), 'the unit hashes by their index');
  }
  const { sql, params } = oldSql(QUERIES[0]!);
  const old = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)).map((r) => r.detail);
  t.ok(old.some((line) => /^SCAN reservations/.test(line)), `the old OR form scans, indexes and all (${old.join('; ')}): the check above can fail`);
});

t.test('the same candidates as the old query, on a mixed store of 1,000', async (t) => {
  const db = await mixedStore(t);
  for (const query of QUERIES) {
    const expected = await oldCandidates(db, query);
    const found = await pinCandidates(db, query);
    t.same(found.map((c) => c.reservation.id), expected, `${JSON.stringify(query)}: ${expected.length} candidates`);
    t.ok(expected.length > 0 || query.ids?.length === 0, 'the shape finds some rows (the comparison is not of two empty lists)');
  }
  const withKey = (await pinCandidates(db, { index: null, dropoffDates: [] })).filter((c) => c.keyInLocker).map((c) => c.reservation.id);
  t.same(withKey, ['r-legacy-30', 'r-legacy-60'], 'legacy pickups with their key in the locker; not the ready one whose compartment is empty');
});
