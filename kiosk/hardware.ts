/**
 * Builds the lock board and the lock bank the configuration asks for. Drivers for real
 * hardware load their native modules only here, only when chosen, so the simulator runs on
 * any machine.
 */
import type { Logger } from 'pino';
import type { Clock } from './lib/clock.js';
import { GpioBoard, createOnoffFactory } from '../controller/drivers/gpio.js';
import { findGpioBase } from '../controller/drivers/gpio-base.js';
import { KerongBoard } from '../controller/drivers/kerong/kerong-board.js';
import { createSerialPortTransport } from '../controller/drivers/kerong/serial-transport.js';
import { Mcp23017Board, openI2CBus } from '../controller/drivers/mcp23017.js';
import { SimBoard } from '../controller/drivers/sim.js';
import type { BoardWiring, ChannelRef, LockBoard } from '../controller/lock-board.js';
import { LockBank } from '../controller/lock-bank.js';
import type { ResolvedConfig } from './config/load.js';
import { moduleLogger } from './logging.js';

export interface Hardware {
  board: LockBoard;
  bank: LockBank;
  /** Present when the locker runs on the simulator. */
  sim: SimBoard | null;
}

export function wiringOf(config: ResolvedConfig): BoardWiring {
  const locks: ChannelRef[] = config.compartmentWiring.map((c) => c.lock);
  const doors: ChannelRef[] = config.compartmentWiring.flatMap((c) => (c.door ? [c.door] : []));
  return { locks, doors };
}

export async function createBoard(config: ResolvedConfig, clock: Clock, logger: Logger): Promise<LockBoard> {
  const wiring = wiringOf(config);
  const hw = config.hardware;
  switch (hw.kind) {
    case 'sim':
      return new SimBoard({ clock, logger: moduleLogger(logger, 'controller:sim'), wiring });
    case 'kerong':
      return new KerongBoard({
        transport: createSerialPortTransport({ path: hw.kerong.path, baudRate: hw.kerong.baudRate }),
        wiring,
        options: { lockedBit: hw.kerong.lockedBit, replyTimeoutMs: hw.kerong.replyTimeoutMs, boardPulseMs: hw.kerong.boardPulseMs },
        clock,
        logger,
      });
    case 'mcp23017':
      return new Mcp23017Board({ bus: await openI2CBus(hw.mcp23017.bus), wiring, clock, logger });
    case 'gpio':
      return new GpioBoard({
        factory: await createOnoffFactory(),
        base: await findGpioBase(hw.gpio.sysfsRoot),
        wiring,
        doorOpenLevel: hw.gpio.doorOpenLevel,
        debounceMs: hw.gpio.debounceMs,
        clock,
        logger,
      });
  }
}

export async function createHardware(config: ResolvedConfig, clock: Clock, logger: Logger): Promise<Hardware> {
  const board = await createBoard(config, clock, logger);
  const bank = new LockBank({
    board,
    compartments: config.compartmentWiring,
    pulseMs: config.locks.pulseMs,
    doorConfirmTimeoutMs: config.locks.doorConfirmTimeoutMs,
    doorLeftOpenAlarmMs: config.locks.doorLeftOpenAlarmMs,
    pollIntervalMs: config.locks.pollIntervalMs,
    ...(config.locks.restMs === null ? {} : { restMs: config.locks.restMs }),
    itemSensors: config.hardware.itemSensors,
    clock,
    logger: moduleLogger(logger, 'controller:lock-bank'),
  });
  return { board, bank, sim: board instanceof SimBoard ? board : null };
}
