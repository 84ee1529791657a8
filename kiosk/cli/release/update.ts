/**
 * `lockerctl update FILE` and `lockerctl rollback`: never leave the locker without a working
 * release.
 *
 * update: check and unpack the release (refused: nothing changed) -> stop the service -> back
 * up the store (checked) -> migrate it with the NEW release's own code -> switch `current` ->
 * start -> wait for health. A failed migration puts the backup back and starts the old release;
 * a release that does not become healthy in time is stopped, `current` switched back, the
 * backup restored if the schema moved, and the old release started again.
 *
 * rollback: back to the release that ran before, restoring the backup taken when it was left
 * if the store's schema has moved on since.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ResolvedConfig } from '../../config/load.js';
import { OpsError, isOpsError } from '../../errors.js';
import { loadOpsConfig, type OpsContext } from '../context.js';
import { waitHealthy } from '../health.js';
import { assertAbsoluteDataDir, placeDatabase, storeSchemaVersion, takeAutomaticBackup } from '../store/backup-restore.js';
import { ownerOf } from '../store/as-owner.js';
import { readManifest, verifyTree } from './manifest.js';
import { currentVersion, installRelease, readState, switchCurrent, writeState, type BackupRecord } from './releases.js';

export interface UpdateResult {
  from: string | null;
  to: string;
  schema: { from: number; to: number };
  backup: string | null;
  healthUrl: string;
  alreadyInstalled: boolean;
}

/**
 * The release that ran before was healthy: bringing it back gets at least this long, however
 * short the technician made the new release's limit.
 */
const KNOWN_GOOD_TIMEOUT_MS = 60_000;

export async function update(ctx: OpsContext, tarball: string): Promise<UpdateResult> {
  const config = await loadOpsConfig(ctx);
  assertAbsoluteDataDir(config.dataDir);
  const release = await installRelease(ctx.layout, tarball);
  ctx.progress(`release ${release.version} checked (${Object.keys(release.manifest.files).length} files) and unpacked in ${release.dir}`);
  const from = await currentVersion(ctx.layout);
  if (from === release.version) throw new OpsError('BAD_INPUT', `release ${release.version} is already the current one`);
  const stateBefore = await readState(ctx.layout);

  ctx.progress(from ? `stopping the service (release ${from})` : 'stopping the service');
  await ctx.service.stop();
  let backup: BackupRecord | null = null;
  let schemaAfter: number;
  let step = 'back up';
  try {
    backup = await takeAutomaticBackup(config.dataDir, `pre-update-${from ?? 'none'}-to-${release.version}`, from);
    if (backup) ctx.progress(`store backed up and checked: ${backup.path} (schema ${backup.schemaVersion})`);
    step = 'migrate';
    schemaAfter = await migrateWithRelease(ctx, release.dir, config);
    ctx.progress(`store migrated with release ${release.version}: schema ${backup?.schemaVersion ?? 0} -> ${schemaAfter}`);
  } catch (error) {
    // Whatever failed before the switch (the backup, the migration), the old release runs again.
    ctx.progress(`could not ${step} the store: ${(error as Error).message}`);
    await restoreIfMoved(ctx, config, backup);
    if (from) {
      await ctx.service.start();
      await waitHealthy({ service: ctx.service, config, version: from, timeoutMs: Math.max(ctx.healthTimeoutMs, KNOWN_GOOD_TIMEOUT_MS) });
    }
    throw new OpsError(
      'MIGRATION_FAILED',
      `release ${release.version} could not ${step} the store (${(error as Error).message}); release ${from ?? 'none'} runs again on the store as it was`,
      { from, to: release.version },
    );
  }
  const schemaBefore = backup?.schemaVersion ?? 0;

  await writeState(ctx.layout, { previous: from, backup });
  await switchCurrent(ctx.layout, release.version);
  ctx.progress(`current -> ${release.version}; starting`);
  await ctx.service.start();
  try {
    const healthy = await waitHealthy({ service: ctx.service, config, version: release.version, timeoutMs: ctx.healthTimeoutMs });
    ctx.progress(`release ${release.version} is healthy (${healthy.url}, ${healthy.waitedMs} ms)`);
    return { from, to: release.version, schema: { from: schemaBefore, to: schemaAfter }, backup: backup?.path ?? null, healthUrl: healthy.url, alreadyInstalled: release.alreadyInstalled };
  } catch (error) {
    if (!isOpsError(error) || error.code !== 'UNHEALTHY') throw error;
    ctx.progress(`${error.message}: switching back`);
    if (!from) throw error;
    await ctx.service.stop();
    await switchCurrent(ctx.layout, from);
    await restoreIfMoved(ctx, config, backup);
    await writeState(ctx.layout, stateBefore);
    await ctx.service.start();
    await waitHealthy({ service: ctx.service, config, version: from, timeoutMs: Math.max(ctx.healthTimeoutMs, KNOWN_GOOD_TIMEOUT_MS) });
    ctx.progress(`release ${from} serves again`);
    throw new OpsError('ROLLED_BACK', `${error.message}; switched back: release ${from} serves again`, {
      from,
      to: release.version,
      reason: error.message,
    });
  }
}

