/**
 * The lock bank over the real Kerong driver and the real `serialport` native binding, talking
 * through a pseudo-terminal to an independent emulation of a CU16-style board
 * (fakes/kerong_pty_emulator.py, which shares no code with the project): how the outside
 * engineer of issue 7 found the blind second pulse. Real time, so the assertions are about
 * what happened and in which order, never how long it took (the fake-clock tests in
 * unit/lock-bank-faults.test.ts hold the time bounds). Needs python3 (Debian: apt-get install
 * -y python3); without it the test fails and says so.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { KerongBoard } from '../../controller/drivers/kerong/kerong-board.js';
import { createSerialPortTransport } from '../../controller/drivers/kerong/serial-transport.js';
import { LockBank, type OpenOutcome } from '../../controller/lock-bank.js';
import type { ChannelRef } from '../../controller/lock-board.js';
import { createSystemClock } from '../../kiosk/lib/clock.js';
import { createSilentLogger } from '../../kiosk/logging.js';

const EMULATOR = join(import.meta.dirname, '..', 'fakes', 'kerong_pty_emulator.py');
/** Generous for a pty on a loaded machine; the poll interval stays longer, as config requires. */
const REPLY_TIMEOUT_MS = 400;
const POLL_MS = 1000;

type EmulatorLine =
  | { ready: string }
  | { query: number; answered: boolean; t: number }
  | { unlock: number; board: number; silent: boolean; t: number }
  | { ack: number };

class Emulator {
  readonly lines: EmulatorLine[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiters = new Set<() => void>();
  #sent = 0;
  #exited = false;

  constructor() {
    this.#child = spawn('python3', ['-u', EMULATOR], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      this.lines.push(JSON.parse(line) as EmulatorLine);
      for (const wake of this.#waiters) wake();
    });
    this.#child.on('exit', () => {
      this.#exited = true;
      for (const wake of this.#waiters) wake();
    });
  }

  /** Resolve once a line satisfies `check` (it may already have come); bounded. */
  async waitFor<T extends EmulatorLine>(what: string, check: (line: EmulatorLine) => line is T, from = 0, timeoutMs = 15_000): Promise<T> {
    const found = (): T | undefined => this.lines.slice(from).find(check);
    const timeout = setTimeout(() => {
      for (const wake of this.#waiters) wake();
    }, timeoutMs);
    const started = Date.now();
    try {
      for (;;) {
        const line = found();
        if (line) return line;
        if (this.#exited) throw new Error(`emulator exited while waiting for ${what}`);
        if (Date.now() - started >= timeoutMs) throw new Error(`emulator: no ${what} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const wake = (): void => {
            this.#waiters.delete(wake);
            resolve();
          };
          this.#waiters.add(wake);
        });
      }
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Send a command and wait until the emulator has applied it. */
  async command(body: Record<string, unknown>): Promise<void> {
    const n = ++this.#sent;
    this.#child.stdin.write(`${JSON.stringify({ n, ...body })}\n`);
    await this.waitFor(`ack ${n}`, (line): line is { ack: number } => 'ack' in line && line.ack === n);
  }

  unlocks(): { unlock: number; silent: boolean; t: number }[] {
    return this.lines.filter((line): line is { unlock: number; board: number; silent: boolean; t: number } => 'unlock' in line);
  }

  queries(): { query: number; answered: boolean; t: number }[] {
    return this.lines.filter((line): line is { query: number; answered: boolean; t: number } => 'query' in line);
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    await exited;
  }
}

async function rig(t: Test): Promise<{ emulator: Emulator; bank: LockBank }> {
  const emulator = new Emulator();
  t.teardown(() => emulator.stop());
  const ready = await emulator.waitFor('ready', (line): line is { ready: string } => 'ready' in line);
  const channels: ChannelRef[] = Array.from({ length: 16 }, (_, channel) => ({ board: 0, channel }));
  const clock = createSystemClock();
  const logger = createSilentLogger();
  const board = new KerongBoard({
    transport: createSerialPortTransport({ path: ready.ready, baudRate: 19200 }),
    wiring: { locks: channels, doors: channels },
    options: { lockedBit: 1, replyTimeoutMs: REPLY_TIMEOUT_MS, boardPulseMs: 200 },
    clock,
    logger,
  });
  const bank = new LockBank({
    board,
    compartments: channels.map((ref) => ({ id: ref.channel + 1, lock: ref, door: ref })),
    pulseMs: 300,
    doorConfirmTimeoutMs: 3000,
    doorLeftOpenAlarmMs: 600_000,
    pollIntervalMs: POLL_MS,
    clock,
    logger,
  });
  t.teardown(() => bank.stop());
  await bank.start();
  return { emulator, bank };
}

const python = spawnSync('python3', ['--version']);
if (python.error || python.status !== 0) {
  t.fail('python3 is needed for the pseudo-terminal board emulator: apt-get install -y python3');
} else {
  t.test('a compartment opens through the real serial stack and a pseudo-terminal', async (t) => {
    const { emulator, bank } = await rig(t);
    const outcome = await bank.open(3);
    t.match(outcome, { ok: true, pulses: 1, confirmed: true });
    t.same(emulator.unlocks().map((u) => u.unlock), [2], 'one unlock, of lock index 2');
  });

  t.test('a board that goes silent right after the unlock never gets a second one', async (t) => {
    const { emulator, bank } = await rig(t);
    await emulator.command({ jam: 0, value: true }); // the old code retried a door that stayed shut
    await emulator.command({ silenceAfterUnlock: true });
    const outcome: OpenOutcome = await bank.open(1);
    t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 1 });
    t.same(emulator.unlocks().map((u) => [u.unlock, u.silent]), [[0, false]], 'one unlock during the open');
    // Let the bank poll the silent board several more times, then look at the wire again.
    const seen = emulator.queries().length;
    await emulator.waitFor('three more polls', (line): line is { query: number; answered: boolean; t: number } => 'query' in line && emulator.queries().length >= seen + 3, 0);
    t.same(
      emulator.unlocks().map((u) => [u.unlock, u.silent]),
      [[0, false]],
      'still exactly one unlock, sent while the board answered',
    );
    const afterUnlock = emulator.queries().filter((q) => q.t > (emulator.unlocks()[0]?.t ?? 0));
    t.ok(afterUnlock.length > 0 && afterUnlock.every((q) => !q.answered), 'every query after it went unanswered');
  });

  t.test('silent before the open: refused, nothing sent; back: seen and opened', async (t) => {
    const { emulator, bank } = await rig(t);
    const offline = new Promise<void>((resolve) => bank.events.once('boardOffline', () => resolve()));
    await emulator.command({ silent: true });
    await offline;
    t.match(await bank.open(2), { ok: false, error: 'BOARD_OFFLINE', pulses: 0 });
    t.same(emulator.unlocks(), [], 'no unlock reached the board');
    const online = new Promise<void>((resolve) => bank.events.once('boardOnline', () => resolve()));
    await emulator.command({ silent: false });
    await online;
    t.match(await bank.open(2), { ok: true, pulses: 1 });
    t.same(emulator.unlocks().map((u) => [u.unlock, u.silent]), [[1, false]]);
  });
}
