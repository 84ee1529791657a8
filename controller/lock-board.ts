import type { EventEmitter } from 'node:events';

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

/**
 * One bus of lock hardware, behind which sit one or more boards.
 *
 * Contract, common to every driver:
 * - `init()` drives every lock output off before it does anything else, then configures the
 *   inputs. It may be called again after a fault to re-initialise. Commands before `init()`
 *   reject with `NOT_INITIALISED`; after `close()` with `CLOSED`.
 * - `pulse(ref, ms)` energises one lock output for `ms` milliseconds and resolves once the
 *   output is off again. Boards that time their own pulse (Kerong) resolve once the board's
 *   pulse has had time to end. On any error the driver tries to drive the output off, then
 *   rejects with a `HardwareError`. The driver does not cap `ms`: the lock bank does, and
 *   the bank never asks a driver for two pulses at once.
 * - `readInputs(board)` reads the door (and item) inputs of one board; rejects with
 *   `BOARD_TIMEOUT`, `BAD_FRAME` or `BUS_ERROR` rather than return a guess.
 * - `allOff()` drives every output off. Best effort: it never rejects.
 * - `close()` drives every output off and releases the port, bus or lines.
 * All errors are `HardwareError`s naming the board, channel and command.
 */
export interface LockBoard {
  readonly kind: LockBoardKind;
  init(): Promise<void>;
  pulse(lock: ChannelRef, ms: number): Promise<void>;
  readInputs(board: number): Promise<BoardInputs>;
  allOff(): Promise<void>;
  close(): Promise<void>;
  /** Present on drivers that learn of input changes by interrupt rather than by polling. */
  readonly events?: EventEmitter<LockBoardEvents>;
}

export function formatRef(ref: ChannelRef): string {
  return `board ${ref.board} channel ${ref.channel}`;
}
