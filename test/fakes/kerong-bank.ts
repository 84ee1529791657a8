/**
 * A lock bank over the real Kerong driver and the real serialport transport, talking to the
 * fake Kerong bus through `SerialPortMock`, all on one fake clock: the whole hardware stack
 * the locker runs on a Kerong cabinet, with hours of bus time in milliseconds.
 */
import { SerialPortMock } from 'serialport';
import { KerongBoard, type KerongBoardOptions } from '../../controller/drivers/kerong/kerong-board.js';
import { createSerialPortTransport } from '../../controller/drivers/kerong/serial-transport.js';
import { LockBank, type LockBankOptions, type OpenOutcome } from '../../controller/lock-bank.js';
import type { ChannelRef } from '../../controller/lock-board.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createFakeClock } from './fake-clock.js';
import { FakeKerongBus } from './fake-kerong-board.js';
import { RecordingBoard } from './recording-board.js';

let ports = 0;

export interface KerongBankSetup {
  /** Driver options; boardPulseMs defaults to 500 (the bank's locks.pulseMs is 300). */
  driver?: Partial<KerongBoardOptions>;
  bank?: Partial<LockBankOptions>;
}

export const KERONG_DEFAULTS = {
  boardPulseMs: 500,
  pulseMs: 300,
  doorConfirmTimeoutMs: 2000,
  pollIntervalMs: 500,
  replyTimeoutMs: 250,
} as const;

export function createKerongBank(setup: KerongBankSetup = {}) {
  const clock = createFakeClock(1_000_000);
  const logger = createSilentLogger();
  const boardPulseMs = setup.driver?.boardPulseMs ?? KERONG_DEFAULTS.boardPulseMs;
  const path = `/dev/fake-kerong-bank-${++ports}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: false });
  const port = new SerialPortMock({ path, baudRate: 19200, autoOpen: false });
  const bus = new FakeKerongBus({ boards: [0], lockedBit: 1, boardPulseMs, clock });
  bus.attach(port);
  const channels: ChannelRef[] = Array.from({ length: 16 }, (_, channel) => ({ board: 0, channel }));
  const driver = new KerongBoard({
    transport: createSerialPortTransport({ port }),
    wiring: { locks: channels, doors: channels },
    options: { lockedBit: 1, replyTimeoutMs: KERONG_DEFAULTS.replyTimeoutMs, boardPulseMs, ...setup.driver },
    clock,
    logger,
  });
  const board = new RecordingBoard(driver, clock, setup.bank?.pollIntervalMs ?? KERONG_DEFAULTS.pollIntervalMs);
  const bank = new LockBank({
    board,
    compartments: channels.map((ref) => ({ id: ref.channel + 1, lock: ref, door: ref })),
    pulseMs: KERONG_DEFAULTS.pulseMs,
    doorConfirmTimeoutMs: KERONG_DEFAULTS.doorConfirmTimeoutMs,
    doorLeftOpenAlarmMs: 600_000,
    pollIntervalMs: KERONG_DEFAULTS.pollIntervalMs,
    clock,
    logger,
    ...setup.bank,
  });

  /** Advance fake time in small steps until `promise` settles (bounded); resolves with it and when it settled. */
  async function settle<T>(promise: Promise<T>, maxMs = 120_000): Promise<{ value: T; at: number }> {
    let done = false;
    let at = 0;
    let value: T | undefined;
    let failure: unknown = null;
    let failed = false;
    void promise.then(
      (v) => {
        done = true;
        at = clock.now();
        value = v;
      },
      (error: unknown) => {
        done = true;
        failed = true;
        failure = error;
        at = clock.now();
      },
    );
    for (let elapsed = 0; !done && elapsed <= maxMs; elapsed += 5) await clock.fake.tickAsync(5);
    if (!done) throw new Error(`did not settle within ${maxMs} ms of fake time`);
    if (failed) throw failure;
    return { value: value as T, at };
  }

  /** Advance fake time by `ms` in small steps, so serial I/O keeps up with the timers. */
  async function advance(ms: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += 5) await clock.fake.tickAsync(Math.min(5, ms - elapsed));
  }

  async function open(compartment: number): Promise<{ outcome: OpenOutcome; startedAt: number; endedAt: number }> {
    const startedAt = clock.now();
    const { value, at } = await settle(bank.open(compartment));
    return { outcome: value, startedAt, endedAt: at };
  }

  async function dispose(): Promise<void> {
    await settle(bank.stop(), 30_000).catch(() => undefined);
    bus.dispose();
    SerialPortMock.binding.reset();
  }

  return { clock, bus, driver, board, bank, settle, advance, open, dispose };
}

export type KerongBankRig = ReturnType<typeof createKerongBank>;
