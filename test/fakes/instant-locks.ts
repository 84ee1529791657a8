/**
 * A lock port whose every pulse succeeds at once, for tests of what the core records around a
 * pulse (not of the board): it notes each pulsed compartment and reads the door and the item
 * sensor from `board`, which the test (or, with `doorOpensOnPulse`, the pulse) changes.
 */
import { EventEmitter } from 'node:events';
import type { DoorState, LockBankEvents, OpenOutcome } from '../../controller/lock-bank.js';
import type { LockPort } from '../../kiosk/core/ports.js';

export interface InstantBoard {
  door: DoorState;
  itemPresent?: boolean | null;
}

export function instantLocks(board: InstantBoard, options: { doorOpensOnPulse?: boolean } = {}) {
  const pulsed: number[] = [];
  const events = new EventEmitter<LockBankEvents>();
  const locks = {
    events,
    open: async (compartment: number): Promise<OpenOutcome> => {
      pulsed.push(compartment);
      if (options.doorOpensOnPulse) board.door = 'open';
      return { ok: true, compartment, pulses: 1, confirmed: true, alreadyOpen: false };
    },
    itemPresent: () => board.itemPresent ?? null,
    doorState: () => board.door,
  };
  return { locks, port: locks as unknown as LockPort, pulsed };
}
