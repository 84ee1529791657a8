/**
 * The secret the locker signs its mechanic QR tokens with (core/mechanic-token.ts): 32 random
 * bytes in `<dataDir>/mechanic-token.key` (base64url, mode 0600), made at first start. A file
 * group or others may read is refused, as the unit key is (sync/identity.ts): a secret that may
 * have leaked is deleted and made again, which only invalidates tokens alive at that moment.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from './errors.js';

export const TOKEN_KEY_FILE_NAME = 'mechanic-token.key';

export async function loadOrCreateTokenKey(dataDir: string): Promise<Uint8Array> {
  const path = join(dataDir, TOKEN_KEY_FILE_NAME);
  const existing = await readKey(path);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  let handle;
  try {
    handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  } catch (error) {
    // Another process made it first: use that one.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readKey(path)) ?? key;
    throw error;
  }
  try {
    await handle.writeFile(key.toString('base64url'));
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return key;
}

async function readKey(path: string): Promise<Uint8Array | null> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (!info.isFile() || (info.mode & 0o077) !== 0) {
    throw new StoreError('KEY_FILE_INVALID', `${path} must be a regular file readable by its owner only (chmod 600, or delete it to make a new one)`);
  }
  const key = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64url');
  if (key.length < 32) throw new StoreError('KEY_FILE_INVALID', `${path} does not hold a 32-byte key: delete it to make a new one`);
  return key;
}
