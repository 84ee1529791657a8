/**
 * A fresh directory for one test's data, removed when the test ends (as tap's t.testdir()).
 *
 * On tmpfs (/dev/shm) when it has room: the lockers under test commit with
 * `synchronous=FULL`, and on a disk every commit waits for its fsync. That proves nothing a
 * test can see (a SIGKILL loses no page cache: the crash runs keep their data in /dev/shm for
 * the same reason, test/invariants/crash/build.ts) but it made the fsync-bound tests, the
 * 1,000-guess attack above all, several times slower whenever other processes were writing.
 * Elsewhere (no /dev/shm, or a container's small one) the system's temporary directory.
 *
 * CODE_SCRATCH_ROOT is for trees whose code runs (an installed release: node loads its native
 * addons from there), so it is /dev/shm only where that is not mounted noexec (Docker's is).
 */
import { mkdtempSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

const ROOM_NEEDED = 1024 ** 3;

function scratchRoot(forCode: boolean): string {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= ROOM_NEEDED && (!forCode || executable('/dev/shm'))) return '/dev/shm';
  } catch {
    // no /dev/shm here
  }
  return tmpdir();
}

/** False when the last mount at `path` in /proc/mounts is noexec, or when that cannot be read. */
function executable(path: string): boolean {
  try {
    const mount = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')).filter((fields) => fields[1] === path).at(-1);
    return mount !== undefined && !(mount[3] ?? '').split(',').includes('noexec');
  } catch {
    return false;
  }
}

const ROOT = scratchRoot(false);

/**
 * Where a test may lay out a tree whose code is run: a release installed by `lockerctl update`
 * or install.sh (thousands of files written and removed: on this machine's disk the update
 * test spent 49 s of system time in file work, on tmpfs 14 s).
 */
export const CODE_SCRATCH_ROOT = scratchRoot(true);

export function scratchDir(t: Test): string {
  const dir = mkdtempSync(join(ROOT, 'keylocker-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
