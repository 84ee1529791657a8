/**
 * The systemd watchdog is fed only while the event loop, the board poll and the database are
 * healthy: a lock board whose read never returns (a hung driver), or a database held by one
 * transaction past the limit (a deadlock), stops the pings, and they resume when reads end or
 * the database is let go again. Everything on fake clocks: the bank's poll, the notifier's
 * interval and the database's holding time.
 */
import FakeTimers from '@sinonjs/fake-timers';
import t, { type Test } from 'tap';
import { SimBoard } from '../../controller/drivers/sim.js';
import { LockBank } from '../../controller/lock-bank.js';
import type { BoardInputs, ChannelRef, LockBoard, PulseGuard } from '../../controller/lock-board.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createNotifier, type IntervalTimers, type NotifySocket } from '../../kiosk/systemd-notify.js';
import type { Db } from '../../kiosk/store/db.js';
import { createWatchdogHealth, MAX_DB_HELD_MS, maxPollAgeMs } from '../../kiosk/watchdog.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { simWiring } from '../fakes/sim-bank.js';
import { heldTransaction, openTempDb } from '../helpers/store.js';

/** The simulator, but a read can be made to hang: it never resolves until released. */
class StallableBoard implements LockBoard {
  readonly kind = 'sim' as const;
  #stalled: (() => void)[] | null = null;
  constructor(readonly inner: SimBoard) {}
  stall(): void {
    this.#stalled = [];
  }
  release(): void {
    const waiting = this.#stalled ?? [];
    this.#stalled = null;
    for (const go of waiting) go();
  }
  init(): Promise<void> {
    return this.inner.init();
  }
  pulse(lock: ChannelRef, ms: number, guard: PulseGuard): Promise<void> {
    return this.inner.pulse(lock, ms, guard);
  }
  effectivePulse(lock: ChannelRef, ms: number) {
    return this.inner.effectivePulse(lock, ms);
  }
  async readInputs(board: number): Promise<BoardInputs> {
    if (this.#stalled) await new Promise<void>((resolve) => this.#stalled?.push(resolve));
    return this.inner.readInputs(board);
  }
  allOff(): Promise<void> {
    return this.inner.allOff();
  }
  close(): Promise<void> {
    this.release();
    return this.inner.close();
  }
}

function recordingSocket() {
  const sent: string[] = [];
  const open = (): NotifySocket => ({ send: (message) => sent.push(message), close: () => undefined });
  return { sent, open, pings: () => sent.filter((m) => m === 'WATCHDOG=1').length };
}

async function setUp(t: Test, loopLag: () => number = () => 0, dbHeld: () => number = () => 0) {
  const clock = createFakeClock(0);
  const logger = createSilentLogger();
  const board = new StallableBoard(new SimBoard({ clock, logger }));
  const pollIntervalMs = 500;
  const bank = new LockBank({ board, compartments: simWiring(), pulseMs: 300, doorConfirmTimeoutMs: 2000, doorLeftOpenAlarmMs: 60_000, pollIntervalMs, clock, logger });
  await bank.start();
  t.teardown(() => bank.stop());
  const health = createWatchdogHealth({ pollAgeMs: () => bank.pollAgeMs(), maxPollAgeMs: maxPollAgeMs(pollIntervalMs), loopLagMs: loopLag, dbHeldMs: dbHeld });
  // The notifier's interval runs on the same fake time as the bank's poll.
  const timers: IntervalTimers = {
    setInterval: (callback, ms) => clock.fake.setInterval(callback, ms),
    clearInterval: (handle) => (clock.fake.clearInterval as (id: unknown) => void)(handle),
  };
  const socket = recordingSocket();
  const env = { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(process.pid) };
  const notifier = createNotifier(env, logger, socket.open, timers);
  notifier.ready('serving', () => health.check());
  t.teardown(() => notifier.stop());
  return { clock, board, bank, socket, health };
}

t.test('a healthy poll feeds the watchdog every third of WatchdogSec', async (t) => {
  const { clock, socket, bank } = await setUp(t);
  await clock.fake.tickAsync(20_000);
  t.equal(socket.pings(), 3, 'three pings in 20 s (every 6.67 s)');
  t.ok(bank.pollAgeMs() <= 500, `the last read ended within a poll interval (${bank.pollAgeMs()} ms)`);
});

t.test('a board read that never returns stops the pings; they resume once reads end again', async (t) => {
  const { clock, socket, board, health } = await setUp(t);
  await clock.fake.tickAsync(7_000);
  t.equal(socket.pings(), 1, 'fed while healthy');
  board.stall();
  await clock.fake.tickAsync(30_000);
  const whileStalled = socket.pings();
  t.ok(whileStalled <= 2, `at most the ping due before the stall passed the 10 s limit (${whileStalled})`);
  await clock.fake.tickAsync(30_000);
  t.equal(socket.pings(), whileStalled, 'no ping at all once the poll has been stalled past the limit');
  t.match(health.check(), /board poll stalled/);
  t.equal(health.healthy(), false);
  board.release();
  await clock.fake.tickAsync(7_000);
  t.ok(socket.pings() > whileStalled, 'fed again after the reads end');
  t.equal(health.healthy(), true);
});

t.test('a board that is offline still has its reads end: the watchdog keeps being fed', async (t) => {
  const { clock, socket, board } = await setUp(t);
  board.inner.setOffline(true);
  await clock.fake.tickAsync(40_000);
  t.equal(socket.pings(), 6, 'an offline board is not a stuck service (a restart would not help)');
});

t.test('a delayed event loop withholds the ping', async (t) => {
  let lag = 0;
  const { clock, socket } = await setUp(t, () => lag);
  await clock.fake.tickAsync(7_000);
  t.equal(socket.pings(), 1);
  lag = 6_000;
  await clock.fake.tickAsync(14_000);
  t.equal(socket.pings(), 1, 'not fed while the loop lags more than 5 s');
  lag = 30;
  await clock.fake.tickAsync(7_000);
  t.equal(socket.pings(), 2, 'fed again');
});

t.test('a database held by one transaction past the limit withholds the ping; fed again once it is let go', async (t) => {
  let db: Db | null = null;
  const { clock, socket, health } = await setUp(t, () => 0, () => db?.heldForMs() ?? 0);
  // The service's setting: no at-once nesting check (kiosk/main.ts), its holding time on the same fake time.
  const opened = await openTempDb(t, { nestingCheck: false, monotonicMs: () => clock.now() });
  db = opened.db;
  await clock.fake.tickAsync(7_000);
  t.equal(socket.pings(), 1, 'fed while the database is free');

  // Stands for a transaction that never ends (one waiting on itself: test/integration/store.test.ts).
  const { entered, finish, done: transaction } = heldTransaction(opened.db);
  await entered;
  await clock.fake.tickAsync(MAX_DB_HELD_MS + 14_000);
  const whileHeld = socket.pings();
  t.ok(whileHeld <= 1 + Math.ceil(MAX_DB_HELD_MS / 6_667), `at most the pings due before the limit passed (${whileHeld})`);
  await clock.fake.tickAsync(20_000);
  t.equal(socket.pings(), whileHeld, 'no ping once the database has been held past the limit');
  t.match(health.check(), /database held by one transaction or statement for \d+ ms \(limit 30000 ms\)/);
  finish();
  await transaction;
  await clock.fake.tickAsync(7_000);
  t.ok(socket.pings() > whileHeld, 'fed again once the transaction ended');
  t.equal(health.healthy(), true);
});

t.test('a busy database whose holders come and go is not a stuck one', async (t) => {
  let db: Db | null = null;
  const { clock, socket } = await setUp(t, () => 0, () => db?.heldForMs() ?? 0);
  const opened = await openTempDb(t, { nestingCheck: false, monotonicMs: () => clock.now() });
  db = opened.db;
  // A transaction every fake second, each held for a fake 900 ms, for 40 s.
  for (let second = 0; second < 40; second += 1) {
    const { entered, finish, done } = heldTransaction(opened.db);
    await entered;
    await clock.fake.tickAsync(900);
    finish();
    await done;
    await clock.fake.tickAsync(100);
  }
  t.equal(socket.pings(), 6, 'fed every 6.67 s throughout');
});

t.test('without a check the notifier feeds the watchdog as before', async (t) => {
  const fake = FakeTimers.createClock(0);
  const socket = recordingSocket();
  const notifier = createNotifier({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '3000000' }, createSilentLogger(), socket.open, {
    setInterval: (callback, ms) => fake.setInterval(callback, ms),
    clearInterval: (handle) => (fake.clearInterval as (id: unknown) => void)(handle),
  });
  notifier.ready();
  fake.tick(3_000);
  t.equal(socket.pings(), 3);
  notifier.stop();
});

t.test('the unit and the config agree with the watchdog and the admin socket', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const { decodeConfig } = await import('../../kiosk/config/load.js');
  const unit = await readFile(new URL('../../systemd/keylocker.service', import.meta.url), 'utf8');
  const watchdogS = Number(/^WatchdogSec=(\d+)s$/m.exec(unit)?.[1]);
  t.ok(watchdogS > 0, 'WatchdogSec= is set');
  t.match(unit, /^NotifyAccess=main$/m, 'pings come from the main process');
  const config = decodeConfig({}, null);
  t.ok(maxPollAgeMs(config.locks.pollIntervalMs) < watchdogS * 1000, 'a stalled poll is noticed well within WatchdogSec');
  const runtimeDir = /^RuntimeDirectory=(\S+)$/m.exec(unit)?.[1];
  t.equal(config.admin.socketPath, `/run/${runtimeDir}/admin.sock`, "the default admin socket is in the unit's RuntimeDirectory");
  t.match(unit, /^SupplementaryGroups=.*\bkeylocker-admin\b/m, 'the service may give the socket to keylocker-admin');
});
