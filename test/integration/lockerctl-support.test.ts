/**
 * lockerctl logs, diagnostics and provision against a running locker on the simulator (and
 * the same locker stopped): what they show, that no personal data is in the logs they show,
 * and bad input refused with nothing written.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { loadConfig } from '../../kiosk/config/load.js';
import { EXIT } from '../../kiosk/cli/output.js';
import { createLogger } from '../../kiosk/logging.js';
import { ok, until, type TestLocker } from '../helpers/locker.js';
import { lockerctl, withAdminLocker } from '../helpers/lockerctl.js';

/** A locker whose log (the service's own pino logger, with its redaction) goes to a file, as journald would keep it. */
async function scratchDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kl-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function loggingLocker(t: Test, overrides: Record<string, unknown> = {}) {
  const logFile = join(await scratchDir(t), 'locker.log');
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true }) });
  const { locker, socket, ctl } = await withAdminLocker(t, overrides, { logger });
  return { locker, socket, ctl, logFile };
}

/** A customer drops a key off with a PIN, a phone number and a remark: personal data the log must not hold. */
async function dropOffWithPersonalData(t: Test, locker: TestLocker): Promise<void> {
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: '+46 70 123 45 67', remark: 'Winter tyres' });
  const view = await ok(t, locker, { type: 'confirm' });
  locker.hardware.sim?.closeDoor((view.compartment ?? 1) - 1);
  await until(() => locker.hardware.bank.doorState(view.compartment ?? 1) === 'closed', 'the door to close');
  await ok(t, locker, { type: 'confirm' });
}

const PERSONAL = /123456|701234567|70 123 45 67|Nordmann|AB ?12345|Winter tyres|@example\.com/;

/** A root with /etc/keylocker/locker.json for the locker's data dir. */
async function rootFor(locker: TestLocker, config: Record<string, unknown> = {}): Promise<string> {
  const root = join(locker.config.dataDir, 'root');
  await mkdir(join(root, 'etc', 'keylocker'), { recursive: true });
  await writeFile(join(root, 'etc', 'keylocker', 'locker.json'), JSON.stringify({ dataDir: locker.config.dataDir, ...config }, null, 2));
  return root;
}

t.test('logs: the service log, redacted; from a file or through journalctl', async (t) => {
  const { locker, logFile } = await loggingLocker(t);
  await dropOffWithPersonalData(t, locker);

  const run = await lockerctl(['logs', '--file', logFile, '-n', '1000']);
  t.equal(run.code, EXIT.OK, run.stderr);
  t.match(run.stdout, /^\S+Z INFO  \[controller:lock-bank\] door opened compartment=1 cause=command$/m, 'one readable line per entry');
  t.match(run.stdout, /admin socket listening/);
  t.notMatch(run.stdout, PERSONAL, 'no PIN, phone, name, plate or remark');
  t.notMatch(await readFile(logFile, 'utf8'), PERSONAL, 'checked on the raw log too');

  const last = await lockerctl(['logs', '--file', logFile, '-n', '3', '--json']);
  const lines = last.stdout.trim().split('\n');
  t.equal(lines.length, 3, '-n 3: the last three entries');
  for (const line of lines) t.type(JSON.parse(line), 'object', '--json: the entries as written');

  // journald: a stand-in journalctl that records its arguments and prints the log.
  const dir = await scratchDir(t);
  const journalctl = join(dir, 'journalctl');
  await writeFile(journalctl, `#!/bin/sh\necho "$@" > "${dir}/args"\ncat "${logFile}"\n`);
  await chmod(journalctl, 0o755);
  const journal = await lockerctl(['logs', '-n', '50', '--since', '1 hour ago'], { KEYLOCKER_JOURNALCTL: journalctl });
  t.equal(journal.code, EXIT.OK, journal.stderr);
  t.equal((await readFile(join(dir, 'args'), 'utf8')).trim(), '-u keylocker -o cat --no-pager -n 50 --since 1 hour ago');
  t.match(journal.stdout, /door opened/);

  const failing = join(dir, 'failing');
  await writeFile(failing, '#!/bin/sh\necho "No journal files were found." >&2\nexit 1\n');
  await chmod(failing, 0o755);
  const broken = await lockerctl(['logs'], { KEYLOCKER_JOURNALCTL: failing });
  t.equal(broken.code, EXIT.FAILED);
  t.match(broken.stderr, /exited with 1: No journal files were found/);
  const absent = await lockerctl(['logs'], { KEYLOCKER_JOURNALCTL: join(dir, 'nothing-here') });
  t.equal(absent.code, EXIT.FAILED);
  t.match(absent.stderr, /no journald here\? lockerctl logs --file PATH/);

  t.equal((await lockerctl(['logs', '--file', join(dir, 'none.log')])).code, EXIT.REFUSED, 'no such file');
  t.equal((await lockerctl(['logs', '-n', '0'])).code, EXIT.USAGE);
  t.equal((await lockerctl(['logs', '-n', 'all'])).code, EXIT.USAGE);
});

