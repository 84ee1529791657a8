/**
 * The invariants of the locker's store, one query each. A query returns the rows that break
 * its rule: none means the rule holds. docs/invariants.md shows the same queries (a test keeps
 * the two identical), with why each rule is true.
 *
 * `when` says when a rule must hold:
 * - `always`: at every instant, so also on the file a SIGKILL left behind;
 * - `at-rest`: once the locker has started again and recovered (or stopped cleanly), before
 *   a new journey begins: an actuation in progress is allowed to be half written, and a kill
 *   during start-up may leave the schema short of its last migrations (each migration is one
 *   transaction: the file holds a whole version, the next start finishes the job). On such a
 *   file only the rules that need no table of the locker's run.
 */
import { LATEST_SCHEMA_VERSION } from '../../kiosk/store/migrations.js';

export const RULE_IDS = [
  'integrity',
  'foreign-keys',
  'schema-version',
  'outbox-no-gap',
  'outbox-acked-prefix',
  'boot-order',
  'outbox-schema',
  'event-with-change',
  'audit-outcome-names-intent',
  'audit-outcome-once',
  'audit-intent-resolved',
  'inflight-resolved',
  'inflight-agrees',
  'hold-in-flight',
  'reservation-one-compartment',
  'compartment-one-reservation',
  'compartment-agrees',
  'reservation-agrees',
  'deposited-not-booked',
  'deposit-once',
  'quarantine-recorded',
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export interface SqlRule {
  id: RuleId;
  when: 'always' | 'at-rest';
  /** Needs only SQLite itself, not the locker's tables (so it runs on a half-migrated file too). */
  schemaFree?: boolean;
  /** One line: what must hold. */
  title: string;
  sql: string;
  /** Named parameters of the query (`:latest`). */
  params?: Record<string, number>;
}

/** Reservations still live: their key is expected, in the locker, or on its way to it. */
const LIVE = "('booked', 'deposited', 'ready')";

export const SQL_RULES: readonly SqlRule[] = [
  {
    id: 'integrity',
    when: 'always',
    schemaFree: true,
    title: 'SQLite finds the file sound',
    sql: 'PRAGMA integrity_check',
  },
  {
    id: 'foreign-keys',
    when: 'always',
    schemaFree: true,
    title: 'every reference points at a row that exists',
    sql: 'PRAGMA foreign_key_check',
  },
  {
    id: 'schema-version',
    when: 'at-rest',
    title: 'the schema is the latest this software knows',
    sql: `SELECT MAX(version) AS version, :latest AS expected FROM schema_version
HAVING MAX(version) IS NOT :latest`,
    params: { ':latest': LATEST_SCHEMA_VERSION },
  },
  {
    id: 'outbox-no-gap',
    when: 'always',
    title: 'outbox seqs run without a gap, and the last seq handed out is there while any event is pending',
    sql: `SELECT o.seq AS seq, (SELECT MAX(p.seq) FROM outbox p WHERE p.seq < o.seq) AS previous
FROM outbox o
WHERE o.seq > (SELECT MIN(seq) FROM outbox)
  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.seq = o.seq - 1)
UNION ALL
SELECT s.seq AS seq, (SELECT MAX(seq) FROM outbox) AS previous
FROM sqlite_sequence s
WHERE s.name = 'outbox'
  AND EXISTS (SELECT 1 FROM outbox WHERE acked_at IS NULL)
  AND s.seq <> (SELECT MAX(seq) FROM outbox)`,
  },
  {
    id: 'outbox-acked-prefix',
    when: 'always',
    title: 'acknowledged events are a prefix: none after the first pending one',
    sql: `SELECT a.seq AS acked, (SELECT MIN(u.seq) FROM outbox u WHERE u.acked_at IS NULL) AS first_pending
FROM outbox a
WHERE a.acked_at IS NOT NULL
  AND a.seq > (SELECT MIN(u.seq) FROM outbox u WHERE u.acked_at IS NULL)`,
  },
  {
    id: 'boot-order',
    when: 'always',
    title: 'a boot never writes after the next one started, and its monotonic time never runs back',
    sql: `WITH written AS (
  SELECT 'outbox' AS log, seq AS n, boot_id, mono_time AS mono FROM outbox
  UNION ALL
  SELECT 'audit_log', id, boot_id, NULL FROM audit_log
), ordered AS (
  SELECT log, n, boot_id, mono,
         LAG(boot_id) OVER (PARTITION BY log ORDER BY n) AS previous_boot,
         LAG(mono) OVER (PARTITION BY log ORDER BY n) AS previous_mono
  FROM written
)
SELECT log, n, boot_id, 'boot came back' AS problem FROM ordered o
WHERE o.boot_id <> o.previous_boot
  AND EXISTS (SELECT 1 FROM written w WHERE w.log = o.log AND w.boot_id = o.boot_id AND w.n < o.n)
UNION ALL
SELECT log, n, boot_id, 'mono ran back from ' || previous_mono FROM ordered
WHERE boot_id = previous_boot AND mono < previous_mono`,
  },
  {
    id: 'event-with-change',
    when: 'always',
    title: 'each change and the event that reports it exist together (checked while no event has been purged)',
    sql: `SELECT what, changes, events FROM (
  SELECT 'quarantine' AS what,
         (SELECT COUNT(*) FROM audit_log WHERE action = 'quarantine') AS changes,
         (SELECT COUNT(*) FROM outbox WHERE type = 'compartment.quarantined') AS events
  UNION ALL
  SELECT 'opened',
         (SELECT COUNT(*) FROM audit_log WHERE action = 'open' AND phase = 'outcome' AND result = 'opened'),
         (SELECT COUNT(*) FROM outbox WHERE type = 'compartment.opened')
  UNION ALL
  SELECT 'deposited',
         (SELECT COUNT(*) FROM reservation_timeline WHERE event = 'key-deposited'),
         (SELECT COUNT(*) FROM outbox WHERE type = 'key.deposited')
  UNION ALL
  SELECT 'collected',
         (SELECT COUNT(*) FROM reservation_timeline WHERE event = 'key-collected'),
         (SELECT COUNT(*) FROM outbox WHERE type = 'key.collected')
)
WHERE changes <> events AND (SELECT IFNULL(MIN(seq), 1) FROM outbox) = 1`,
  },
  {
    id: 'audit-outcome-names-intent',
    when: 'always',
    title: 'every outcome of an opening names an earlier intent to open the same compartment',
    sql: `SELECT o.id, o.compartment_id, o.intent_id, o.result
FROM audit_log o
LEFT JOIN audit_log i ON i.id = o.intent_id
WHERE o.phase = 'outcome' AND o.action = 'open'
  AND NOT IFNULL(i.phase = 'intent' AND i.action = 'open' AND i.compartment_id = o.compartment_id AND i.id < o.id, 0)`,
  },
  {
    id: 'audit-outcome-once',
    when: 'always',
    title: 'an intent has at most one outcome of its pulse and at most one INTERRUPTED',
    sql: `SELECT intent_id, result = 'INTERRUPTED' AS interrupted, COUNT(*) AS outcomes, group_concat(id) AS ids
FROM audit_log
WHERE phase = 'outcome' AND intent_id IS NOT NULL
GROUP BY intent_id, result = 'INTERRUPTED'
HAVING COUNT(*) > 1`,
  },
  {
    id: 'audit-intent-resolved',
    when: 'at-rest',
    title: 'every intent has its outcome, or its compartment was quarantined after it',
    sql: `SELECT i.id, i.compartment_id, i.reservation_id, i.boot_id
FROM audit_log i
WHERE i.phase = 'intent'
  AND NOT EXISTS (SELECT 1 FROM audit_log o WHERE o.intent_id = i.id)
  AND NOT EXISTS (SELECT 1 FROM audit_log q
                  WHERE q.action = 'quarantine' AND q.compartment_id = i.compartment_id AND q.id > i.id)`,
  },
  {
    id: 'inflight-resolved',
    when: 'at-rest',
    title: 'after recovery no journey is in flight',
    sql: 'SELECT compartment_id, reservation_id, journey FROM inflight',
  },
  {
    id: 'inflight-agrees',
    when: 'always',
    title: "a journey in flight holds its compartment for its reservation, in the journey's state",
    sql: `SELECT f.compartment_id, f.reservation_id, f.journey, c.state, c.reservation_id AS compartment_reservation, r.kind, r.status
FROM inflight f
LEFT JOIN compartments c ON c.id = f.compartment_id
LEFT JOIN reservations r ON r.id = f.reservation_id
WHERE NOT IFNULL(c.reservation_id = f.reservation_id AND r.kind = f.journey AND (
        (f.journey = 'dropoff' AND c.state = 'reserved' AND r.status = 'booked')
     OR (f.journey = 'pickup' AND c.state = 'occupied' AND r.status = 'ready')), 0)`,
  },
  {
    id: 'hold-in-flight',
    when: 'always',
    title: 'a compartment held for a drop-off has that drop-off in flight (no hold outlives its journey)',
    sql: `SELECT c.id AS compartment, c.reservation_id
FROM compartments c
JOIN reservations r ON r.id = c.reservation_id
WHERE c.state = 'reserved' AND r.kind = 'dropoff'
  AND NOT EXISTS (SELECT 1 FROM inflight f WHERE f.compartment_id = c.id AND f.reservation_id = c.reservation_id)`,
  },
  {
    id: 'reservation-one-compartment',
    when: 'always',
    title: 'no reservation is named by two compartments',
    sql: `SELECT reservation_id, group_concat(id) AS compartments, group_concat(state) AS states
FROM compartments
WHERE reservation_id IS NOT NULL
GROUP BY reservation_id
HAVING COUNT(*) > 1`,
  },
  {
    id: 'compartment-one-reservation',
    when: 'always',
    title: 'no compartment is named by two live reservations',
    sql: `SELECT compartment_id, group_concat(id) AS reservations
FROM reservations
WHERE compartment_id IS NOT NULL AND status IN ${LIVE}
GROUP BY compartment_id
HAVING COUNT(*) > 1`,
  },
  {
    id: 'compartment-agrees',
    when: 'always',
    title: "a compartment naming a reservation is in the state that reservation's life says",
    sql: `SELECT c.id AS compartment, c.state, c.reservation_id, r.kind, r.status, r.compartment_id AS reservation_compartment
FROM compartments c
LEFT JOIN reservations r ON r.id = c.reservation_id
WHERE c.reservation_id IS NOT NULL
  AND NOT IFNULL(
        (c.state = 'occupied' AND r.compartment_id = c.id
           AND ((r.kind = 'dropoff' AND r.status = 'deposited') OR (r.kind = 'pickup' AND r.status = 'ready')))
     OR (c.state = 'reserved' AND r.status = 'booked' AND (r.compartment_id IS NULL OR r.compartment_id = c.id))
     OR (c.state IN ('quarantined', 'disabled') AND r.compartment_id = c.id AND r.status IN ('deposited', 'ready')), 0)`,
  },
  {
    id: 'reservation-agrees',
    when: 'always',
    title: "a reservation's status and compartment agree with the compartment's state",
    sql: `SELECT r.id, r.kind, r.status, r.compartment_id, c.state AS compartment_state, c.reservation_id AS compartment_reservation
FROM reservations r
LEFT JOIN compartments c ON c.id = r.compartment_id
WHERE NOT IFNULL(CASE
  WHEN r.kind = 'dropoff' AND r.status IN ('ready', 'collected') THEN 0
  WHEN r.kind = 'pickup' AND r.status IN ('deposited', 'retrieved') THEN 0
  WHEN r.status IN ('deposited', 'ready')
    THEN c.reservation_id = r.id AND c.state IN ('occupied', 'quarantined', 'disabled')
  WHEN r.kind = 'dropoff' AND r.status = 'booked' THEN r.compartment_id IS NULL
  WHEN r.status IN ('collected', 'cancelled')
    THEN r.compartment_id IS NULL AND NOT EXISTS (SELECT 1 FROM compartments x WHERE x.reservation_id = r.id)
  ELSE 1 END, 0)`,
  },
  {
    id: 'deposited-not-booked',
    when: 'always',
    title: 'a reservation reported deposited is never booked (or anything but deposited or retrieved) again',
    sql: `SELECT r.id, r.status, 'outbox seq ' || o.seq AS evidence
FROM outbox o
JOIN reservations r ON r.id = json_extract(o.payload, '$.reservationId')
WHERE o.type = 'key.deposited' AND r.status NOT IN ('deposited', 'retrieved')
UNION ALL
SELECT r.id, r.status, 'timeline ' || t.id
FROM reservation_timeline t
JOIN reservations r ON r.id = t.reservation_id
WHERE t.event = 'key-deposited' AND r.status NOT IN ('deposited', 'retrieved')`,
  },
  {
    id: 'deposit-once',
    when: 'always',
    title: 'a key is deposited (and collected) at most once per reservation',
    sql: `SELECT json_extract(payload, '$.reservationId') AS reservation_id, type AS what, COUNT(*) AS times, group_concat(seq) AS refs
FROM outbox
WHERE type IN ('key.deposited', 'key.collected')
GROUP BY 1, 2
HAVING COUNT(*) > 1
UNION ALL
SELECT reservation_id, event, COUNT(*), group_concat(id)
FROM reservation_timeline
WHERE event IN ('key-deposited', 'key-collected')
GROUP BY 1, 2
HAVING COUNT(*) > 1`,
  },
  {
    id: 'quarantine-recorded',
    when: 'always',
    title: 'a quarantined compartment has its quarantine in the audit trail',
    sql: `SELECT c.id AS compartment, c.quarantine_reason
FROM compartments c
WHERE c.state = 'quarantined'
  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'quarantine' AND a.compartment_id = c.id)`,
  },
];

/** Rules checked in code, not SQL. */
export const CODE_RULES = [
  {
    id: 'outbox-schema' as const,
    when: 'always' as const,
    title: 'every outbox event, as the sync client would send it, matches the published protocol schema',
  },
];
