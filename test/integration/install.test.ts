/**
 * deploy/install.sh from a release tarball into a temporary root (--root: files only; users,
 * packages, systemctl and raspi-config are listed as skipped), as far as it goes without a Pi:
 * the tree it lays, the same tree when run twice, the kiosk's Chromium policy, a dry run that
 * changes nothing, bad arguments refused.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CHECKOUT, releaseFactory } from '../helpers/releases.js';
import { CODE_SCRATCH_ROOT } from '../helpers/scratch.js';

t.setTimeout(600_000);
const INSTALL = join(CHECKOUT, 'deploy', 'install.sh');
const factory = await releaseFactory();
t.teardown(() => factory.cleanup());
const release = await factory.build('1.0.0', 'plain');

function install(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('bash', [INSTALL, ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every path under root with its type, mode, owner and content hash (or link target). */
function snapshot(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      const stat = lstatSync(full);
      const rel = full.slice(root.length);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isSymbolicLink()) lines.push(`${rel} link ${readlinkSync(full)}`);
      else if (stat.isDirectory()) {
        lines.push(`${rel} dir ${mode} ${stat.uid}:${stat.gid}`);
        walk(full);
      } else lines.push(`${rel} file ${mode} ${stat.uid}:${stat.gid} ${createHash('sha256').update(readFileSync(full)).digest('hex')}`);
    }
  };
  walk(root);
  return lines;
}

