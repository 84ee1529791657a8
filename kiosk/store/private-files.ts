/**
 * The database's files kept private, whatever the umask (store/db.ts opens through these).
 */
import { chmod, mkdir, open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Logger } from '../logging.js';

/** Directories never made private, however a data dir was configured (a mistake must not lock the system out). */
const SHARED_DIRS = new Set(['/', '/var', '/var/lib', '/tmp', '/home', '/opt', '/srv', '/etc', '/usr']);

/**
 * The data dir 0700 and the database with its -wal and -shm 0600, whatever the umask: they
 * hold names, phone numbers and PIN hashes. The file is created 0600 before SQLite opens it,
 * and SQLite gives its -wal and -shm the database file's mode; all three are set again after.
 */
export async function makePrivate(path: string, log: Logger): Promise<void> {
  const dir = resolve(dirname(path));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (SHARED_DIRS.has(dir) || dir === homedir()) {
    log.warn({ dir }, 'the database is in a shared directory: give it a data dir of its own (it is not made private)');
  } else {
    await chmod(dir, 0o700);
  }
  await (await open(path, 'a', 0o600)).close();
  await chmod(path, 0o600);
}

/** The -wal, -shm and -journal beside the database 0600 again (SQLite makes them as it needs them). */
export async function tightenSidecars(path: string): Promise<void> {
  for (const file of [`${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    await chmod(file, 0o600).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}
