/**
 * Update and rollback without a Pi: real release tarballs built from this checkout, installed
 * side by side into a temporary root, the service run by the process runner (a child process
 * with a NOTIFY_SOCKET, as systemd would), /health asked over HTTP.
 *
 * The story: 1.0.0 runs with some data; 1.2.0 (with a migration) fails its health check and
 * 1.0.0 serves again with its data and schema; 1.3.0's migration fails and 1.0.0 keeps
 * running; 1.1.0 (with the same migration) is a good update; `rollback` returns to 1.0.0 and
 * its schema. Also: a tampered tarball, a release for another machine, a corrupt backup.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readlink, rm, writeFile, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { BuiltRelease } from '../../deploy/release/build-release.js';
import type { OpsContext } from '../../kiosk/cli/context.js';
import { loadOpsConfig } from '../../kiosk/cli/context.js';
import { waitHealthy } from '../../kiosk/cli/health.js';
import { layoutFor } from '../../kiosk/cli/layout.js';
import { runLockerctl } from '../../kiosk/cli/program.js';
import { MANIFEST_FILE } from '../../kiosk/cli/release/manifest.js';
import { rollback, update } from '../../kiosk/cli/release/update.js';
import { ProcessServiceManager } from '../../kiosk/cli/service/process-runner.js';
import { liveSchemaVersion } from '../../kiosk/cli/store/store-files.js';
import { isOpsError, type OpsErrorCode } from '../../kiosk/errors.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase } from '../../kiosk/store/db.js';
import { LATEST_SCHEMA_VERSION } from '../../kiosk/store/migrations.js';
import { releaseFactory, tamperedCopy, withBrokenHealth, withMigration } from '../helpers/releases.js';
import { CODE_SCRATCH_ROOT } from '../helpers/scratch.js';
import { plainEnv } from '../invariants/crash/build.js';

// Building four releases and restarting the service a dozen times takes a while on a busy machine.
t.setTimeout(600_000);
const factory = await releaseFactory();
t.teardown(() => factory.cleanup());
// One build of dist/, four releases made from it.
const v100 = await factory.build('1.0.0', 'plain');
const v110 = await factory.build('1.1.0', 'migration', withMigration());
const v120 = await factory.build('1.2.0', 'migration-broken-health', withMigration(), withBrokenHealth());
const v130 = await factory.build('1.3.0', 'failing-migration', withMigration('CREATE TABLE compartments (id INTEGER)'));

interface Locker {
  root: string;
  ctx: OpsContext;
  runner: ProcessServiceManager;
  dataDir: string;
  progress: string[];
}

async function newLocker(t: Test): Promise<Locker> {
  // On tmpfs where it may run code (scratch.ts): each update unpacks and checks thousands of files.
  const root = await mkdtemp(join(CODE_SCRATCH_ROOT, 'kl-root-'));
  const layout = layoutFor(root);
  const dataDir = join(root, 'var', 'lib', 'keylocker');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(join(root, 'etc', 'keylocker'), { recursive: true });
  await writeFile(
    layout.configFile,
    JSON.stringify({ unitId: 'ci-locker-1', dataDir, server: { port: 0 }, hardware: { kind: 'sim' }, log: { level: 'warn' } }),
  );
  // The service without the test runner's hooks (NODE_OPTIONS loads tap's process tracker into
  // every node child: about 0.3 s of CPU per start, and it is not the code under test).
  const runner = new ProcessServiceManager({ currentLink: layout.currentLink, configFile: layout.configFile, env: plainEnv() });
  const progress: string[] = [];
  const ctx: OpsContext = { layout, service: runner, progress: (line) => progress.push(line), healthTimeoutMs: 20_000, node: process.execPath };
  t.teardown(async () => {
    await runner.close();
    await rm(root, { recursive: true, force: true });
  });
  return { root, ctx, runner, dataDir, progress };
}

async function health(runner: ProcessServiceManager): Promise<{ version: string; compartments: Record<string, number> }> {
  const url = runner.healthUrl();
  if (!url) throw new Error('the service has not said where it serves');
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`/health answered ${response.status}`);
  return (await response.json()) as { version: string; compartments: Record<string, number> };
}

/** Data only this store has: compartment 3 quarantined by a technician. Written with the service stopped. */
async function markStore(locker: Locker): Promise<void> {
  await locker.runner.stop();
  const db = await openDatabase(join(locker.dataDir, 'keylocker.db'), createSilentLogger());
  await db.run("UPDATE compartments SET state = 'quarantined', quarantine_reason = 'ci: data that must survive' WHERE id = 3");
  await db.close();
  await locker.runner.start();
  const config = await loadOpsConfig(locker.ctx);
  await waitHealthy({ service: locker.runner, config, version: '1.0.0', timeoutMs: 30_000 });
}

