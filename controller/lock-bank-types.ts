/**
 * The lock bank's vocabulary, shared by the bank, its board monitor and the kiosk (through
 * lock-bank.ts, which re-exports all of it).
 */
import type { ChannelRef } from './lock-board.js';
import type { HardwareErrorCode } from './errors.js';

export interface CompartmentWiring {
  readonly id: number;
  readonly lock: ChannelRef;
  /** null: no door switch, so an opening cannot be confirmed. */
  readonly door: ChannelRef | null;
}

export type DoorState = 'open' | 'closed' | 'unknown';

export type OpenErrorCode =
  | 'UNKNOWN_COMPARTMENT'
  | 'JAMMED' // pulsed, the board answering, the door switch never showed the door open
  | 'BOARD_OFFLINE' // the board did not answer (before the pulse: nothing was sent; after: not retried)
  | 'BOARD_ERROR' // a pulse failed on its way to the lock
  | 'STOPPED'; // the bank is shutting down

export type OpenOutcome =
  | {
      ok: true;
      compartment: number;
      /** Pulses sent to the lock: 0 when the door was already open. */
      pulses: number;
      /** false when the compartment has no door switch: nobody can know it opened. */
      confirmed: boolean;
      alreadyOpen: boolean;
    }
  | {
      ok: false;
      compartment: number;
      /**
       * Pulses sent to the lock, counting one that failed on its way (the lock may have moved).
       * 0: refused before anything was sent, so the compartment's content is as it was.
       */
      pulses: number;
      error: OpenErrorCode;
      detail: string;
      hardwareCode?: HardwareErrorCode;
    };

export type DoorOpenCause = 'command' | 'forced' | 'found-open';

export interface LockBankEvents {
  doorOpened: [compartment: number, cause: DoorOpenCause];
  doorClosed: [compartment: number];
  /** A door opened without a command: the compartment's content is uncertain. */
  forced: [compartment: number];
  /** A door has been open longer than doorLeftOpenAlarmMs. */
  leftOpen: [compartment: number, openForMs: number];
  /** A door's state cannot be known (its board is not answering). */
  doorUnknown: [compartment: number];
  /** A pulse is asked of the driver; `ms` is what the lock will really get. */
  pulseStarted: [compartment: number, ms: number];
  /** The pulse is over; `sent` false when the driver refused it before sending anything. */
  pulseEnded: [compartment: number, sent: boolean];
  /** An open() has its outcome (metrics count them by outcome). */
  openOutcome: [outcome: OpenOutcome];
  boardOffline: [board: number, reason: string];
  boardOnline: [board: number];
}

export type SelfTestResult = 'confirmed' | 'already-open' | 'no-door-signal' | 'jammed' | 'board-error';

export interface SelfTestEntry {
  compartment: number;
  result: SelfTestResult;
  pulses: number;
  detail: string;
}
