import { SimBoard } from '../../controller/drivers/sim.js';
import { LockBank, type CompartmentWiring, type LockBankOptions } from '../../controller/lock-bank.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createFakeClock } from './fake-clock.js';
import { RecordingBoard } from './recording-board.js';

export function simWiring(count = 16): CompartmentWiring[] {
  return Array.from({ length: count }, (_, index) => ({
    id: index + 1,
    lock: { board: 0, channel: index },
    door: { board: 0, channel: index },
  }));
}

/** A lock bank on a simulated board, a recording wrapper and a fake clock. */
export function createSimBank(overrides: Partial<LockBankOptions> = {}) {
  const clock = createFakeClock(1_000_000);
  const logger = createSilentLogger();
  const sim = new SimBoard({ clock, logger });
  const pollIntervalMs = overrides.pollIntervalMs ?? 500;
  // A pulse is blind unless the board answered within the last poll interval.
  const board = new RecordingBoard(sim, clock, pollIntervalMs);
  const bank = new LockBank({
    board,
    compartments: simWiring(),
    pulseMs: 300,
    doorConfirmTimeoutMs: 2000,
    doorLeftOpenAlarmMs: 60_000,
    pollIntervalMs,
    clock,
    logger,
    ...overrides,
  });
  return { clock, sim, board, bank };
}
