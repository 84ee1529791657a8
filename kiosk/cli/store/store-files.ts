/**
 * The store as files, for the technician's operations: an online backup that is checked, a
 * check of any backup file, and swapping a database file in. The running service keeps using
 * its own connection meanwhile (SQLite's backup API copies a consistent snapshot beside it).
 *
 * These open their own sqlite3 connections and never migrate: migrating is the job of the
 * release that owns the schema (`lockerctl store migrate` of that release).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sqlite3 from 'sqlite3';
import { OpsError } from '../../errors.js';
import { fsyncPath, rawBackup } from '../../store/sqlite-calls.js';

export interface DatabaseFacts {
  schemaVersion: number;
  bytes: number;
}

function openDb(filename: string, mode: number): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db: sqlite3.Database = new sqlite3.Database(filename, mode, (error) => (error ? reject(error) : resolve(db)));
  });
}

function all<T>(db: sqlite3.Database, sql: string): Promise<T[]> {
  return new Promise((resolve, reject) => db.all<T>(sql, [], (error, rows) => (error ? reject(error) : resolve(rows))));
}

function exec(db: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
}

function close(db: sqlite3.Database): Promise<void> {
  return new Promise((resolve) => db.close(() => resolve()));
}

/** PRAGMA integrity_check and the schema version on an open connection. */
async function check(db: sqlite3.Database, label: string): Promise<number> {
  let rows: { integrity_check: string }[];
  try {
    rows = await all<{ integrity_check: string }>(db, 'PRAGMA integrity_check');
  } catch (error) {
    throw new OpsError('CORRUPT_BACKUP', `${label} is not a readable SQLite database: ${(error as Error).message}`);
  }
  const verdict = rows.map((row) => row.integrity_check);
  if (verdict.length !== 1 || verdict[0] !== 'ok') {
    throw new OpsError('CORRUPT_BACKUP', `${label} failed PRAGMA integrity_check: ${verdict.slice(0, 3).join('; ')}`);
  }
  try {
    const [row] = await all<{ version: number | null }>(db, 'SELECT MAX(version) AS version FROM schema_version');
    if (!row?.version) throw new Error('no schema version recorded');
    return row.version;
  } catch (error) {
    throw new OpsError('CORRUPT_BACKUP', `${label} is not a keylocker database (${(error as Error).message})`);
  }
}

/**
 * Checks a database file without changing it (read-only, immutable: no -wal or -shm is made
 * beside it): integrity_check passes and it has a keylocker schema version.
 */
export async function inspectDatabaseFile(path: string): Promise<DatabaseFacts> {
  let bytes: number;
  try {
    bytes = (await stat(path)).size;
  } catch {
    throw new OpsError('BAD_INPUT', `${path}: no such file`);
  }
  let db: sqlite3.Database;
  try {
    db = await openDb(`file:${encodeURI(path)}?immutable=1`, sqlite3.OPEN_READONLY | sqlite3.OPEN_URI);
  } catch (error) {
    throw new OpsError('CORRUPT_BACKUP', `${path} cannot be opened as a database: ${(error as Error).message}`);
  }
  try {
    return { schemaVersion: await check(db, path), bytes };
  } finally {
    await close(db);
  }
}

/** The schema version of the live database (0 when there is none yet). */
export async function liveSchemaVersion(dbPath: string): Promise<number> {
  try {
    await stat(dbPath);
  } catch {
    return 0;
  }
  // Read-write (as the data directory's owner, see as-owner.ts): a read-only connection to a
  // WAL database with no -shm yet would leave one behind that it cannot clean up.
  const db = await openDb(dbPath, sqlite3.OPEN_READWRITE);
  try {
    const [table] = await all<{ name: string }>(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
    if (!table) return 0;
    const [row] = await all<{ version: number | null }>(db, 'SELECT MAX(version) AS version FROM schema_version');
    return row?.version ?? 0;
  } finally {
    await close(db);
  }
}

/**
 * An online backup of `dbPath` to `destPath` through SQLite's backup API, in one step (one
 * consistent snapshot, even while the service writes), as a single self-contained file
 * (journal_mode=DELETE), checked with integrity_check, then renamed into place and fsynced.
 */
export async function backupDatabase(dbPath: string, destPath: string): Promise<DatabaseFacts> {
  await stat(dbPath).catch(() => {
    throw new OpsError('BAD_INPUT', `there is no database at ${dbPath} to back up`);
  });
  const temp = join(dirname(destPath), `.${basename(destPath)}.${randomBytes(6).toString('hex')}.tmp`);
  const source = await openDb(dbPath, sqlite3.OPEN_READWRITE);
  try {
    await exec(source, 'PRAGMA busy_timeout=5000');
    await rawBackup(source, temp);
    const copy = await openDb(temp, sqlite3.OPEN_READWRITE);
    let schemaVersion: number;
    try {
      await exec(copy, 'PRAGMA journal_mode=DELETE');
      schemaVersion = await check(copy, `the backup of ${dbPath}`);
    } finally {
      await close(copy);
    }
    await fsyncPath(temp, 'r+');
    await rename(temp, destPath);
    await fsyncPath(dirname(destPath), 'r');
    return { schemaVersion, bytes: (await stat(destPath)).size };
  } catch (error) {
    await rm(temp, { force: true });
    await rm(`${temp}-journal`, { force: true });
    throw error;
  } finally {
    await close(source);
  }
}

/**
 * Puts `fromFile` (already checked) in place of the database at `dbPath`, with the service
 * stopped: copied beside it, fsynced, the old database's -wal and -shm removed (SQLite would
 * otherwise replay the old log over the new file), renamed over it, directory fsynced.
 */
export async function replaceDatabase(dbPath: string, fromFile: string): Promise<void> {
  const temp = join(dirname(dbPath), `.${basename(dbPath)}.${randomBytes(6).toString('hex')}.restore`);
  try {
    await copyFile(fromFile, temp);
    await fsyncPath(temp, 'r+');
    await rm(`${dbPath}-wal`, { force: true });
    await rm(`${dbPath}-shm`, { force: true });
    await rm(`${dbPath}-journal`, { force: true });
    await rename(temp, dbPath);
    await fsyncPath(dirname(dbPath), 'r');
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
