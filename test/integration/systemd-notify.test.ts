/**
 * NotifyAccess=main: systemd takes READY=1 and WATCHDOG=1 only from the main PID, as the
 * kernel's credentials on the datagram say. A process runs the real notifier against a
 * receiver that reads those credentials.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startNotifyReceiver } from '../helpers/notify-receiver.js';

const ROOT = join(import.meta.dirname, '..', '..');

const SERVICE = `
import { createNotifier } from './kiosk/systemd-notify.ts';
import { createSilentLogger } from './kiosk/logging.ts';
const notifier = createNotifier(process.env, createSilentLogger());
notifier.ready('serving');
process.stdin.once('data', () => { notifier.stopping(); notifier.stop(); });
`;

t.test('READY, WATCHDOG and STOPPING come from the main process itself', async (t) => {
  // sun_path holds 108 bytes: tap's test directories are too deep for a socket path.
  const dir = mkdtempSync(join(tmpdir(), 'kl-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const receiver = await startNotifyReceiver(join(dir, 'notify'));
  t.teardown(() => receiver.close());
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SERVICE], {
    cwd: ROOT,
    env: { ...process.env, NOTIFY_SOCKET: receiver.path, WATCHDOG_USEC: '3000000' },
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = once(child, 'exit');
  const ready = await receiver.waitFor((n) => n.message.startsWith('READY=1'));
  t.equal(ready.message, 'READY=1\nSTATUS=serving');
  t.equal(ready.pid, child.pid, 'the kernel names the main PID as sender: NotifyAccess=main accepts it');
  const ping = await receiver.waitFor((n) => n.message === 'WATCHDOG=1');
  t.equal(ping.pid, child.pid, 'watchdog pings from the main PID too');
  child.stdin.end('stop\n');
  const stopping = await receiver.waitFor((n) => n.message === 'STOPPING=1');
  t.equal(stopping.pid, child.pid);
  await exited;
  t.equal(child.exitCode, 0, 'the process ends by itself once the watchdog timer is stopped');
});
