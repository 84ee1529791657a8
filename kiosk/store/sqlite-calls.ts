/**
 * The sqlite3 binding's callbacks as promises: one connection's statements, its online backup,
 * and the fsync that makes a renamed copy durable. Nothing here takes the connection's lock:
 * store/db.ts does, around each of these.
 */
import { open } from 'node:fs/promises';
import sqlite3 from 'sqlite3';
import type { RunResult, SqlParams } from './db.js';

export function openConnection(path: string): Promise<sqlite3.Database> {
  return new Promise((resolvePromise, reject) => {
    const raw: sqlite3.Database = new sqlite3.Database(path, (error) => {
      if (error) reject(error);
      else resolvePromise(raw);
    });
  });
}

export function rawRun(raw: sqlite3.Database, sql: string, params: SqlParams = []): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    raw.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
      if (error) reject(error);
      else resolvePromise({ changes: this.changes, lastID: this.lastID });
    });
  });
}

export function rawGet<T>(raw: sqlite3.Database, sql: string, params: SqlParams = []): Promise<T | undefined> {
  return new Promise((resolvePromise, reject) => {
    raw.get<T>(sql, params, (error, row) => (error ? reject(error) : resolvePromise(row)));
  });
}

export function rawAll<T>(raw: sqlite3.Database, sql: string, params: SqlParams = []): Promise<T[]> {
  return new Promise((resolvePromise, reject) => {
    raw.all<T>(sql, params, (error, rows) => (error ? reject(error) : resolvePromise(rows)));
  });
}

export function rawExec(raw: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    raw.exec(sql, (error) => (error ? reject(error) : resolvePromise()));
  });
}

/** sqlite3 ships no typings for its Backup class. */
interface SqliteBackup {
  step(pages: number, callback: (error: Error | null, completed: boolean) => void): SqliteBackup;
  finish(callback: () => void): SqliteBackup;
  on(event: 'error', listener: (error: Error) => void): SqliteBackup;
}

type BackupCapable = sqlite3.Database & {
  backup(filename: string, callback: (error: Error | null) => void): SqliteBackup;
};

export function rawBackup(raw: sqlite3.Database, destPath: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const backup = (raw as BackupCapable).backup(destPath, (initError) => {
      if (initError) {
        reject(initError);
        return;
      }
      // -1: all pages in one step, so the copy is one consistent snapshot.
      backup.step(-1, (stepError, completed) => {
        backup.finish(() => {
          if (stepError) reject(stepError);
          else if (!completed) reject(new Error(`backup to ${destPath} did not complete`));
          else resolvePromise();
        });
      });
    });
    // The binding emits 'error' when it has no callback to call; unhandled, that would crash.
    backup.on('error', reject);
  });
}

export async function fsyncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