t.test('diagnostics: config without secrets, versions, status, logs, integrity; also with the service stopped', async (t) => {
  const secret = 's3cret-screen-key-0123456789abcdefghij';
  const { locker, socket, logFile } = await loggingLocker(t);
  await dropOffWithPersonalData(t, locker);
  const root = await rootFor(locker, { server: { screenSecret: secret }, admin: { socketPath: socket } });
  const out = join(locker.config.dataDir, 'diag.tar.gz');

  const run = await lockerctl(['--root', root, 'diagnostics', '--out', out, '--log-file', logFile, '--json']);
  t.equal(run.code, EXIT.OK, run.stdout);
  t.match(run.json(), { ok: true, file: out, files: ['config.json', 'versions.json', 'status.json', 'logs.txt', 'integrity.txt'], integrity: 'ok' });
  const { mode } = await stat(out);
  t.equal(mode & 0o777, 0o600, 'the tarball is private');
  const unpacked = join(locker.config.dataDir, 'unpacked');
  await mkdir(unpacked);
  execFileSync('tar', ['-xzf', out, '-C', unpacked]);
  const config = JSON.parse(await readFile(join(unpacked, 'config.json'), 'utf8')) as { server: { screenSecret: string }; unitId: string };
  t.equal(config.server.screenSecret, '(removed)');
  const everything = execFileSync('tar', ['-xzOf', out]).toString('utf8');
  t.notMatch(everything, secret, 'the secret is nowhere in the tarball');
  t.notMatch(everything, PERSONAL, 'nor any personal data');
  t.match(JSON.parse(await readFile(join(unpacked, 'status.json'), 'utf8')), { service: 'running', unitId: 'locker-demo', boards: [{ online: true }] });
  t.match(JSON.parse(await readFile(join(unpacked, 'versions.json'), 'utf8')), { node: process.version });
  t.equal((await readFile(join(unpacked, 'integrity.txt'), 'utf8')).trim(), 'ok');
  t.match(await readFile(join(unpacked, 'logs.txt'), 'utf8'), /door opened/);

  await locker.stop();
  const stopped = await lockerctl(['--root', root, 'diagnostics', '--out', out, '--log-file', logFile, '--json']);
  t.equal(stopped.code, EXIT.OK, stopped.stdout);
  t.match(JSON.parse(execFileSync('tar', ['-xzOf', out, 'status.json']).toString('utf8')), { service: 'stopped', compartments: Array });

  // A damaged database: the tarball is still written, the check says so, exit 7.
  const db = await open(join(locker.config.dataDir, 'keylocker.db'), 'r+');
  const { size } = await db.stat();
  for (let offset = 4096; offset < size; offset += 4096) await db.write(Buffer.alloc(64, 0xa5), 0, 64, offset + 100);
  await db.close();
  const damaged = await lockerctl(['--root', root, 'diagnostics', '--out', out, '--log-file', logFile, '--json']);
  t.equal(damaged.code, EXIT.FAULTS_FOUND);
  t.match(damaged.json(), { ok: true, integrity: /^FAILED: / });

  t.equal((await lockerctl(['--root', root, 'diagnostics', '-n', 'x'])).code, EXIT.USAGE);
});

