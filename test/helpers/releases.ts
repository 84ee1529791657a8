/**
 * Release tarballs for tests, built from this checkout by the real builder (npm run release),
 * with dist/ compiled once and reused; a release may be patched before it is hashed (a
 * migration added, /health broken) to play a newer version.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRelease, compileDist, type BuiltRelease } from '../../deploy/release/build-release.js';

export const CHECKOUT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

export interface ReleaseFactory {
  dir: string;
  build(version: string, ...patches: ((stage: string) => Promise<void>)[]): Promise<BuiltRelease>;
  cleanup(): Promise<void>;
}

export async function releaseFactory(): Promise<ReleaseFactory> {
  const dir = await mkdtemp(join(tmpdir(), 'kl-releases-'));
  const distDir = join(dir, 'dist');
  await compileDist(CHECKOUT, join(CHECKOUT, 'node_modules'), distDir);
  return {
    dir,
    build: (version, ...patches) =>
      buildRelease({
        version,
        distDir,
        outDir: join(dir, 'out'),
        patch: async (stage) => {
          for (const patch of patches) await patch(stage);
        },
      }),
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
export function withMigration(sql = 'CREATE TABLE release_marker (id INTEGER PRIMARY KEY)') {
  return (stage: string) =>
    patchFile(
      stage,
      'dist/kiosk/store/migrations.js',
      LATEST_LINE,
      `MIGRATIONS.push({ version: MIGRATIONS.length + 1, name: 'test: a newer release', up: ${JSON.stringify(sql)} });\n${LATEST_LINE}`,
    );
}

/** The release starts and says READY, but /health answers 503. */
export function withBrokenHealth() {
  return (stage: string) =>
    patchFile(stage, 'dist/kiosk/server/server.js', "res.json({ status: 'ok', ...(await options.health()) });", "res.status(503).json({ status: 'broken' });");
}

/** Unpacks a tarball, lets `change` alter the tree, packs it again under the same name elsewhere. */
export async function tamperedCopy(tarball: string, outDir: string, change: (top: string) => Promise<void>): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'kl-tamper-'));
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
