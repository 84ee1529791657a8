/**
 * The invariant checker can fail: a healthy database passes every rule, and for each rule a
 * copy broken in exactly that way makes exactly that rule fire. The docs show the same queries.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t from 'tap';
import { checkInvariants, checkInvariantsReport, describeViolations } from './check.js';
import { HEALTHY, buildHealthyDb } from './healthy-db.js';
import { CODE_RULES, RULE_IDS, SQL_RULES, type RuleId } from './rules.js';

const NOW = "'2025-03-14T09:00:00.000Z'";

interface Breakage {
  rule: RuleId;
  /** How it is broken, in words. */
  how: string;
  /** SQL run with foreign keys off; or a function over the file. */
  sql?: string;
  patch?: (path: string) => Promise<void>;
  /** Check as a file a kill left behind (only the `always` rules). */
  afterKill?: boolean;
}

const BREAKAGES: Breakage[] = [
  { rule: 'integrity', how: 'an index entry no longer matches its row', patch: corruptPlateIndex },
  {
    rule: 'foreign-keys',
    how: 'a mechanic request for a reservation that does not exist',
    sql: `INSERT INTO mechanic_requests (request_id, command_id, reservation_id, purpose, tablet_id, received_at) VALUES ('m-1', 'c-1', 'ghost', 'retrieve', 't-1', ${NOW})`,
  },
  { rule: 'schema-version', how: 'a newer schema than this software knows', sql: `INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'from the future', ${NOW})` },
  {
    rule: 'outbox-no-gap',
    how: 'a pending event in the middle is gone',
    sql: "DELETE FROM outbox WHERE seq = (SELECT seq FROM outbox WHERE type = 'compartment.closed' AND acked_at IS NULL ORDER BY seq DESC LIMIT 1 OFFSET 1)",
  },
  {
    rule: 'outbox-acked-prefix',
    how: 'an event after a pending one is marked acknowledged',
    sql: `UPDATE outbox SET acked_at = ${NOW} WHERE seq = (SELECT MAX(seq) FROM outbox) - 1`,
  },
  {
    rule: 'boot-order',
    how: 'the last event carries the first boot\'s id',
    sql: 'UPDATE outbox SET boot_id = (SELECT boot_id FROM outbox ORDER BY seq LIMIT 1) WHERE seq = (SELECT MAX(seq) FROM outbox)',
  },
  {
    rule: 'outbox-schema',
    how: 'a compartment.closed event without its compartment',
    sql: "UPDATE outbox SET payload = '{}' WHERE seq = (SELECT MAX(seq) FROM outbox)",
  },
  {
    rule: 'event-with-change',
    how: 'a compartment.quarantined event with no quarantine behind it',
    sql: `INSERT INTO outbox (type, payload, wall_time, mono_time, boot_id)
          SELECT 'compartment.quarantined', '{"compartment": 9, "reason": "made up"}', ${NOW}, mono_time + 1, boot_id FROM outbox ORDER BY seq DESC LIMIT 1`,
  },
  {
    rule: 'audit-outcome-names-intent',
    how: 'the outcome of the abandoned drop-off names no intent (the first finding)',
    sql: "UPDATE audit_log SET intent_id = NULL WHERE phase = 'outcome' AND action = 'open' AND compartment_id = 2",
  },
  {
    rule: 'audit-outcome-once',
    how: 'a second pulse outcome for the finished drop-off\'s intent',
    sql: `INSERT INTO audit_log (at, compartment_id, action, phase, intent_id, actor, reservation_id, result, detail, boot_id)
          SELECT ${NOW}, compartment_id, 'open', 'outcome', intent_id, actor, reservation_id, 'JAMMED', '{}', (SELECT boot_id FROM audit_log ORDER BY id DESC LIMIT 1)
          FROM audit_log WHERE phase = 'outcome' AND action = 'open' AND compartment_id = 1`,
  },
  {
    rule: 'audit-intent-resolved',
    how: 'an intent to open compartment 5 with no outcome and no quarantine',
    sql: `INSERT INTO audit_log (at, compartment_id, action, phase, actor, reservation_id, detail, boot_id)
          VALUES (${NOW}, 5, 'open', 'intent', 'customer', '${HEALTHY.booked}', '{}', (SELECT boot_id FROM audit_log ORDER BY id DESC LIMIT 1))`,
  },
  {
    rule: 'inflight-resolved',
    how: 'a consistent drop-off still in flight after recovery',
    sql: `UPDATE compartments SET state = 'reserved', reservation_id = '${HEALTHY.booked}' WHERE id = 6;
          INSERT INTO inflight (compartment_id, reservation_id, journey, session_id, at) VALUES (6, '${HEALTHY.booked}', 'dropoff', 's-9', ${NOW})`,
  },
  {
    rule: 'inflight-agrees',
    how: 'a drop-off in flight on the compartment of a key already deposited',
    sql: `INSERT INTO inflight (compartment_id, reservation_id, journey, session_id, at) VALUES (1, '${HEALTHY.deposited}', 'dropoff', 's-9', ${NOW})`,
    afterKill: true,
  },
  {
    rule: 'hold-in-flight',
    how: 'a compartment held for a drop-off that no journey has in flight',
    sql: `UPDATE compartments SET state = 'reserved', reservation_id = '${HEALTHY.booked}' WHERE id = 6`,
  },
  {
    rule: 'reservation-one-compartment',
    how: 'one drop-off in flight in two compartments',
    sql: `UPDATE compartments SET state = 'reserved', reservation_id = '${HEALTHY.booked}' WHERE id IN (6, 7);
          INSERT INTO inflight (compartment_id, reservation_id, journey, session_id, at) VALUES (6, '${HEALTHY.booked}', 'dropoff', 's-9', ${NOW}), (7, '${HEALTHY.booked}', 'dropoff', 's-9', ${NOW})`,
    afterKill: true,
  },
  {
    rule: 'compartment-one-reservation',
    how: 'two booked pickups promised the same compartment',
    sql: `INSERT INTO reservations (id, code, kind, work_order, plate, plate_display, driver_name, appointment_date, pin_hash, status, compartment_id, version, created_at, updated_at)
          VALUES ('p-a', 'C-p-a', 'pickup', 'WO-a', 'AA11111', 'AA 11111', 'A', '2025-03-14', 'x', 'booked', 9, 1, ${NOW}, ${NOW}),
                 ('p-b', 'C-p-b', 'pickup', 'WO-b', 'BB22222', 'BB 22222', 'B', '2025-03-14', 'x', 'booked', 9, 1, ${NOW}, ${NOW})`,
  },
  {
    rule: 'compartment-agrees',
    how: 'a compartment occupied for a drop-off still booked',
    sql: `UPDATE compartments SET state = 'occupied', reservation_id = '${HEALTHY.booked}' WHERE id = 11`,
  },
  {
    rule: 'reservation-agrees',
    how: 'a booked drop-off that names a compartment',
    sql: `UPDATE reservations SET compartment_id = 12 WHERE id = '${HEALTHY.booked}'`,
  },
  {
    rule: 'deposited-not-booked',
    how: 'the deposited drop-off is booked again, its compartment free',
    sql: `UPDATE compartments SET state = 'free', reservation_id = NULL WHERE id = 1;
          UPDATE reservations SET status = 'booked', compartment_id = NULL WHERE id = '${HEALTHY.deposited}'`,
  },
  {
    rule: 'deposit-once',
    how: 'the same key deposited twice (event and timeline both)',
    sql: `INSERT INTO outbox (type, payload, wall_time, mono_time, boot_id)
            SELECT type, payload, ${NOW}, (SELECT MAX(mono_time) + 1 FROM outbox), (SELECT boot_id FROM outbox ORDER BY seq DESC LIMIT 1) FROM outbox WHERE type = 'key.deposited';
          INSERT INTO reservation_timeline (reservation_id, at, event, detail) VALUES ('${HEALTHY.deposited}', ${NOW}, 'key-deposited', '{}')`,
  },
  {
    rule: 'quarantine-recorded',
    how: 'a compartment quarantined without a trace in the audit trail',
    sql: "UPDATE compartments SET state = 'quarantined', quarantine_reason = 'nobody knows' WHERE id = 13",
  },
];

