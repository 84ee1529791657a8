/**
 * Where an installed locker keeps things. `root` is "/" on a Pi; tests and image builders use a
 * prefix (`lockerctl --root DIR`, `deploy/install.sh --root DIR`). Paths inside the config file
 * (dataDir) are taken as written.
 */
import { join } from 'node:path';

export interface Layout {
  root: string;
  /** /opt/keylocker: root-owned, read-only to the service and the kiosk user. */
  appDir: string;
  /** One directory per installed release, named by its version. */
  releasesDir: string;
  /** A symlink to releases/<version>: what the service runs. Swapped atomically. */
  currentLink: string;
  /** Which release ran before, and the backup taken when leaving it (JSON). */
  stateFile: string;
  configFile: string;
}

export function layoutFor(root = '/'): Layout {
  const appDir = join(root, 'opt', 'keylocker');
  return {
    root,
    appDir,
    releasesDir: join(appDir, 'releases'),
    currentLink: join(appDir, 'current'),
    stateFile: join(appDir, 'state.json'),
    configFile: join(root, 'etc', 'keylocker', 'locker.json'),
  };
}

/** The database file in a data directory, and where automatic backups go beside it. */
export const DB_FILE = 'keylocker.db';
export const BACKUP_SUBDIR = 'backups';
