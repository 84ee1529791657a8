import type { EventEmitter } from 'node:events';
import { isHardwareError, type HardwareErrorCode } from './errors.js';

/**
 * Where one lock output or one door input is wired.
 *
 * - kerong: `board` is the board id on the RS-485 bus (rotary switch, 0-9), `channel` the
 *   lock index 0-15. A door is read from the same board's lock-status bit for that channel.
 * - mcp23017: `board` is the chip's I2C address (0x20-0x27), `channel` the pin 0-15
 *   (0-7 = GPA0-7, 8-15 = GPB0-7).
 * - gpio: `board` is always 0, `channel` the BCM line number (0-27).
 * - sim: `board` is 0, `channel` 0-15.
 */
export interface ChannelRef {
  readonly board: number;
  readonly channel: number;
}

/** The wiring a driver is built for: which refs are lock outputs, which are door inputs. */
export interface BoardWiring {
  readonly locks: readonly ChannelRef[];
  readonly doors: readonly ChannelRef[];
}

/** One reading of a board's inputs. */
export interface BoardInputs {
  /** Door state per input channel: true = open. A channel with no signal is absent. */
  readonly doorOpen: ReadonlyMap<number, boolean>;
  /** Item-present sensor per channel, where the board has one (Kerong infrared). */
  readonly itemPresent: ReadonlyMap<number, boolean>;
}

export interface LockBoardEvents {
  /** Inputs of `board` may have changed (edge interrupt): read them. Optional for drivers. */
  inputsChanged: [board: number];
}

export type LockBoardKind = 'kerong' | 'mcp23017' | 'gpio' | 'sim';

/** The condition under which a driver may switch a lock output on. */
export interface PulseGuard {
  /**
   * The board must have answered a command (a status reply, an acknowledged transfer) within
   * this many milliseconds before the output goes on, and no exchange with it may have failed
   * since. Otherwise the pulse is refused with BOARD_OFFLINE and nothing is sent. The lock
   * bank passes its poll interval.
   */
  readonly answeredWithinMs: number;
  /**
   * Aborted: a pulse not yet sent is dropped at once (rejects PULSE_CANCELLED, nothing sent).
   * A pulse already sent runs to its end. The lock bank aborts a pulse it would no longer be
   * able to confirm in time, so an unlock never goes out late.
   */
  readonly signal?: AbortSignal;
}

/** What a pulse of one lock really does, whatever length was asked. */
export interface PulseTiming {
  /** How long the lock is energised. The rest and the duty cycle are computed from this. */
  readonly onMs: number;
  /** How long pulse() takes once the command is on its way: onMs plus the board's reaction. */
  readonly totalMs: number;
}

/**
 * One bus of lock hardware, behind which sit one or more boards.
 *
 * Contract, common to every driver:
 * - `init()` drives every lock output off before it does anything else, then configures the
 *   inputs. It may be called again after a fault to re-initialise. Commands before `init()`
 *   reject with `NOT_INITIALISED`; after `close()` with `CLOSED`. A successful init counts as
 *   every board answering.
 * - `pulse(ref, ms, guard)` energises one lock output and resolves once the output is off
 *   again. Right before the output goes on, on the same serialised path as every other
 *   command (nothing can slip in between), the driver checks `guard`: a board whose last
 *   exchange failed, that has not answered within `guard.answeredWithinMs`, or whose health
 *   is unknown gets nothing (BOARD_OFFLINE); an aborted `guard.signal` drops a pulse not yet
 *   sent (PULSE_CANCELLED). A pulse queued before the board went silent is therefore dropped,
 *   never sent late. Boards that time their own pulse (Kerong) ignore `ms` and apply their
 *   own; `effectivePulse()` says what really happens. On any error after the command went out
 *   the driver tries to drive the output off, then rejects with a `HardwareError`. The driver
 *   does not cap `ms`: the lock bank does, and never asks a driver for two pulses at once.
 * - `effectivePulse(ref, ms)` is what `pulse(ref, ms, ...)` does to the lock: direct drive
 *   (MCP23017, GPIO, simulator) energises for `ms`; a Kerong board for its own
 *   `boardPulseMs`, whatever `ms` says. Pure: no I/O.
 * - `readInputs(board)` reads the door (and item) inputs of one board; rejects with
 *   `BOARD_TIMEOUT`, `BAD_FRAME` or `BUS_ERROR` rather than return a guess. A reply is the
 *   board answering; a failure is a failed exchange (see `pulse`).
 * - `allOff()` drives every output off. Best effort: it never rejects.
 * - `close()` drives every output off and releases the port, bus or lines.
 * All errors are `HardwareError`s naming the board, channel and command. A pulse that rejects
 * with one of NOT_SENT_CODES sent nothing to the lock (see `wasNotSent`).
 */
export interface LockBoard {
  readonly kind: LockBoardKind;
  init(): Promise<void>;
  pulse(lock: ChannelRef, ms: number, guard: PulseGuard): Promise<void>;
  effectivePulse(lock: ChannelRef, requestedMs: number): PulseTiming;
  readInputs(board: number): Promise<BoardInputs>;
  allOff(): Promise<void>;
  close(): Promise<void>;
  /** Present on drivers that learn of input changes by interrupt rather than by polling. */
  readonly events?: EventEmitter<LockBoardEvents>;
}

/** Codes with which pulse() refuses before anything reaches the lock. */
export const NOT_SENT_CODES: readonly HardwareErrorCode[] = ['BOARD_OFFLINE', 'PULSE_CANCELLED', 'NOT_INITIALISED', 'INVALID_CHANNEL'];

/** True when a pulse() rejection means nothing was sent: the lock cannot have moved. */
export function wasNotSent(error: unknown): boolean {
  return isHardwareError(error) && NOT_SENT_CODES.includes(error.code);
}

export function formatRef(ref: ChannelRef): string {
  return `board ${ref.board} channel ${ref.channel}`;
}
