/**
 * Release tarballs for tests, built from this checkout by the real builder (npm run release),
 * with dist/ compiled once and reused; a release may be patched before it is hashed (a
 * migration added, /health broken) to play a newer version.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRelease, compileDist, type BuiltRelease } from '../../deploy/release/build-release.js';
import { CODE_SCRATCH_ROOT } from './scratch.js';

export const CHECKOUT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** A change to a staged release, with a key that says exactly what it does (for the cache). */
export type Patch = ((stage: string) => Promise<void>) & { key: string };

function patch(key: string, apply: (stage: string) => Promise<void>): Patch {
  return Object.assign(apply, { key });
}

export interface ReleaseFactory {
  dir: string;
  /** `name` names the release in the cache; the patches' keys and the sources make the key. */
  build(version: string, name: string, ...patches: Patch[]): Promise<BuiltRelease>;
  cleanup(): Promise<void>;
}

/** What a release is made of here; a change to any of it makes new releases. */
const INPUTS = ['test/helpers/releases.ts', 'controller', 'kiosk', 'ui', 'systemd', 'deploy', 'docs/operations.md', 'docs/security.md', 'docs/schemas', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'node_modules/.package-lock.json'];

let inputsHash: string | null = null;

/** Once per process: the sources do not change under a test run. */
function hashInputs(): string {
  inputsHash ??= computeInputsHash();
  return inputsHash;
}

function computeInputsHash(): string {
  const hash = createHash('sha256').update(`${process.version} ${process.arch}\n`);
  const walk = (path: string): void => {
    if (!existsSync(path)) return;
    const stat = statSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else hash.update(`${path}\n`).update(readFileSync(path));
  };
  for (const input of INPUTS) walk(join(CHECKOUT, input));
  return hash.digest('hex').slice(0, 16);
}

/** Where this checkout's test builds are kept, keyed by everything they are made of. */
export function buildCache(): string {
  return join(tmpdir(), 'keylocker-test-releases', hashInputs());
}

const LOCK_WAIT_MS = 10 * 60_000;
const LOCK_POLL_MS = 500;

/**
 * `dist/` compiled by the release builder's own step (`compileDist`: tsc with its type check,
 * the validators precompiled), once per key: the test files that need it (the releases here,
 * the crash runs' bundle) share one compile, also when two tap jobs ask at the same time. The
 * first takes a lock (a directory holding its pid) and compiles into a directory of its own,
 * renamed into place whole; the others wait for it (polling twice a second, bounded), or take
 * over if its process is gone.
 */
