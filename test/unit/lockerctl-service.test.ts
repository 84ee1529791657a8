/**
 * The pieces of lockerctl that talk to the outside, against fakes: systemctl's commands and
 * output, the health wait's verdicts (a service that fails, one that answers the wrong
 * version, one that is healthy), the exit codes, and the argument parser's refusals.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import t, { type Test } from 'tap';
import type { ResolvedConfig } from '../../kiosk/config/load.js';
import { waitHealthy, healthUrlFromConfig } from '../../kiosk/cli/health.js';
import { EXIT, exitCodeFor } from '../../kiosk/cli/output.js';
import { runLockerctl } from '../../kiosk/cli/program.js';
import { parseShow, SystemdServiceManager, type ServiceManager, type ServiceState } from '../../kiosk/cli/service/service-manager.js';
import { OpsError } from '../../kiosk/errors.js';

t.test('systemd: the commands lockerctl runs and what it reads back', async (t) => {
  const calls: string[][] = [];
  const manager = new SystemdServiceManager('keylocker.service', async (file, args) => {
    calls.push([file, ...args]);
    return { stdout: args[0] === 'show' ? 'ActiveState=active\nSubState=running\n' : '' };
  });
  await manager.stop();
  await manager.start();
  await manager.restart();
  t.same(await manager.state(), { active: 'active', sub: 'running' });
  t.same(calls, [
    ['systemctl', 'stop', 'keylocker.service'],
    ['systemctl', 'start', '--no-block', 'keylocker.service'],
    ['systemctl', 'restart', '--no-block', 'keylocker.service'],
    ['systemctl', 'show', '-p', 'ActiveState,SubState', 'keylocker.service'],
  ]);
  t.same(parseShow('SubState=auto-restart\nActiveState=activating\n'), { active: 'activating', sub: 'auto-restart' });
  t.throws(() => parseShow('Unit keylocker.service could not be found.'), { code: 'SERVICE' });
  const broken = new SystemdServiceManager('keylocker.service', async () => {
    throw new Error('Failed to stop keylocker.service: Access denied\nmore');
  });
  await t.rejects(broken.stop(), { code: 'SERVICE', message: /systemctl stop keylocker\.service failed: Failed to stop keylocker\.service: Access denied$/ });
});

class FakeService implements ServiceManager {
  readonly kind = 'process';
  constructor(public current: ServiceState, public url: string | null) {}
  async start() {}
  async stop() {}
  async restart() {}
  /** How many times the state was asked (a check that waits polls it again and again). */
  stateQueries = 0;
  async state() {
    this.stateQueries += 1;
    return this.current;
  }
  healthUrl() {
    return this.url;
  }
}

