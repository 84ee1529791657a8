/**
 * Issue 8, finding 6: the data dir is private (0700) and the databases with their -wal and -shm,
 * and their backups, are 0600, whatever the umask (the service outside systemd had 0755 and
 * 0644). Run with umask 0, the most permissive there is.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase } from '../../kiosk/store/db.js';

t.test('finding 6: the data dir is 0700 and the databases (with -wal and -shm) 0600, whatever the umask', async (t) => {
  const previous = process.umask(0);
  t.teardown(() => process.umask(previous));
  const dir = join(t.testdir(), 'data');
  const path = join(dir, 'keylocker.db');
  const db = await openDatabase(path, createSilentLogger());
  t.teardown(() => db.close());
  await db.transaction((tx) => tx.run("INSERT INTO settings (key, value) VALUES ('k', 'v')"));
  await db.backup(join(dir, 'copy.db'));
  const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
  t.equal(mode(dir), '700');
  for (const file of [path, `${path}-wal`, `${path}-shm`, join(dir, 'copy.db')]) t.equal(mode(file), '600', file.slice(dir.length));
});
