/**
 * The mechanic token key: made once, 0600, the same on every start; a file others may read, or
 * one too short, is refused (a key that may have leaked is replaced, never used).
 */
import { chmod, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { loadOrCreateTokenKey, TOKEN_KEY_FILE_NAME } from '../../kiosk/store/token-key.js';

t.test('made once with mode 0600, then loaded', async (t) => {
  const dir = t.testdir();
  const first = await loadOrCreateTokenKey(dir);
  t.equal(first.length, 32);
  t.equal((await stat(join(dir, TOKEN_KEY_FILE_NAME))).mode & 0o777, 0o600, 'owner only');
  t.same(await loadOrCreateTokenKey(dir), first, 'the same key on the next start');
});

t.test('a key file group or others may read, or a short one, is refused', async (t) => {
  const dir = t.testdir();
  await loadOrCreateTokenKey(dir);
  await chmod(join(dir, TOKEN_KEY_FILE_NAME), 0o644);
  await t.rejects(loadOrCreateTokenKey(dir), { code: 'KEY_FILE_INVALID' });
  const short = t.testdir();
  await writeFile(join(short, TOKEN_KEY_FILE_NAME), 'abc', { mode: 0o600 });
  await t.rejects(loadOrCreateTokenKey(short), { code: 'KEY_FILE_INVALID' });
});
