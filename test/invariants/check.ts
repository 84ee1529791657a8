/**
 * Checks every invariant of the store (rules.ts, docs/invariants.md) on a database file,
 * opened read-only, so it can look at a file a SIGKILL left behind, or at the file of a locker
 * that is running (WAL lets a reader in beside the writer).
 *
 *   const violations = await checkInvariants(path, { atRest: true });
 *   // [] when every rule holds; else one entry per broken rule, with the offending rows
 */
import { existsSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import type { OutboxEvent } from '../../kiosk/core/types.js';
import { LATEST_SCHEMA_VERSION } from '../../kiosk/store/migrations.js';
import { toEventMessage } from '../../kiosk/sync/outbox-sender.js';
import { createValidator, type ProtocolValidator } from '../../kiosk/sync/validate.js';
import { CODE_RULES, SQL_RULES, type RuleId } from './rules.js';

export interface Violation {
  rule: RuleId;
  title: string;
  /** The rows that break the rule (at most MAX_ROWS of them). */
  rows: Record<string, unknown>[];
}

export interface CheckOptions {
  /**
   * true (default): the locker has recovered (or stopped) and no journey is running: the
   * `at-rest` rules apply too. false: a file as a kill left it, before any recovery; if the
   * kill came during start-up before the migrations finished, only the rules that need no
   * table of the locker's are checked.
   */
  atRest?: boolean;
}

export interface CheckReport {
  violations: Violation[];
  /** How many rules were checked. */
  checked: number;
}

const MAX_ROWS = 20;

let sharedValidator: ProtocolValidator | null = null;

export async function checkInvariants(path: string, options: CheckOptions = {}): Promise<Violation[]> {
  return (await checkInvariantsReport(path, options)).violations;
}

export async function checkInvariantsReport(path: string, options: CheckOptions = {}): Promise<CheckReport> {
  const atRest = options.atRest ?? true;
  const db = await openReadOnly(path);
  const violations: Violation[] = [];
  let checked = 0;
  try {
    // One read transaction: every rule sees the same snapshot, even beside a running writer.
    await run(db, 'BEGIN');
    const migrated = (await schemaVersion(db)) === LATEST_SCHEMA_VERSION;
    for (const rule of SQL_RULES) {
      if (rule.when === 'at-rest' && !atRest) continue;
      if (!migrated && !atRest && !rule.schemaFree) continue;
      checked += 1;
      let rows = await all(db, rule.sql, rule.params);
      if (rule.id === 'integrity') rows = rows.filter((row) => row.integrity_check !== 'ok');
      if (rows.length > 0) violations.push({ rule: rule.id, title: rule.title, rows: rows.slice(0, MAX_ROWS) });
    }
    for (const rule of CODE_RULES) {
      if (!migrated && !atRest) continue;
      checked += 1;
      const rows = await badEvents(db);
      if (rows.length > 0) violations.push({ rule: rule.id, title: rule.title, rows: rows.slice(0, MAX_ROWS) });
    }
    await run(db, 'COMMIT');
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
  return { violations, checked };
}

/**
 * The schema version a database file holds: 0 when there is no file, or before the first
 * migration committed (a start killed early leaves an empty file, or one migrated part-way).
 */
export async function schemaVersionAt(path: string): Promise<number> {
  if (!existsSync(path)) return 0;
  const db = await openReadOnly(path);
  try {
    return await schemaVersion(db);
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** The schema version the file holds; 0 before the first migration committed. */
async function schemaVersion(db: sqlite3.Database): Promise<number> {
  const [table] = await all(db, "SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!table) return 0;
  const [row] = await all(db, 'SELECT MAX(version) AS version FROM schema_version');
  return Number(row?.version ?? 0);
}

/** One line per violation, for a failing test's message. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.rule} (${v.title}): ${JSON.stringify(v.rows)}`).join('\n');
}

interface OutboxRow {
  seq: number;
  type: string;
  payload: string;
  wall_time: string;
  mono_time: number;
  boot_id: string;
  acked_at: string | null;
}

/** Outbox rows that would not pass the protocol schema as the sync client sends them. */
async function badEvents(db: sqlite3.Database): Promise<Record<string, unknown>[]> {
  sharedValidator ??= createValidator();
  const validator = sharedValidator;
  const bad: Record<string, unknown>[] = [];
  for (const row of (await all(db, 'SELECT * FROM outbox ORDER BY seq')) as unknown as OutboxRow[]) {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(row.payload) as Record<string, unknown>;
    } catch {
      bad.push({ seq: row.seq, type: row.type, problem: 'payload is not JSON' });
      continue;
    }
    const event: OutboxEvent = { seq: row.seq, type: row.type, payload, wallTime: row.wall_time, monoTime: row.mono_time, bootId: row.boot_id, ackedAt: row.acked_at };
    const result = validator.validateLockerMessage(toEventMessage(event, false));
    if (!result.ok) bad.push({ seq: row.seq, type: row.type, problem: result.message });
    if (bad.length >= MAX_ROWS) break;
  }
  return bad;
}

function openReadOnly(path: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db: sqlite3.Database = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(db)));
  });
}

function all(db: sqlite3.Database, sql: string, params: Record<string, number> = {}): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => db.all<Record<string, unknown>>(sql, params, (error, rows) => (error ? reject(error) : resolve(rows))));
}

function run(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.run(sql, (error) => (error ? reject(error) : resolve())));
}
