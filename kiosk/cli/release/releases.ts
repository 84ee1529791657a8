/**
 * Releases side by side under /opt/keylocker/releases/<version>, the `current` symlink, and
 * the little state lockerctl keeps to roll back (state.json).
 *
 * A tarball is listed before it is unpacked (only plain files and directories under one
 * `keylocker-<version>/`), unpacked into a scratch directory beside the releases, checked file
 * by file against its manifest and against this machine (OS, CPU, Node ABI), and only then
 * renamed into place. Anything wrong: the scratch directory goes, nothing else has changed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { OpsError } from '../../errors.js';
import type { Layout } from '../layout.js';
import { checkCompatible, readManifest, verifyTree, VERSION_PATTERN, type Host, type ReleaseManifest, THIS_HOST } from './manifest.js';

const run = promisify(execFile);

export interface InstalledRelease {
  version: string;
  dir: string;
  manifest: ReleaseManifest;
  /** The same release was already there, unchanged: nothing was done. */
  alreadyInstalled: boolean;
}

/** A backup lockerctl took when it left a release, to return to it. */
export interface BackupRecord {
  path: string;
  schemaVersion: number;
  /** The release that was running on that store. */
  release: string | null;
  takenAt: string;
}

export interface ReleaseState {
  previous: string | null;
  backup: BackupRecord | null;
}

export async function installRelease(layout: Layout, tarball: string, host: Host = THIS_HOST): Promise<InstalledRelease> {
  try {
    if (!(await stat(tarball)).isFile()) throw new Error('not a file');
  } catch {
    throw new OpsError('BAD_INPUT', `${tarball}: no such release file`);
  }
  await mkdir(layout.releasesDir, { recursive: true, mode: 0o755 });
  const top = await listTarball(tarball);
  const scratch = await mkdtemp(join(layout.releasesDir, '.incoming-'));
  try {
    try {
      await run('tar', ['--extract', '--gzip', '--file', tarball, '--no-same-owner', '--directory', scratch], { maxBuffer: 16 << 20 });
    } catch (error) {
      throw new OpsError('BAD_RELEASE', `${tarball} could not be unpacked: ${(error as Error).message.split('\n')[0]}`);
    }
    const unpacked = join(scratch, top);
    const manifest = await readManifest(unpacked);
    if (top !== `keylocker-${manifest.version}`) throw new OpsError('BAD_RELEASE', `${tarball}: directory ${top} does not match the manifest's version ${manifest.version}`);
    await verifyTree(unpacked, manifest);
    checkCompatible(manifest, host);
    const dir = join(layout.releasesDir, manifest.version);
    if (existsSync(dir)) {
      try {
        await verifyTree(dir, await readManifest(dir));
        const installedManifest = await readManifest(dir);
        if (JSON.stringify(installedManifest.files) !== JSON.stringify(manifest.files)) throw new Error('different files');
      } catch {
        throw new OpsError('ALREADY_INSTALLED', `release ${manifest.version} is already installed in ${dir} with other content: remove that directory first if it is not the current one`);
      }
      return { version: manifest.version, dir, manifest, alreadyInstalled: true };
    }
    await makeReadOnlyTree(unpacked);
    await rename(unpacked, dir);
    return { version: manifest.version, dir, manifest, alreadyInstalled: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The tarball's entries, before anything is written: one top directory `keylocker-<version>`,
 * nothing but files and directories, no absolute path, no "..". Returns the top directory.
 */
export async function listTarball(tarball: string): Promise<string> {
  let listing: string;
  try {
    listing = (await run('tar', ['--list', '--verbose', '--gzip', '--file', tarball], { maxBuffer: 64 << 20 })).stdout;
  } catch (error) {
    throw new OpsError('BAD_RELEASE', `${tarball} is not a readable tar.gz: ${(error as Error).message.split('\n')[0]}`);
  }
  const tops = new Set<string>();
  for (const line of listing.split('\n')) {
    if (!line) continue;
    // -rw-r--r-- 0/0  1234 2026-01-01 00:00 keylocker-1.0.0/dist/kiosk/main.js
    const match = /^([-d])[rwxsStT-]{9}\s+\S+\s+\d+\s+\S+\s+\S+\s(.+)$/.exec(line);
    if (!match) throw new OpsError('BAD_RELEASE', `${tarball} holds something other than plain files and directories: ${line.slice(0, 120)}`);
    const name = (match[2] ?? '').replace(/\/$/, '');
    const parts = name.split('/');
    if (name.startsWith('/') || parts.some((part) => part === '..' || part === '.')) throw new OpsError('BAD_RELEASE', `${tarball}: entry "${name}" leaves the release directory`);
    tops.add(parts[0] ?? '');
  }
  const [top] = [...tops];
  if (tops.size !== 1 || !top || !top.startsWith('keylocker-') || !VERSION_PATTERN.test(top.slice('keylocker-'.length))) {
    throw new OpsError('BAD_RELEASE', `${tarball} is not a keylocker release (expected one directory keylocker-<version>, found ${[...tops].slice(0, 3).join(', ') || 'nothing'})`);
  }
  return top;
}

/** Code is root's: directories 0755, files 0644 (0755 if executable). Nobody else writes it. */
async function makeReadOnlyTree(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) await makeReadOnlyTree(full);
    else await chmod(full, (await stat(full)).mode & 0o111 ? 0o755 : 0o644);
  }
}

/** The version `current` points at, or null before the first install. */
export async function currentVersion(layout: Layout): Promise<string | null> {
  try {
    return basename(await readlink(layout.currentLink));
  } catch {
    return null;
  }
}

/** Points `current` at a release: a new symlink under a scratch name, renamed over the old one. */
export async function switchCurrent(layout: Layout, version: string): Promise<void> {
  if (!existsSync(join(layout.releasesDir, version))) throw new OpsError('BAD_INPUT', `release ${version} is not installed`);
  const temp = `${layout.currentLink}.${process.pid}.tmp`;
  await rm(temp, { force: true });
  await symlink(join('releases', version), temp);
  await rename(temp, layout.currentLink);
}

export async function installedVersions(layout: Layout): Promise<string[]> {
  try {
    return (await readdir(layout.releasesDir)).filter((name) => !name.startsWith('.')).sort();
  } catch {
    return [];
  }
}

export async function readState(layout: Layout): Promise<ReleaseState> {
  try {
    const raw = JSON.parse(await readFile(layout.stateFile, 'utf8')) as Partial<ReleaseState>;
    return { previous: raw.previous ?? null, backup: raw.backup ?? null };
  } catch {
    return { previous: null, backup: null };
  }
}

export async function writeState(layout: Layout, state: ReleaseState): Promise<void> {
  const temp = `${layout.stateFile}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(temp, layout.stateFile);
}
