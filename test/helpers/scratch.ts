/**
 * A fresh directory for one test's data, removed when the test ends (as tap's t.testdir()).
 *
 * On tmpfs (/dev/shm) when it has room: the lockers under test commit with
 * `synchronous=FULL`, and on a disk every commit waits for its fsync. That proves nothing a
 * test can see (a SIGKILL loses no page cache: the crash runs keep their data in /dev/shm for
 * the same reason, test/invariants/crash/build.ts) but it made the fsync-bound tests, the
 * 1,000-guess attack above all, several times slower whenever other processes were writing.
 * Elsewhere (no /dev/shm, or a container's small one) the system's temporary directory.
 */
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

const ROOM_NEEDED = 1024 ** 3;

function scratchRoot(): string {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= ROOM_NEEDED) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return tmpdir();
}

const ROOT = scratchRoot();

export function scratchDir(t: Test): string {
  const dir = mkdtempSync(join(ROOT, 'keylocker-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