async function tempRoot(t: Test): Promise<string> {
  const root = await mkdtemp(join(CODE_SCRATCH_ROOT, 'kl-install-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return root;
}

t.test('installs a release under --root; run twice, the same tree', async (t) => {
  const root = await tempRoot(t);
  const first = await install('--root', root, '--release', release.tarball, '--kiosk-user', 'kiosk', '--port', '8123');
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /release 1\.0\.0: every file checked against its manifest/);
  t.match(first.stdout, /skipped under --root: groupadd --force --system keylocker-admin/, 'users and groups are system work, skipped here');
  t.match(first.stdout, /skipped under --root: systemctl enable keylocker.service/);
  t.match(first.stdout, /Next:\n\s+1\. sudo usermod -aG keylocker-admin/, 'says what the technician does next');

  t.equal(readlinkSync(join(root, 'opt/keylocker/current')), 'releases/1.0.0');
  t.equal(readFileSync(join(root, 'etc/systemd/system/keylocker.service'), 'utf8'), readFileSync(join(CHECKOUT, 'systemd/keylocker.service'), 'utf8'));
  t.match(readFileSync(join(root, 'usr/local/bin/lockerctl'), 'utf8'), /exec \/usr\/bin\/node \/opt\/keylocker\/current\/dist\/kiosk\/cli\/lockerctl\.js "\$@"/);
  t.equal(lstatSync(join(root, 'usr/local/bin/lockerctl')).mode & 0o777, 0o755);
  const config = JSON.parse(readFileSync(join(root, 'etc/keylocker/locker.json'), 'utf8')) as { dataDir: string; server: { port: number } };
  t.match(config, { dataDir: '/var/lib/keylocker', server: { host: '127.0.0.1', port: 8123 } });
  t.equal(lstatSync(join(root, 'etc/keylocker/locker.json')).mode & 0o777, 0o640, 'the config is not for everyone to read');

  // Code: nobody but its owner may write it (root's when installed as root).
  const writable = snapshot(join(root, 'opt/keylocker')).filter((line) => {
    const mode = / (?:dir|file) ([0-7]+) /.exec(line)?.[1];
    return mode !== undefined && (parseInt(mode, 8) & 0o022) !== 0;
  });
  t.same(writable, [], 'no file or directory under /opt/keylocker is group- or world-writable');
  if (process.getuid?.() === 0) {
    const notRoot = snapshot(join(root, 'opt/keylocker')).filter((line) => {
      const uid = / (?:dir|file) [0-7]+ (\d+):/.exec(line)?.[1];
      return uid !== undefined && uid !== '0';
    });
    t.same(notRoot, [], 'all of it owned by root');
  }

  // The kiosk: two windows, the screens' port, profiles in memory.
  const autostart = readFileSync(join(root, 'home/kiosk/.config/labwc/autostart'), 'utf8');
  const windows = autostart.split('\n').filter((line) => line.startsWith('lwrespawn chromium'));
  t.equal(windows.length, 2, 'two Chromium windows');
  t.match(windows[0], /--class=keylocker-top .*--app=http:\/\/127\.0\.0\.1:8123\/top\//);
  t.match(windows[1], /--class=keylocker-bottom .*--app=http:\/\/127\.0\.0\.1:8123\/bottom\//);
  t.match(autostart, /--user-data-dir="\$runtime\/keylocker-top"/);
  t.notMatch(autostart, /8080/, 'no other port left behind');

  // Run again (the technician edited the config and rc.xml meanwhile): same tree, edits kept.
  const configPath = join(root, 'etc/keylocker/locker.json');
  writeFileSync(configPath, JSON.stringify({ ...config, unitId: 'oslo-ryen-1' }));
  writeFileSync(join(root, 'home/kiosk/.config/labwc/rc.xml'), '<labwc_config><!-- outputs set by the technician --></labwc_config>\n');
  const before = snapshot(root);
  const second = await install('--root', root, '--release', release.tarball, '--kiosk-user', 'kiosk', '--port', '8123');
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, /kept .*etc\/keylocker\/locker\.json/);
  t.match(second.stdout, /kept .*rc\.xml/);
  t.same(snapshot(root), before, 'idempotent: the second run changes nothing');
});

t.test("the kiosk's Chromium policy: the two screens, nothing else, nothing kept", async (t) => {
  const root = await tempRoot(t);
  const result = await install('--root', root, '--release', release.tarball, '--kiosk-user', 'kiosk', '--port', '8123');
  t.equal(result.code, 0, result.stderr);
  const path = join(root, 'etc/chromium/policies/managed/keylocker.json');
  t.equal(lstatSync(path).mode & 0o777, 0o644, 'readable by Chromium, writable by root only');
  const policy = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  t.same(policy.URLAllowlist, ['http://127.0.0.1:8123/top/', 'http://127.0.0.1:8123/bottom/'], 'exactly the two screens of the configured port');
  t.same(policy.URLBlocklist, ['*'], 'everything else blocked');
  t.equal(policy.DeveloperToolsAvailability, 2, 'no developer tools');
  t.equal(policy.ForceEphemeralProfiles, true, 'no profile kept');
  t.equal(policy.PasswordManagerEnabled, false);
  t.equal(policy.AutofillAddressEnabled, false);
  t.equal(policy.DownloadRestrictions, 3, 'no downloads');
  t.equal(policy.BrowserGuestModeEnabled, false);
  t.same(policy.ExtensionInstallBlocklist, ['*']);
});

t.test('--dry-run prints and changes nothing', async (t) => {
  const root = await tempRoot(t);
  const result = await install('--root', root, '--release', release.tarball, '--kiosk-user', 'kiosk', '--dry-run');
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /would run: lockerctl --root .* install /);
  t.match(result.stdout, /would run: install -m 0644 .*keylocker\.service/);
  t.same(readdirSync(root), [], 'the root is still empty');
});

t.test('bad arguments are refused with a clear line, nothing written', async (t) => {
  const root = await tempRoot(t);
  for (const [args, message] of [
    [['--port', 'eighty'], /--port must be a number/],
    [['--port', '70000'], /--port must be 1-65535/],
    [['--release', join(root, 'missing.tar.gz')], /missing\.tar\.gz: no such file/],
    [['--frobnicate'], /unknown option --frobnicate/],
    [['--root', join(root, 'nowhere')], /no such directory/],
  ] as const) {
    const result = await install('--root', root, ...args);
    t.equal(result.code, 2, `${args.join(' ')}: exit 2`);
    t.match(result.stderr, message);
  }
  const tampered = join(root, 'not-a-release.tar.gz');
  writeFileSync(tampered, 'not a tarball');
  const refused = await install('--root', root, '--release', tampered, '--kiosk-user', 'kiosk');
  t.not(refused.code, 0);
  t.same(readdirSync(join(root)).filter((name) => name !== 'not-a-release.tar.gz' && name !== 'opt'), [], 'nothing but the (empty) /opt was made');
});
