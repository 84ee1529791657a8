/**
 * Reads the store while the service is stopped (lockerctl status) or for support
 * (diagnostics) without touching the live file: SQLite's online backup into a private temp
 * directory, integrity_check on the copy (store-files.ts refuses a damaged one with
 * CORRUPT_BACKUP), then the copy is opened and read, and removed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSilentLogger } from '../../logging.js';
import { openDatabase, type Db } from '../../store/db.js';
import { DB_FILE } from '../layout.js';
import { asOwnerOf } from '../store/as-owner.js';
import { backupDatabase } from '../store/store-files.js';

export async function withStoreCopy<T>(dataDir: string, read: (db: Db, facts: { schemaVersion: number; bytes: number }) => Promise<T>): Promise<T> {
  return asOwnerOf(dataDir, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lockerctl-'));
    try {
      const copy = join(dir, DB_FILE);
      const facts = await backupDatabase(join(dataDir, DB_FILE), copy);
      const db = await openDatabase(copy, createSilentLogger());
      try {
        return await read(db, facts);
      } finally {
        await db.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