async function healthServer(t: Test, answer: () => { status: number; body: unknown }): Promise<string> {
  const server: Server = createServer((_req, res) => {
    const { status, body } = answer();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  const address = server.address() as { port: number };
  return `http://127.0.0.1:${address.port}/health`;
}

const config = { server: { host: '127.0.0.1', port: 8080 } } as ResolvedConfig;

t.test('health: ready and answering the right version', async (t) => {
  const url = await healthServer(t, () => ({ status: 200, body: { status: 'ok', version: '2.0.0' } }));
  const healthy = await waitHealthy({ service: new FakeService({ active: 'active', sub: 'running' }, url), config, version: '2.0.0', timeoutMs: 5000 });
  t.equal(healthy.url, url);
});

t.test('health: an old process answering its own version is not the new release', async (t) => {
  const url = await healthServer(t, () => ({ status: 200, body: { status: 'ok', version: '1.0.0' } }));
  await t.rejects(
    waitHealthy({ service: new FakeService({ active: 'active', sub: 'running' }, url), config, version: '2.0.0', timeoutMs: 300, intervalMs: 50 }),
    { code: 'UNHEALTHY', message: /reports version "1\.0\.0", expected 2\.0\.0/ },
  );
});

t.test('health: a service that failed or crash-loops is unhealthy at once, not after the limit', async (t) => {
  for (const state of [{ active: 'failed', sub: 'failed' }, { active: 'activating', sub: 'auto-restart' }] as const) {
    const service = new FakeService(state, null);
    await t.rejects(waitHealthy({ service, config, version: '2.0.0', timeoutMs: 60_000, startTimeoutMs: 60_000 }), { code: 'UNHEALTHY' });
    t.equal(service.stateQueries, 1, `${state.sub}: decided on the first look, without polling towards the limit`);
  }
});

t.test('health: the address from the config, loopback when it listens on all', async (t) => {
  t.equal(healthUrlFromConfig({ server: { host: '0.0.0.0', port: 8080 } } as ResolvedConfig), 'http://127.0.0.1:8080/health');
  t.equal(healthUrlFromConfig({ server: { host: '::1', port: 9000 } } as ResolvedConfig), 'http://[::1]:9000/health');
});

t.test('exit codes scripts can use', async (t) => {
  t.equal(exitCodeFor(new OpsError('CHECKSUM_MISMATCH', 'x')), EXIT.REFUSED);
  t.equal(exitCodeFor(new OpsError('CORRUPT_BACKUP', 'x')), EXIT.REFUSED);
  t.equal(exitCodeFor(new OpsError('ROLLED_BACK', 'x')), EXIT.ROLLED_BACK);
  t.equal(exitCodeFor(new OpsError('MIGRATION_FAILED', 'x')), EXIT.ROLLED_BACK);
  t.equal(exitCodeFor(new OpsError('UNHEALTHY', 'x')), EXIT.UNHEALTHY);
  t.equal(exitCodeFor(new Error('boom')), EXIT.FAILED);
});

t.test('the command line: --help everywhere, usage errors exit 2', async (t) => {
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runLockerctl(args, { io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, env: {} });
    return { code, out: out.join(''), err: err.join('') };
  };
  const help = await run('--help');
  t.equal(help.code, 0);
  for (const command of ['update', 'rollback', 'install', 'releases', 'backup', 'restore', 'store']) {
    t.match(help.out, new RegExp(`\\n  ${command}\\b`), `lists ${command}`);
    const own = await run(command, '--help');
    t.equal(own.code, 0, `${command} --help`);
    t.match(own.out, new RegExp(`Usage: lockerctl ${command}`));
  }
  t.match((await run('update', '--help')).out, /--json/);
  t.match((await run('update', '--help')).out, /Exit codes: 0 updated, 3 refused/);
  t.match((await run('store', 'migrate', '--help')).out, /--json/);
  const unknown = await run('upgrade');
  t.equal(unknown.code, EXIT.USAGE);
  t.match(unknown.err, /unknown command 'upgrade'/);
  const missing = await run('update');
  t.equal(missing.code, EXIT.USAGE);
  t.match(missing.err, /missing required argument 'file'/);
  const seconds = await run('update', 'x.tar.gz', '--health-timeout', 'soon');
  t.equal(seconds.code, EXIT.USAGE);
  t.match(seconds.err, /a number of seconds/);
  const manager = await run('--service-manager', 'upstart', 'releases');
  t.equal(manager.code, EXIT.USAGE);
  t.match(manager.err, /Allowed choices are systemd, none/);
});

t.test('a relative dataDir is refused for an installed locker', async (t) => {
  const dir = t.testdir({ etc: { keylocker: { 'locker.json': JSON.stringify({ dataDir: 'var' }) } } });
  const out: string[] = [];
  const code = await runLockerctl(['--root', dir, '--service-manager', 'none', 'backup', `${dir}/b.db`, '--json'], { io: { stdout: (s) => out.push(s), stderr: () => undefined }, env: {} });
  t.equal(code, EXIT.REFUSED);
  t.match(JSON.parse(out.join('')), { ok: false, command: 'backup', error: { code: 'BAD_INPUT', message: /dataDir "var" in the config is relative/ } });
});