export interface RollbackResult {
  from: string;
  to: string;
  restoredBackup: string | null;
  safetyBackup: string | null;
  healthUrl: string;
}

export async function rollback(ctx: OpsContext): Promise<RollbackResult> {
  const config = await loadOpsConfig(ctx);
  assertAbsoluteDataDir(config.dataDir);
  const state = await readState(ctx.layout);
  const from = await currentVersion(ctx.layout);
  const to = state.previous;
  if (!from || !to) throw new OpsError('NO_PREVIOUS_RELEASE', 'there is no previous release to roll back to');
  const targetDir = join(ctx.layout.releasesDir, to);
  let target;
  try {
    target = await readManifest(targetDir);
    await verifyTree(targetDir, target);
  } catch (error) {
    throw new OpsError('NO_PREVIOUS_RELEASE', `release ${to} is no longer intact in ${targetDir}: ${(error as Error).message}`);
  }
  const schemaNow = await storeSchemaVersion(config.dataDir);
  const restore = schemaNow > target.schemaVersion ? state.backup : null;
  if (schemaNow > target.schemaVersion && (!restore || restore.schemaVersion > target.schemaVersion)) {
    throw new OpsError('NO_PREVIOUS_RELEASE', `the store has schema ${schemaNow}, release ${to} knows up to ${target.schemaVersion}, and there is no backup from before: restore one with lockerctl restore`);
  }
  if (restore) await inspectBackup(restore);

  ctx.progress(`stopping the service (release ${from})`);
  await ctx.service.stop();
  let safety: BackupRecord | null;
  try {
    safety = await takeAutomaticBackup(config.dataDir, `pre-rollback-${from}-to-${to}`, from);
    if (restore) {
      await placeDatabase(config.dataDir, restore.path);
      ctx.progress(`store schema ${schemaNow} is newer than release ${to} knows: restored ${restore.path} (schema ${restore.schemaVersion})`);
    }
  } catch (error) {
    // Nothing switched yet: the current release runs on.
    await ctx.service.start();
    throw error;
  }
  await switchCurrent(ctx.layout, to);
  await writeState(ctx.layout, { previous: from, backup: safety });
  ctx.progress(`current -> ${to}; starting`);
  await ctx.service.start();
  const healthy = await waitHealthy({ service: ctx.service, config, version: to, timeoutMs: ctx.healthTimeoutMs });
  ctx.progress(`release ${to} is healthy (${healthy.url})`);
  return { from, to, restoredBackup: restore?.path ?? null, safetyBackup: safety?.path ?? null, healthUrl: healthy.url };
}

async function inspectBackup(record: BackupRecord): Promise<void> {
  const { inspectDatabaseFile } = await import('../store/store-files.js');
  await inspectDatabaseFile(record.path);
}

/** Puts the backup back when the store's schema is no longer the one it was taken at. */
async function restoreIfMoved(ctx: OpsContext, config: ResolvedConfig, backup: BackupRecord | null): Promise<void> {
  if (!backup) return;
  const now = await storeSchemaVersion(config.dataDir);
  if (now === backup.schemaVersion) return;
  await placeDatabase(config.dataDir, backup.path);
  ctx.progress(`store schema had moved to ${now}: restored the backup (schema ${backup.schemaVersion})`);
}

/**
 * Runs `lockerctl store migrate` of the release being installed, as the store's owner: the
 * schema is the new release's to change, with its own migrations.
 */
async function migrateWithRelease(ctx: OpsContext, releaseDir: string, config: ResolvedConfig): Promise<number> {
  const owner = await ownerOf(config.dataDir);
  const asOwner = process.geteuid?.() === 0 && owner.uid !== 0 ? { uid: owner.uid, gid: owner.gid } : {};
  const child = spawn(ctx.node, [join(releaseDir, 'dist', 'kiosk', 'cli', 'lockerctl.js'), '--root', ctx.layout.root, 'store', 'migrate', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asOwner,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', resolve);
    child.on('error', () => resolve(null));
  });
  let result: { ok?: boolean; schema?: { to?: number }; error?: { message?: string } } = {};
  try {
    result = JSON.parse(stdout) as typeof result;
  } catch {
    // a crash before lockerctl could report: stderr says why
  }
  if (code !== 0 || typeof result.schema?.to !== 'number') {
    throw new Error(result.error?.message ?? (stderr.trim().split('\n').at(-1) || `lockerctl store migrate exited ${code}`));
  }
  return result.schema.to;
}