t.test('every rule has a breakage, documented in docs/invariants.md with the same query', async (t) => {
  t.same([...new Set(BREAKAGES.map((b) => b.rule))].sort(), [...RULE_IDS].sort(), 'one breakage per rule');
  t.same([...SQL_RULES.map((r) => r.id), ...CODE_RULES.map((r) => r.id)].sort(), [...RULE_IDS].sort(), 'every rule is checked');
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'invariants.md'), 'utf8');
  const squash = (sql: string): string => sql.replace(/\s+/g, ' ').trim();
  const documented = squash(doc);
  for (const rule of SQL_RULES) {
    t.ok(doc.includes(`\`${rule.id}\``), `${rule.id} is described`);
    t.ok(documented.includes(squash(rule.sql)), `${rule.id}: the documented query is the one checked`);
  }
  for (const rule of CODE_RULES) t.ok(doc.includes(`\`${rule.id}\``), `${rule.id} is described`);
});

t.test('the checker, healthy and broken', async (t) => {
  const dir = t.testdir();
  const healthy = await buildHealthyDb(join(dir, 'healthy'));

  const report = await checkInvariantsReport(healthy, { atRest: true });
  t.same(report.violations, [], `the healthy database keeps every rule${describeViolations(report.violations)}`);
  t.equal(report.checked, RULE_IDS.length, 'every rule was checked');
  t.same(await checkInvariants(healthy, { atRest: false }), [], 'and so does it as a kill would have left it');

  for (const breakage of BREAKAGES) {
    const path = join(dir, `${breakage.rule}.db`);
    copyFileSync(healthy, path);
    if (breakage.sql) await execute(path, breakage.sql);
    await breakage.patch?.(path);
    const violations = await checkInvariants(path, { atRest: !breakage.afterKill });
    t.same(violations.map((v) => v.rule), [breakage.rule], `${breakage.how}: exactly ${breakage.rule} fires ${describeViolations(violations)}`);
    t.ok(violations[0] && violations[0].rows.length > 0, `${breakage.rule} names the offending rows`);
  }
});

