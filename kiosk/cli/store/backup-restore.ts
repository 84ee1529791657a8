/**
 * `lockerctl backup FILE` and `lockerctl restore FILE`, and the automatic backups an update or
 * a rollback takes. Backups are checked (integrity_check, a keylocker schema version) when made
 * and before they are used; a bad one is refused before anything is stopped or replaced.
 */
import { chmod, chown, copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { OpsError } from '../../errors.js';
import { databasePath, loadOpsConfig, type OpsContext } from '../context.js';
import { waitHealthy } from '../health.js';
import { BACKUP_SUBDIR } from '../layout.js';
import { readManifest } from '../release/manifest.js';
import { currentVersion, type BackupRecord } from '../release/releases.js';
import { asOwnerOf, ownerOf } from './as-owner.js';
import { backupDatabase, inspectDatabaseFile, liveSchemaVersion, replaceDatabase } from './store-files.js';

export interface BackupResult {
  file: string;
  bytes: number;
  schemaVersion: number;
  integrity: 'ok';
}

export function assertAbsoluteDataDir(dataDir: string): void {
  if (!isAbsolute(dataDir)) throw new OpsError('BAD_INPUT', `dataDir "${dataDir}" in the config is relative: an installed locker needs an absolute one (/var/lib/keylocker)`);
}

/**
 * A checked backup of the store into `<dataDir>/backups/`, owned by the service like the
 * store itself. null when there is no database yet (a first install).
 */
export async function takeAutomaticBackup(dataDir: string, label: string, release: string | null): Promise<BackupRecord | null> {
  const dbPath = join(dataDir, 'keylocker.db');
  try {
    await stat(dbPath);
  } catch {
    return null;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(dataDir, BACKUP_SUBDIR, `${label}-${stamp}.db`);
  const facts = await asOwnerOf(dataDir, async () => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const result = await backupDatabase(dbPath, path);
    await chmod(path, 0o600);
    return result;
  });
  return { path, schemaVersion: facts.schemaVersion, release, takenAt: new Date().toISOString() };
}

/** `lockerctl backup FILE`: an online backup while the service runs, checked, at mode 0600. */
export async function backupToFile(ctx: OpsContext, file: string): Promise<BackupResult> {
  const config = await loadOpsConfig(ctx);
  assertAbsoluteDataDir(config.dataDir);
  const dest = resolve(file);
  try {
    await stat(dirname(dest));
  } catch {
    throw new OpsError('BAD_INPUT', `${dirname(dest)}: no such directory for the backup`);
  }
  // Made beside the store as its owner, then moved where the technician asked.
  const record = await takeAutomaticBackup(config.dataDir, 'manual', await currentVersion(ctx.layout));
  if (!record) throw new OpsError('BAD_INPUT', `there is no database at ${databasePath(config)} to back up`);
  try {
    await rename(record.path, dest);
  } catch {
    await copyFile(record.path, dest);
    await rm(record.path, { force: true });
  }
  await chmod(dest, 0o600);
  const facts = await inspectDatabaseFile(dest);
  return { file: dest, bytes: facts.bytes, schemaVersion: facts.schemaVersion, integrity: 'ok' };
}

export interface RestoreResult {
  file: string;
  schemaVersion: number;
  /** The store as it was before, kept in case the restore was a mistake. */
  safetyBackup: string | null;
  healthy: boolean;
}

/**
 * `lockerctl restore FILE`: refuse a backup that fails its check or comes from a schema newer
 * than the current release knows, before anything is stopped. Then stop the service, keep a
 * backup of the store as it is, put the file in place (owned by the service), start, and wait
 * for health. The release migrates an older backup when it starts.
 */
export async function restoreFromFile(ctx: OpsContext, file: string): Promise<RestoreResult> {
  const config = await loadOpsConfig(ctx);
  assertAbsoluteDataDir(config.dataDir);
  const source = resolve(file);
  const facts = await inspectDatabaseFile(source);
  const version = await currentVersion(ctx.layout);
  if (version) {
    const manifest = await readManifest(join(ctx.layout.releasesDir, version));
    if (facts.schemaVersion > manifest.schemaVersion) {
      throw new OpsError('SCHEMA_TOO_NEW', `${source} has store schema ${facts.schemaVersion}; release ${version} knows up to ${manifest.schemaVersion}: update first`);
    }
  }
  ctx.progress('stopping the service');
  await ctx.service.stop();
  const safety = await takeAutomaticBackup(config.dataDir, 'pre-restore', version);
  await placeDatabase(config.dataDir, source);
  ctx.progress(`restored ${source}`);
  let healthy = false;
  if (ctx.service.kind !== 'none' && version) {
    await ctx.service.start();
    try {
      await waitHealthy({ service: ctx.service, config, version, timeoutMs: ctx.healthTimeoutMs });
    } catch (error) {
      const kept = safety ? `; the store before the restore is kept in ${safety.path} (lockerctl restore it to go back)` : '';
      throw new OpsError('UNHEALTHY', `${(error as Error).message}${kept}`, { safetyBackup: safety?.path ?? null });
    }
    healthy = true;
  }
  return { file: source, schemaVersion: facts.schemaVersion, safetyBackup: safety?.path ?? null, healthy };
}

/** Copies a checked database file over the store, owned like the data directory. */
export async function placeDatabase(dataDir: string, source: string): Promise<void> {
  const dbPath = join(dataDir, 'keylocker.db');
  const owner = await ownerOf(dataDir);
  // The source may be readable by root only (a technician's file): copy it in as root first.
  const staged = join(dataDir, `.incoming-${process.pid}.db`);
  await copyFile(source, staged);
  try {
    if (process.geteuid?.() === 0) await chown(staged, owner.uid, owner.gid);
    await chmod(staged, 0o600);
    await asOwnerOf(dataDir, () => replaceDatabase(dbPath, staged));
  } finally {
    await rm(staged, { force: true });
  }
}

export async function storeSchemaVersion(dataDir: string): Promise<number> {
  return asOwnerOf(dataDir, () => liveSchemaVersion(join(dataDir, 'keylocker.db')));
}