export async function sharedDist(): Promise<string> {
  const cache = buildCache();
  await mkdir(cache, { recursive: true });
  const distDir = join(cache, 'dist');
  const lock = join(cache, '.dist-lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  while (!existsSync(join(distDir, 'kiosk', 'main.js'))) {
    if (await takeLock(lock)) {
      const work = await mkdtemp(join(cache, '.work-'));
      try {
        if (!existsSync(join(distDir, 'kiosk', 'main.js'))) {
          const fresh = join(work, 'dist');
          await compileDist(CHECKOUT, join(CHECKOUT, 'node_modules'), fresh);
          await rename(fresh, distDir).catch(() => undefined); // got there first some other way: same content
        }
      } finally {
        await rm(work, { recursive: true, force: true });
        await rm(lock, { recursive: true, force: true });
      }
      break;
    }
    if (Date.now() > deadline) throw new Error(`waited ${LOCK_WAIT_MS / 1000} s for another test process to compile ${distDir} (lock ${lock})`);
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  return distDir;
}

/** True if this process now holds the lock; a lock whose process is gone is taken over. */
async function takeLock(lock: string): Promise<boolean> {
  try {
    await mkdir(lock);
    await writeFile(join(lock, 'pid'), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const pid = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => ''));
  // A holder that is gone, or one that died before writing its pid (a lock a minute old without one).
  const orphan = pid > 0 ? !alive(pid) : Date.now() - ((await stat(lock).catch(() => null))?.mtimeMs ?? Date.now()) > 60_000;
  if (orphan) await rm(lock, { recursive: true, force: true }); // taken next round
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Releases built by the real builder from this checkout, kept in a cache keyed by everything
 * they are made of (sources, lock file, installed modules, Node), so the test files that need
 * releases, and later runs, build each one once: dist/ is compiled once per key (sharedDist),
 * each patched release packed once. A tarball enters the cache by rename, whole or not at all.
 */
export async function releaseFactory(): Promise<ReleaseFactory> {
  const cache = buildCache();
  const distDir = await sharedDist();
  const dir = await mkdtemp(join(cache, '.work-'));
  return {
    dir,
    async build(version, name, ...patches) {
      const patchKey = createHash('sha256').update(patches.map((p) => p.key).join('\n')).digest('hex').slice(0, 12);
      const cached = join(cache, `${version}-${name}-${patchKey}.json`);
      if (existsSync(cached)) {
        const built = JSON.parse(await readFile(cached, 'utf8')) as BuiltRelease;
        if (existsSync(built.tarball)) return built;
      }
      // Staged and packed on tmpfs where there is one (scratch.ts): the builder copies some
      // 4,000 files per release, which on this machine's disk was most of a cold build's
      // system time; only the tarball and its checksum go to the cache on disk.
      const scratch = await mkdtemp(join(CODE_SCRATCH_ROOT, 'kl-release-'));
      const out = join(dir, `out-${version}-${name}-${patchKey}`);
      let built: BuiltRelease;
      try {
        built = await buildRelease({
          version,
          distDir,
          outDir: scratch,
          patch: async (stage) => {
            for (const patch of patches) await patch(stage);
          },
        });
        await cp(scratch, out, { recursive: true });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      const finalDir = join(cache, `${version}-${name}-${patchKey}`);
      await rm(finalDir, { recursive: true, force: true });
      await rename(out, finalDir);
      const result = { ...built, tarball: join(finalDir, built.tarball.split('/').at(-1)!) };
      const temp = `${cached}.${process.pid}.tmp`;
      await writeFile(temp, JSON.stringify(result));
      await rename(temp, cached);
      return result;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Replaces one exact piece of a staged file; fails loudly if the piece is not there. */
export async function patchFile(stage: string, path: string, from: string, to: string): Promise<void> {
  const full = join(stage, path);
  const text = await readFile(full, 'utf8');
  if (!text.includes(from)) throw new Error(`patch: ${path} has no ${JSON.stringify(from)}`);
  await writeFile(full, text.replace(from, to));
}

const LATEST_LINE = 'export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;';

/** The release carries one more migration: a table of its own. */
export function withMigration(sql = 'CREATE TABLE release_marker (id INTEGER PRIMARY KEY)'): Patch {
  return patch(`migration ${sql}`, (stage: string) =>
    patchFile(
      stage,
      'dist/kiosk/store/migrations.js',
      LATEST_LINE,
      `MIGRATIONS.push({ version: MIGRATIONS.length + 1, name: 'test: a newer release', up: ${JSON.stringify(sql)} });\n${LATEST_LINE}`,
    ),
  );
}

/** The release starts and says READY, but /health answers 503. */
export function withBrokenHealth(): Patch {
  const from = "res.json({ status: 'ok', ...(await options.health()) });";
  const to = "res.status(503).json({ status: 'broken' });";
  return patch(`health ${from} -> ${to}`, (stage: string) => patchFile(stage, 'dist/kiosk/server/server.js', from, to));
}

/** Unpacks a tarball, lets `change` alter the tree, packs it again under the same name elsewhere. */
export async function tamperedCopy(tarball: string, outDir: string, change: (top: string) => Promise<void>): Promise<string> {
  const work = await mkdtemp(join(CODE_SCRATCH_ROOT, 'kl-tamper-'));
  try {
    await run('tar', ['-xzf', tarball, '-C', work]);
    const { readdir } = await import('node:fs/promises');
    const [top] = await readdir(work);
    await change(join(work, top!));
    await mkdir(outDir, { recursive: true });
    const out = join(outDir, tarball.split('/').at(-1)!);
    await run('tar', ['-czf', out, '-C', work, top!]);
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