async function expectOpsError(t: Test, promise: Promise<unknown>, code: OpsErrorCode): Promise<string> {
  try {
    await promise;
  } catch (error) {
    t.ok(isOpsError(error), 'an OpsError');
    t.equal(isOpsError(error) ? error.code : String(error), code);
    return error instanceof Error ? error.message : '';
  }
  t.fail(`expected ${code}, got success`);
  return '';
}

async function hasTable(dataDir: string, table: string): Promise<boolean> {
  const sqlite3 = (await import('sqlite3')).default;
  return new Promise((resolve, reject) => {
    const raw = new sqlite3.Database(join(dataDir, 'keylocker.db'), sqlite3.OPEN_READONLY, (error) => {
      if (error) return reject(error);
      raw.get("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", [table], (e, row) => {
        raw.close();
        if (e) reject(e);
        else resolve(row !== undefined);
      });
    });
  });
}

t.test('releases: what is in them', async (t) => {
  const files = Object.keys(v100.manifest.files);
  t.ok(files.includes('dist/kiosk/main.js'), 'the service');
  t.ok(files.includes('dist/kiosk/cli/lockerctl.js'), 'lockerctl');
  t.ok(files.includes('ui/bottom/index.html'), 'the screens');
  t.ok(files.includes('systemd/keylocker.service'), 'the unit');
  t.ok(files.includes('deploy/kiosk/autostart') && files.includes('deploy/install.sh'), 'the kiosk files and the installer');
  t.ok(files.some((f) => /^node_modules\/sqlite3\/.*\.node$/.test(f)), 'sqlite3 built');
  t.ok(files.some((f) => /^node_modules\/unix-dgram\/.*\.node$/.test(f)), 'the notify addon built');
  t.notOk(files.some((f) => f.startsWith('test/') || f.includes('reference-backoffice') || f.startsWith('dist/test/')), 'nothing of test/, no reference back office');
  const devDeps = Object.keys((JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies);
  for (const dev of devDeps) t.notOk(files.some((f) => f.startsWith(`node_modules/${dev}/`)), `no devDependency ${dev}`);
  t.notOk(files.some((f) => f.includes('/prebuilds/') && !f.includes(`/prebuilds/${process.platform}-${process.arch}/`)), "no other system's prebuilt binaries");
  t.match(v100.manifest, { version: '1.0.0', platform: process.platform, arch: process.arch, node: { abi: process.versions.modules }, schemaVersion: LATEST_SCHEMA_VERSION });
  t.equal(v110.manifest.schemaVersion, LATEST_SCHEMA_VERSION + 1, "a patched migration shows in the manifest's schema version");
  t.ok(existsSync(`${v100.tarball}.sha256`));
  t.comment(`release 1.0.0: ${(v100.bytes / 1048576).toFixed(1)} MiB, ${v100.files} files`);
});

t.test('a failed health check switches back to the old release, with its data; a good update; rollback', async (t) => {
  const locker = await newLocker(t);
  const { ctx, runner, dataDir } = locker;

  const first = await update(ctx, v100.tarball);
  t.match(first, { from: null, to: '1.0.0', schema: { from: 0, to: LATEST_SCHEMA_VERSION } }, 'the first install is an update from nothing');
  t.equal(await readlink(ctx.layout.currentLink), join('releases', '1.0.0'));
  await markStore(locker);
  t.equal((await health(runner)).compartments.quarantined, 1, '1.0.0 serves its data');
  const oldPid = runner.pid;

  // 1.2.0 migrates the store (schema +1), starts, says READY, but /health answers 503 for the
  // 3 s it has after READY (however long its start took).
  ctx.healthTimeoutMs = 3_000;
  const message = await expectOpsError(t, update(ctx, v120.tarball), 'ROLLED_BACK');
  t.match(message, /^release 1\.2\.0 did not become healthy: not healthy within 3 s after it was ready: GET http:\S+\/health answered 503; switched back: release 1\.0\.0 serves again$/);
  t.ok(locker.progress.some((line) => line.includes(`schema ${LATEST_SCHEMA_VERSION} -> ${LATEST_SCHEMA_VERSION + 1}`)), 'its migration had run');
  t.equal(await readlink(ctx.layout.currentLink), join('releases', '1.0.0'), 'current points at 1.0.0 again');
  const served = await health(runner);
  t.equal(served.version, '1.0.0', 'the old release serves again');
  t.equal(served.compartments.quarantined, 1, 'with its data');
  t.not(runner.pid, oldPid, 'a new process');
  t.equal(await liveSchemaVersion(join(dataDir, 'keylocker.db')), LATEST_SCHEMA_VERSION, 'the backup from before the migration was put back');
  t.notOk(await hasTable(dataDir, 'release_marker'));
  t.ok(existsSync(join(ctx.layout.releasesDir, '1.2.0')), 'the failed release stays installed beside, for a look');

  // 1.3.0's migration fails: the old release keeps running on the store as it was.
  ctx.healthTimeoutMs = 20_000;
  const migration = await expectOpsError(t, update(ctx, v130.tarball), 'MIGRATION_FAILED');
  t.match(migration, /release 1\.3\.0 could not migrate the store .*table compartments already exists/);
  t.equal(await readlink(ctx.layout.currentLink), join('releases', '1.0.0'));
  t.equal((await health(runner)).version, '1.0.0');
  t.equal(await liveSchemaVersion(join(dataDir, 'keylocker.db')), LATEST_SCHEMA_VERSION);

  // A good update.
  const good = await update(ctx, v110.tarball);
  t.match(good, { from: '1.0.0', to: '1.1.0', schema: { from: LATEST_SCHEMA_VERSION, to: LATEST_SCHEMA_VERSION + 1 } });
  t.ok(good.backup && existsSync(good.backup), 'the backup taken before it is kept');
  const updated = await health(runner);
  t.equal(updated.version, '1.1.0');
  t.equal(updated.compartments.quarantined, 1, 'the data came along');
  t.ok(await hasTable(dataDir, 'release_marker'), "1.1.0's migration ran");
  t.equal(statSync(join(ctx.layout.releasesDir, '1.1.0', 'dist', 'kiosk', 'main.js')).mode & 0o022, 0, 'code is writable by its owner only');

  // And back.
  const back = await rollback(ctx);
  t.match(back, { from: '1.1.0', to: '1.0.0' });
  t.ok(back.restoredBackup, 'the schema had moved on: the backup from before the update was restored');
  t.ok(back.safetyBackup && existsSync(back.safetyBackup), 'the store as it was under 1.1.0 is kept');
  const rolled = await health(runner);
  t.equal(rolled.version, '1.0.0');
  t.equal(rolled.compartments.quarantined, 1);
  t.equal(await liveSchemaVersion(join(dataDir, 'keylocker.db')), LATEST_SCHEMA_VERSION);
  t.notOk(await hasTable(dataDir, 'release_marker'));

  // rollback again returns to 1.1.0 (the previous release is now 1.1.0), and its schema comes from its own migration at start.
  const json: string[] = [];
  const code = await runLockerctl(['--root', locker.root, 'releases', '--json'], { io: { stdout: (s) => json.push(s), stderr: () => undefined }, env: {}, serviceManager: runner });
  t.equal(code, 0);
  t.match(JSON.parse(json.join('')), { ok: true, command: 'releases', current: '1.0.0', previous: '1.1.0', installed: ['1.0.0', '1.1.0', '1.2.0', '1.3.0'] });
});

t.test('refused before anything changes: a tampered file, a release for another machine, a corrupt backup', async (t) => {
  const locker = await newLocker(t);
  const { ctx, runner, root } = locker;
  await update(ctx, v100.tarball);
  const pid = runner.pid;
  const releasesBefore = readdirSync(ctx.layout.releasesDir).sort();
  const out: string[] = [];
  const err: string[] = [];
  const lockerctl = (...args: string[]) =>
    runLockerctl(['--root', root, ...args], { io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, env: {}, serviceManager: runner });
  const lastJson = () => JSON.parse(out.at(-1) ?? '{}') as { ok: boolean; error?: { code: string; message: string } };

  const tampered = await tamperedCopy(v110.tarball, join(root, 'tampered'), async (top) => {
    const main = join(top, 'dist', 'kiosk', 'main.js');
    writeFileSync(main, `${readFileSync(main, 'utf8')}\n// one more line\n`);
  });
  t.equal(await lockerctl('update', tampered, '--json'), 3, 'exit code 3: refused');
  t.match(lastJson(), { ok: false, error: { code: 'CHECKSUM_MISMATCH', message: /dist\/kiosk\/main\.js: sha256 / } });

  const foreign = await tamperedCopy(v110.tarball, join(root, 'foreign'), async (top) => {
    const path = join(top, MANIFEST_FILE);
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    writeFileSync(path, JSON.stringify({ ...manifest, arch: process.arch === 'arm64' ? 'x64' : 'arm64', node: { ...(manifest.node as object), abi: '999' } }));
  });
  t.equal(await lockerctl('update', foreign), 3);
  t.match(err.at(-1), /lockerctl update: release 1\.1\.0 was built for another machine: CPU .*Node ABI 999/);

  const linked = await tamperedCopy(v110.tarball, join(root, 'linked'), async (top) => {
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/passwd', join(top, 'ui', 'passwd'));
  });
  t.equal(await lockerctl('update', linked, '--json'), 3);
  t.match(lastJson(), { ok: false, error: { code: 'BAD_RELEASE' } });

  t.equal(await lockerctl('update', join(root, 'no-such.tar.gz'), '--json'), 3);
  t.same(readdirSync(ctx.layout.releasesDir).sort(), releasesBefore, 'no release was added');
  t.equal(await readlink(ctx.layout.currentLink), join('releases', '1.0.0'));
  t.equal(runner.pid, pid, 'the service was never stopped');

  // Backups: an online one while the service runs, then a corrupt copy refused.
  const backup = join(root, 'locker.backup.db');
  t.equal(await lockerctl('backup', backup, '--json'), 0);
  t.match(lastJson(), { ok: true, file: backup, integrity: 'ok', schemaVersion: LATEST_SCHEMA_VERSION });
  t.equal(statSync(backup).mode & 0o777, 0o600);
  t.equal(runner.pid, pid, 'online: the service kept running');

  const corrupt = join(root, 'corrupt.db');
  writeFileSync(corrupt, readFileSync(backup));
  const handle = await openFile(corrupt, 'r+');
  // A block of garbage over the b-tree pages after the first, as a failing card leaves it.
  const size = statSync(corrupt).size;
  await handle.write(Buffer.alloc(size - 8192, 0x5a), 0, size - 8192, 4096);
  await handle.close();
  t.equal(await lockerctl('restore', corrupt, '--json'), 3, 'a corrupt backup is refused');
  t.match(lastJson(), { ok: false, error: { code: 'CORRUPT_BACKUP' } });
  const notDb = join(root, 'notes.txt');
  writeFileSync(notDb, 'this is not a database');
  t.equal(await lockerctl('restore', notDb), 3);
  t.match(err.at(-1), /not a readable SQLite database|cannot be opened/);
  t.equal(runner.pid, pid, 'nothing was stopped');
  t.equal((await health(runner)).version, '1.0.0');

  // The good backup restores (service stopped, swapped, started, healthy).
  t.equal(await lockerctl('restore', backup, '--json'), 0);
  t.match(lastJson(), { ok: true, healthy: true, schemaVersion: LATEST_SCHEMA_VERSION });
  t.not(runner.pid, pid, 'restarted on the restored store');
});
