/**
 * A simulated Kerong RS-485 bus: one or more KR-CU16 boards behind a `SerialPortMock`.
 *
 * It speaks the board's bytes: it reads the frames the driver writes (by wrapping the mock
 * binding's `write`), keeps 16 locks, doors and infrared sensors per board, times unlock
 * pulses itself like the real board, and answers queries with status frames in the
 * configured bit polarity, through `emitData` as a real port would deliver them. Every write
 * is recorded in hex so tests can assert the wire byte for byte. Fault switches reproduce
 * what goes wrong on a real bus: a board that does not answer, one that goes silent right after
 * it took an unlock (mid-exchange) and comes back later, corrupt checksums, line noise before a
 * reply, a reply arriving in pieces, a slow or late board, a jammed lock, a stuck switch.
 *
 * Time comes from an injected Clock (the system clock by default), so a whole lock bank over
 * the real driver and this bus can run on a fake clock.
 */
import type { SerialPortMock } from 'serialport';
import { createSystemClock, type Clock } from '../../kiosk/lib/clock.js';
import type { ChannelRef } from '../../controller/lock-board.js';
import {
  CHANNELS_PER_BOARD,
  CMD_QUERY_BOARD,
  CMD_UNLOCK,
  CMD_UNLOCK_ALL,
  ETX,
  KerongFrameParser,
  STX,
  encodeStatusReply,
  toHex,
  type Frame,
} from '../../controller/drivers/kerong/protocol.js';

type MockPortBinding = NonNullable<SerialPortMock['port']>;

export interface FakeKerongOptions {
  /** Board ids (rotary switch) present on the bus. */
  boards: readonly number[];
  /** Status bit value the boards send for "locked". */
  lockedBit: 0 | 1;
  /** How long a board keeps a lock energised after an unlock. */
  boardPulseMs: number;
  /** Delay before a board starts answering. Default 2 ms. */
  replyDelayMs?: number;
  /** Whether boards answer an unlock with a status frame (undocumented either way). Default false. */
  replyToUnlock?: boolean;
  /** Time for pulses and reply delays. Default: the system clock. */
  clock?: Clock;
}

/** One unlock frame a board acted on, with the clock time it arrived. */
export interface UnlockRecord {
  readonly ref: ChannelRef;
  readonly at: number;
  /** The board had stopped answering when the unlock arrived (its receiver still worked). */
  readonly whileSilent: boolean;
}

interface SimulatedBoard {
  silent: boolean;
  /** Goes silent as soon as it has acted on its next unlock. */
  silenceAfterUnlock: boolean;
  readonly doorOpen: boolean[];
  readonly itemPresent: boolean[];
  readonly jammed: boolean[];
  /** What a stuck lock-feedback switch reads (true = open), whatever the door does. */
  readonly stuckDoor: (boolean | undefined)[];
}

const key = (ref: ChannelRef): string => `${ref.board}/${ref.channel}`;

export class FakeKerongBus {
  /** Hex of every write the driver made, in order, e.g. "02 00 31 03 36". */
  readonly writes: string[] = [];
  /** Unlock-all frames seen on the wire. Must stay 0: the driver cannot send one. */
  unlockAllReceived = 0;
  /** Every unlock a board acted on, in order. */
  readonly unlocks: UnlockRecord[] = [];
  /** Status queries that reached a board, with the clock time, in order. */
  readonly queries: { board: number; at: number; answered: boolean }[] = [];

  readonly #options: Required<Omit<FakeKerongOptions, 'clock'>>;
  readonly #clock: Clock;
  readonly #boards = new Map<number, SimulatedBoard>();
  readonly #parser = new KerongFrameParser();
  readonly #wrapped = new WeakSet<MockPortBinding>();
  readonly #timers = new Set<unknown>();
  readonly #energised = new Map<string, { ref: ChannelRef; timer: unknown }>();
  #binding: MockPortBinding | undefined;
  #corruptReplies = 0;
  #garbage: Uint8Array = new Uint8Array(0);
  #splitParts = 1;
  #failWrites = false;

