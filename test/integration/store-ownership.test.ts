/**
 * lockerctl runs as root, the service as its own user: whatever lockerctl writes in the data
 * directory (a backup, a restored store, SQLite's -wal and -shm) must belong to the directory's
 * owner, or the service could not open its own store afterwards. Runs where the tests run as
 * root (CI); skipped (and counted) elsewhere.
 */
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { placeDatabase, takeAutomaticBackup } from '../../kiosk/cli/store/backup-restore.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase } from '../../kiosk/store/db.js';

const NOBODY = 65534;
const skip = process.geteuid?.() === 0 ? false : 'needs root (as lockerctl runs)';

t.test('backups and restores in the data directory belong to its owner, not to root', { skip }, async (t) => {
  const top = mkdtempSync(join(tmpdir(), 'kl-owner-'));
  t.teardown(() => rmSync(top, { recursive: true, force: true }));
  chmodSync(top, 0o755);
  const dataDir = join(top, 'data');
  const db = await openDatabase(join(dataDir, 'keylocker.db'), createSilentLogger());
  await db.close();
  for (const name of ['', ...readdirSync(dataDir)]) chownSync(join(dataDir, name), NOBODY, NOBODY);

  const backup = await takeAutomaticBackup(dataDir, 'pre-test', '1.0.0');
  t.ok(backup, 'a backup was taken');
  t.equal(statSync(backup!.path).uid, NOBODY, 'the backup is the service user’s');
  t.equal(statSync(join(dataDir, 'backups')).uid, NOBODY, 'and so is its directory');
  t.equal(statSync(backup!.path).mode & 0o777, 0o600);

  await placeDatabase(dataDir, backup!.path);
  for (const name of readdirSync(dataDir)) {
    t.equal(statSync(join(dataDir, name)).uid, NOBODY, `${name} belongs to the service user`);
  }
  t.notOk(existsSync(join(dataDir, `.incoming-${process.pid}.db`)), 'no staging file left');
  t.equal(process.geteuid?.(), 0, 'root again afterwards');
});
