/**
 * lockerctl runs as root (sudo), the service as `keylocker`. Every file lockerctl creates in
 * the data directory (a database, SQLite's -wal and -shm, a backup) must belong to the service,
 * or the service could no longer open its own database. So work on the store is done with the
 * data directory owner's effective uid and gid, then root's are taken back. lockerctl does one
 * thing at a time, so nothing else runs meanwhile.
 */
import { stat } from 'node:fs/promises';

export interface Owner {
  uid: number;
  gid: number;
}

export async function ownerOf(path: string): Promise<Owner> {
  const info = await stat(path);
  return { uid: info.uid, gid: info.gid };
}

export async function asOwnerOf<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const owner = await ownerOf(dir);
  const euid = process.geteuid?.();
  if (euid !== 0 || owner.uid === 0 || !process.seteuid || !process.setegid) return work();
  const egid = process.getegid!();
  process.setegid(owner.gid);
  process.seteuid(owner.uid);
  try {
    return await work();
  } finally {
    process.seteuid(0);
    process.setegid(egid);
  }
}