  constructor(options: FakeKerongOptions) {
    const { clock, ...rest } = options;
    this.#options = { replyDelayMs: 2, replyToUnlock: false, ...rest };
    this.#clock = clock ?? createSystemClock();
    for (const id of options.boards) {
      const channels = <T>(value: T): T[] => Array.from({ length: CHANNELS_PER_BOARD }, () => value);
      this.#boards.set(id, {
        silent: false,
        silenceAfterUnlock: false,
        doorOpen: channels(false),
        itemPresent: channels(false),
        jammed: channels(false),
        stuckDoor: channels<boolean | undefined>(undefined),
      });
    }
  }

  /** Listen on `port`: now if it is open, and every time it is (re)opened. */
  attach(port: SerialPortMock): void {
    if (port.port) this.#wrap(port.port);
    port.on('open', () => {
      if (port.port) this.#wrap(port.port);
    });
  }

  /** Stop every timer (pulses, pending replies). */
  dispose(): void {
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    for (const { timer } of this.#energised.values()) this.#clock.clearTimeout(timer);
    this.#energised.clear();
  }

  /** Locks within their board-timed pulse right now. */
  energised(): ChannelRef[] {
    return [...this.#energised.values()].map(({ ref }) => ref);
  }

  /** Physically open or close a door (a person at the locker). */
  setDoor(ref: ChannelRef, open: boolean): void {
    this.#board(ref.board).doorOpen[ref.channel] = open;
  }

  isDoorOpen(ref: ChannelRef): boolean {
    return this.#board(ref.board).doorOpen[ref.channel] ?? false;
  }

  setItem(ref: ChannelRef, present: boolean): void {
    this.#board(ref.board).itemPresent[ref.channel] = present;
  }

  /** Fault: the board stops answering (its receiver still works: unlocks still act); false: it is back. */
  setSilent(board: number, silent = true): void {
    this.#board(board).silent = silent;
  }

  isSilent(board: number): boolean {
    return this.#board(board).silent;
  }

  /**
   * Fault mid-exchange: the board acts on its next unlock (the lock is energised, the door
   * springs open) and stops answering from that moment, before any status query can tell.
   */
  silenceAfterNextUnlock(board: number): void {
    this.#board(board).silenceAfterUnlock = true;
  }

  /** Fault: the next `count` replies carry a wrong checksum. */
  corruptNextReplies(count: number): void {
    this.#corruptReplies = count;
  }

  /** Fault: every reply is preceded by these bytes of line noise (empty to stop). */
  setGarbage(bytes: readonly number[]): void {
    this.#garbage = Uint8Array.from(bytes);
  }

  /** Fault: every reply arrives in `parts` separate reads (1 = whole). */
  setSplit(parts: number): void {
    this.#splitParts = Math.max(1, parts);
  }

  /** Fault: the board answers after `ms`. */
  setReplyDelay(ms: number): void {
    this.#options.replyDelayMs = ms;
  }

  /** Fault: the USB adapter fails every write (EIO); serialport then closes the port. */
  failWrites(fail = true): void {
    this.#failWrites = fail;
  }

  /** Fault: the lock's latch is jammed: an unlock energises the coil but the door stays shut. */
  jam(ref: ChannelRef, jammed = true): void {
    this.#board(ref.board).jammed[ref.channel] = jammed;
  }

  /** Fault: the lock-feedback switch reads `reading` (true = open) whatever the door does. */
  stickDoor(ref: ChannelRef, reading: boolean | undefined): void {
    this.#board(ref.board).stuckDoor[ref.channel] = reading;
  }

  #board(id: number): SimulatedBoard {
    const board = this.#boards.get(id);
    if (!board) throw new Error(`fake Kerong bus has no board ${id}`);
    return board;
  }

  #wrap(binding: MockPortBinding): void {
    this.#binding = binding;
    if (this.#wrapped.has(binding)) return;
    this.#wrapped.add(binding);
    const write = binding.write.bind(binding);
    binding.write = async (buffer: Buffer): Promise<void> => {
      if (this.#failWrites) throw new Error('EIO: i/o error (simulated)');
      await write(buffer);
      this.#receive(buffer);
    };
  }

  #receive(bytes: Buffer): void {
    this.writes.push(toHex(bytes));
    // The parser does not know 0x33 (nothing may send it), so look for its shape directly.
    for (let i = 0; i + 3 < bytes.length; i++) {
      if (bytes[i] === STX && bytes[i + 2] === CMD_UNLOCK_ALL && bytes[i + 3] === ETX) this.unlockAllReceived++;
    }
    for (const frame of this.#parser.push(bytes)) this.#handle(frame);
  }

  #handle(frame: Frame): void {
    const board = this.#boards.get(frame.board);
    if (!board) return; // no board with that id on the bus: nobody acts or answers
    if (frame.command === CMD_UNLOCK) {
      const ref = { board: frame.board, channel: frame.lock };
      this.unlocks.push({ ref, at: this.#clock.now(), whileSilent: board.silent });
      this.#unlock(ref, board);
      if (board.silenceAfterUnlock) {
        board.silenceAfterUnlock = false;
        board.silent = true;
      }
      if (this.#options.replyToUnlock) this.#reply(frame.board, board);
    } else if (frame.command === CMD_QUERY_BOARD) {
      this.queries.push({ board: frame.board, at: this.#clock.now(), answered: !board.silent });
      this.#reply(frame.board, board);
    }
  }

  #unlock(ref: ChannelRef, board: SimulatedBoard): void {
    const previous = this.#energised.get(key(ref));
    if (previous) this.#clock.clearTimeout(previous.timer);
    const timer = this.#clock.setTimeout(() => this.#energised.delete(key(ref)), this.#options.boardPulseMs);
    this.#energised.set(key(ref), { ref, timer });
    // A spring pushes the door open as soon as the latch lets go.
    if (!board.jammed[ref.channel]) board.doorOpen[ref.channel] = true;
  }

  #statusFrame(id: number, board: SimulatedBoard): Uint8Array {
    const { lockedBit } = this.#options;
    let lockBits = 0;
    let irBits = 0;
    for (let channel = 0; channel < CHANNELS_PER_BOARD; channel++) {
      // The latch is the door switch: an open door cannot be latched.
      const readsOpen = board.stuckDoor[channel] ?? board.doorOpen[channel] ?? false;
      const bit = readsOpen ? 1 - lockedBit : lockedBit;
      lockBits |= bit << channel;
      if (board.itemPresent[channel]) irBits |= 1 << channel;
    }
    const frame = encodeStatusReply(id, lockBits, irBits);
    if (this.#corruptReplies > 0) {
      this.#corruptReplies--;
      frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x5a;
    }
    return frame;
  }

  #reply(id: number, board: SimulatedBoard): void {
    if (board.silent) return;
    // State is sampled when the board answers, as a real board would.
    this.#later(this.#options.replyDelayMs, () => {
      const frame = this.#statusFrame(id, board);
      const bytes = new Uint8Array(this.#garbage.length + frame.length);
      bytes.set(this.#garbage);
      bytes.set(frame, this.#garbage.length);
      const size = Math.ceil(bytes.length / this.#splitParts);
      for (let part = 0; part * size < bytes.length; part++) {
        // A few ms apart, so each piece lands in a separate read on the driver's side.
        this.#later(part * 3, () => this.#emit(bytes.subarray(part * size, (part + 1) * size)));
      }
    });
  }

  #emit(bytes: Uint8Array): void {
    if (this.#binding?.isOpen) this.#binding.emitData(Buffer.from(bytes));
  }

  #later(ms: number, action: () => void): void {
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
  }
}
