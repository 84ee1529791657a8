import t from 'tap';
import { createNotifier } from '../../kiosk/systemd-notify.js';
import { createSilentLogger } from '../../kiosk/logging.js';

type Run = Parameters<typeof createNotifier>[2];

t.test('outside systemd it does nothing', async (t) => {
  const calls: string[][] = [];
  const run = ((_: string, args: string[]) => calls.push(args)) as unknown as Run;
  const notifier = createNotifier({}, createSilentLogger(), run);
  notifier.ready();
  notifier.stopping();
  t.same(calls, []);
});

t.test('under systemd: READY, watchdog pings from the event loop, STOPPING', async (t) => {
  const calls: string[][] = [];
  const run = ((_: string, args: string[], callback: (e: Error | null) => void) => {
    calls.push(args);
    callback(null);
  }) as unknown as Run;
  const notifier = createNotifier({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '3000000' }, createSilentLogger(), run);
  notifier.ready();
  t.same(calls[0], ['--ready', `--pid=${process.pid}`]);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.ok(calls.some((c) => c.includes('WATCHDOG=1')), 'pinged within a third of WatchdogSec');
  notifier.stopping();
  notifier.stop();
  t.same(calls.at(-1), [`--pid=${process.pid}`, 'STOPPING=1']);
});
