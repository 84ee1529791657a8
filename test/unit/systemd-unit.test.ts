/**
 * The unit files: `systemd-analyze verify` clean, and `systemd-analyze security` rating the
 * service at most 3.0 (it was 8.3 before the hardening), while the lines the lock boards need
 * stay. Where systemd-analyze is missing (not a Debian machine), the tests are skipped and
 * counted as skipped; .ci/run installs it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { nodeArgsOf, productionNodeArgs } from '../bench/production-launch.js';

const run = promisify(execFile);
const UNIT_DIR = join(import.meta.dirname, '..', '..', 'systemd');
const UNITS = readdirSync(UNIT_DIR).filter((name) => /\.(service|socket|timer|path)$/.test(name));
const MAX_EXPOSURE = 3.0;

async function hasAnalyze(): Promise<boolean> {
  try {
    await run('systemd-analyze', ['--version']);
    return true;
  } catch {
    return false;
  }
}
const analyze = await hasAnalyze();
const skip = analyze ? false : 'systemd-analyze is not installed (apt-get install -y systemd)';

t.ok(UNITS.includes('keylocker.service'), 'the service unit is there');

for (const unit of UNITS) {
  t.test(`${unit}: systemd-analyze verify is clean`, { skip }, async (t) => {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', join(UNIT_DIR, unit)]);
    t.equal(`${stdout}${stderr}`.trim(), '', 'no warning, no error');
  });
}

t.test(`keylocker.service: systemd-analyze security rates it at most ${MAX_EXPOSURE}`, { skip }, async (t) => {
  const { stdout } = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', join(UNIT_DIR, 'keylocker.service')]);
  const match = /Overall exposure level for keylocker\.service: ([0-9.]+)/.exec(stdout);
  t.ok(match, 'the report has an overall rating');
  const exposure = Number(match?.[1]);
  t.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure} <= ${MAX_EXPOSURE}`);
  t.match(stdout, /✓ NotifyAccess=/, 'only the main process may notify');
});

t.test('the hardening leaves the lock boards their devices, and nothing more', async (t) => {
  const unit = readFileSync(join(UNIT_DIR, 'keylocker.service'), 'utf8');
  const values = (key: string): string[] =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
  t.same(values('DevicePolicy'), ['closed']);
  t.same(values('DeviceAllow').sort(), ['/dev/i2c-1 rw', '/dev/ttyAMA0 rw', 'char-gpiochip rw', 'char-ttyUSB rw'].sort());
  t.notOk(values('PrivateDevices').includes('yes'), 'PrivateDevices would hide /dev/i2c-1 and a USB adapter');
  t.same(values('NotifyAccess'), ['main']);
  t.same(values('CapabilityBoundingSet'), [''], 'no capability at all');
  t.same(values('UMask'), ['0077']);
  t.same(values('ProtectKernelTunables'), ['yes']);
  t.ok(values('ReadWritePaths').join(' ').includes('/sys/class/gpio'), 'sysfs GPIO export stays writable');
  t.ok(values('ReadWritePaths').join(' ').includes('/sys/devices/platform'), 'and the exported lines behind the gpioN links');
  t.same(values('SupplementaryGroups'), ['gpio i2c dialout keylocker-admin']);
  t.notOk(values('MemoryDenyWriteExecute').includes('yes'), "V8's JIT needs it off");
  t.same(values('ExecStart'), ['/usr/bin/node --optimize-for-size --heap-growing-percent=30 --max-opt=1 /opt/keylocker/current/dist/kiosk/main.js']);
  t.same(productionNodeArgs(join(UNIT_DIR, 'keylocker.service')), ['--optimize-for-size', '--heap-growing-percent=30', '--max-opt=1'], 'the node flags the benches launch the locker with');
  t.same(
    values('Environment').filter((value) => /^(NODE_OPTIONS|MALLOC_)/.test(value)),
    ['NODE_OPTIONS=--max-semi-space-size=1', 'MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072'],
    'the memory settings test/bench/memory-day.ts measures (docs/performance.md)',
  );
});

t.test('the benches read the node flags from ExecStart=, or refuse a line of another shape', async (t) => {
  t.same(nodeArgsOf('ExecStart=/usr/bin/node /opt/x/main.js'), []);
  t.same(nodeArgsOf('[Service]\nExecStart=/usr/bin/node --a --b=2 /opt/x/main.js --config f'), ['--a', '--b=2']);
  t.throws(() => nodeArgsOf("ExecStart=/bin/sh -c 'node main.js'"), /not "node \[flags\] script"/);
  t.throws(() => nodeArgsOf('ExecStart=/usr/bin/node --a'), /not "node \[flags\] script"/);
  t.throws(() => nodeArgsOf('ExecStart=/usr/bin/node a.js\nExecStart=/usr/bin/node b.js'), /found 2/);
});

t.test('the node running these tests accepts the unit\'s flags, silently, and applies them', async (t) => {
  const flags = productionNodeArgs(join(UNIT_DIR, 'keylocker.service'));
  // A flag node does not know stops the service at every start; one V8 overrides warns on stderr.
  const probe = "process.stdout.write(JSON.stringify(process.execArgv.filter((arg) => arg.startsWith('--'))))";
  const result = spawnSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8', timeout: 30_000 });
  t.equal(result.status, 0, `node ${process.version} starts with ${flags.join(' ')}: ${result.stderr}`);
  t.equal(result.stderr, '', 'and says nothing on stderr');
  t.same(JSON.parse(result.stdout || '[]'), flags, 'the flags reach the process');
  const refused = spawnSync(process.execPath, ['--no-such-v8-flag-here', '-e', '0'], { encoding: 'utf8', timeout: 30_000 });
  t.not(refused.status, 0, 'an unknown flag is refused: the check above can fail');
});