t.test('provision: config written and checked with the service schema, the enrolment record and its QR code', async (t) => {
  const { locker } = await withAdminLocker(t);
  const root = await rootFor(locker);
  const file = join(root, 'etc', 'keylocker', 'locker.json');
  const health = (await (await fetch(locker.urls.health)).json()) as { unitKey: { kid: string; publicJwk: Record<string, unknown>; fingerprint: string } };

  const run = await lockerctl([
    '--root', root, 'provision', '--unit-id', 'oslo-ryen-1', '--back-office-url', 'wss://dms.example.com/locker', '--audience', 'dms.example.com',
    '--time-zone', 'Europe/Stockholm', '--hardware', 'kerong', '--serial-path', '/dev/serial/by-id/usb-FTDI-if00', '--locked-bit', '0', '--board-pulse-ms', '600', '--json',
  ]);
  t.equal(run.code, EXIT.OK, run.stdout);
  const result = run.json();
  t.match(result, { ok: true, written: true, unitId: 'oslo-ryen-1', hardware: 'kerong', backOffice: 'wss://dms.example.com/locker' });
  t.same(result.enrolment, { unitId: 'oslo-ryen-1', kid: health.unitKey.kid, publicJwk: health.unitKey.publicJwk }, "the running locker's own key");
  t.equal(result.fingerprint, health.unitKey.fingerprint);
  const config = await loadConfig(file);
  t.match(config, {
    unitId: 'oslo-ryen-1',
    dataDir: locker.config.dataDir,
    timeZone: 'Europe/Stockholm',
    backOffice: { url: 'wss://dms.example.com/locker', audience: 'dms.example.com' },
    hardware: { kind: 'kerong', kerong: { path: '/dev/serial/by-id/usb-FTDI-if00', lockedBit: 0, boardPulseMs: 600 } },
  });

  const human = await lockerctl(['--root', root, 'provision']);
  t.equal(human.code, EXIT.OK);
  t.match(human.stdout, /^unchanged: .*locker\.json: unit oslo-ryen-1, hardware kerong, back office wss:\/\/dms\.example\.com\/locker$/m);
  t.match(human.stdout, new RegExp(`fingerprint: ${health.unitKey.fingerprint}`));
  t.match(human.stdout, /[▀▄█]{10}/, 'a QR code drawn in the terminal');
  t.notMatch((await lockerctl(['--root', root, 'provision', '--no-qr'])).stdout, /[▀▄█]{10}/);

  const before = await readFile(file, 'utf8');
  const refusals: [string[], number, RegExp][] = [
    [['--time-zone', 'Mars/Olympus'], EXIT.REFUSED, /key "timeZone" has value "Mars\/Olympus": not an IANA time zone.*\(nothing written\)/],
    [['--back-office-url', 'http://dms.example.com'], EXIT.REFUSED, /key "backOffice\.url" has value "http:\/\/dms\.example\.com": must be a ws:\/\/ or wss:\/\/ URL/],
    [['--unit-id', 'oslo ryen'], EXIT.REFUSED, /key "unitId"/],
    [['--hardware', 'gpio'], EXIT.REFUSED, /"hardware\.compartments" is required when hardware\.kind is "gpio"/],
    [['--hardware', 'abacus'], EXIT.USAGE, /argument 'abacus' is invalid/],
    [['--locked-bit', '2'], EXIT.USAGE, /0 or 1/],
    [['--board-pulse-ms', 'long'], EXIT.USAGE, /a whole number/],
    [['--board-pulse-ms', '5000'], EXIT.REFUSED, /boardPulseMs/],
    [['--wiring', join(root, 'none.json')], EXIT.REFUSED, /--wiring/],
  ];
  for (const [args, code, message] of refusals) {
    const refused = await lockerctl(['--root', root, 'provision', ...args]);
    t.equal(refused.code, code, args.join(' '));
    t.match(refused.stdout + refused.stderr, message, args.join(' '));
  }
  t.equal(await readFile(file, 'utf8'), before, 'nothing was written by any refused provision');
});