t.test('the checker opens the file read-only: it changes nothing', async (t) => {
  const healthy = await buildHealthyDb(t.testdir());
  const before = readFileSync(healthy);
  await checkInvariants(healthy);
  t.ok(readFileSync(healthy).equals(before), 'the file is byte for byte the same');
});

/** Apply a breakage with foreign keys off, as a raw connection would. */
function execute(path: string, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, (openError) => {
      if (openError) return reject(openError);
      db.exec(`PRAGMA foreign_keys = OFF; ${sql}`, (error) => db.close(() => (error ? reject(error) : resolve())));
    });
  });
}

/**
 * Flip one byte of a plate inside the plate index's page, so the index no longer matches the
 * table: the file still opens and every other query still reads, but integrity_check sees it.
 */
async function corruptPlateIndex(path: string): Promise<void> {
  const { rootpage, page_size: pageSize } = await queryOne<{ rootpage: number; page_size: number }>(
    path,
    "SELECT rootpage, (SELECT page_size FROM pragma_page_size) AS page_size FROM sqlite_master WHERE name = 'reservations_plate_date'",
  );
  const file = readFileSync(path);
  const page = file.subarray((rootpage - 1) * pageSize, rootpage * pageSize);
  const at = page.indexOf(Buffer.from('AB12345'));
  if (at < 0) throw new Error('plate not found in the index page');
  page[at + 6] = '9'.charCodeAt(0);
  writeFileSync(path, file);
}

function queryOne<T>(path: string, sql: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError);
      db.get<T>(sql, (error, row) => db.close(() => (error || !row ? reject(error ?? new Error('no row')) : resolve(row))));
    });
  });
}
