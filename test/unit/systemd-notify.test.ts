import FakeTimers from '@sinonjs/fake-timers';
import t from 'tap';
import { createNotifier, type IntervalTimers, type NotifySocket } from '../../kiosk/systemd-notify.js';
import { createSilentLogger } from '../../kiosk/logging.js';

function recordingSocket() {
  const sent: { path: string; message: string }[] = [];
  let closed = 0;
  const open = (path: string): NotifySocket => ({
    send: (message) => sent.push({ path, message }),
    close: () => closed++,
  });
  return { sent, open, closed: () => closed };
}

function fakeTimers(): IntervalTimers & { clock: FakeTimers.Clock } {
  const clock = FakeTimers.createClock(0);
  return {
    clock,
    setInterval: (callback, ms) => clock.setInterval(callback, ms),
    clearInterval: (handle) => (clock.clearInterval as (id: unknown) => void)(handle),
  };
}

t.test('outside systemd it opens no socket and sends nothing', async (t) => {
  const socket = recordingSocket();
  const notifier = createNotifier({}, createSilentLogger(), socket.open);
  notifier.ready();
  notifier.stopping();
  notifier.stop();
  t.same(socket.sent, []);
});

t.test('under systemd: READY with STATUS, watchdog pings from the event loop, STOPPING', async (t) => {
  const socket = recordingSocket();
  const timers = fakeTimers();
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid) };
  const notifier = createNotifier(env, createSilentLogger(), socket.open, timers);
  notifier.ready('serving http://127.0.0.1:8080\nsecond line');
  t.same(socket.sent[0], { path: '/run/systemd/notify', message: 'READY=1\nSTATUS=serving http://127.0.0.1:8080 second line' });
  timers.clock.tick(6_666);
  t.equal(socket.sent.length, 2, 'one ping a third of WatchdogSec (20 s) after READY');
  t.equal(socket.sent[1]?.message, 'WATCHDOG=1');
  timers.clock.tick(6_667 * 2);
  t.equal(socket.sent.filter((s) => s.message === 'WATCHDOG=1').length, 3);
  notifier.stopping();
  t.equal(socket.sent.at(-1)?.message, 'STOPPING=1');
  notifier.stop();
  timers.clock.tick(60_000);
  t.equal(socket.sent.at(-1)?.message, 'STOPPING=1', 'no ping after stop');
  t.equal(socket.closed(), 1, 'the socket is closed');
});

t.test('a watchdog meant for another process (WATCHDOG_PID) is not fed', async (t) => {
  const socket = recordingSocket();
  const timers = fakeTimers();
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '3000000', WATCHDOG_PID: String(process.pid + 1) };
  const notifier = createNotifier(env, createSilentLogger(), socket.open, timers);
  notifier.ready();
  timers.clock.tick(10_000);
  t.same(socket.sent.map((s) => s.message), ['READY=1']);
});

t.test('an abstract or odd NOTIFY_SOCKET is refused with a warning, never a crash', async (t) => {
  const socket = recordingSocket();
  const notifier = createNotifier({ NOTIFY_SOCKET: '@/org/freedesktop/systemd1/notify' }, createSilentLogger(), socket.open);
  notifier.ready();
  t.same(socket.sent, []);
});

t.test('a socket that cannot be opened or sent to is logged, not thrown', async (t) => {
  const notifier = createNotifier({ NOTIFY_SOCKET: '/nonexistent/notify' }, createSilentLogger(), () => {
    throw new Error('ENOENT');
  });
  t.doesNotThrow(() => notifier.ready());
  t.doesNotThrow(() => notifier.stopping());
});
