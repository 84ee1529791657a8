/**
 * Kerong KR-CU16-style RS-485 framing, pure: no I/O, no timers.
 *
 * Frame: `STX ADDR CMD [DATA...] ETX SUM`, SUM = low byte of the additive sum of every byte
 * from STX through ETX. ADDR: high nibble = board id (rotary switch 0-9), low nibble = lock
 * index 0-15. See /work/shared/HARDWARE.md section 1.
 *
 * There is deliberately no encoder for "unlock all" (0x33): commodity boards obey it without
 * authentication, so the only safe driver is one that cannot produce it.
 */
import { HardwareError } from '../../errors.js';

export const STX = 0x02;
export const ETX = 0x03;
export const CMD_QUERY_BOARD = 0x30;
export const CMD_UNLOCK = 0x31;
export const CMD_QUERY_ALL = 0x32;
/** Documented so it can be recognised and refused; never encoded by this module. */
export const CMD_UNLOCK_ALL = 0x33;
export const CMD_STATUS_REPLY = 0x35;

export const CHANNELS_PER_BOARD = 16;
export const MAX_BOARD_ID = 9;
/** STX ADDR CMD ETX SUM: a frame without data. */
export const COMMAND_FRAME_LENGTH = 5;
/** STX ADDR 0x35 L1-8 L9-16 IR1-8 IR9-16 ETX SUM. */
export const STATUS_FRAME_LENGTH = 9;

/**
 * The frame length for every command byte the parser accepts. Frames have no length byte, so
 * a command byte we do not know means we cannot tell where the frame ends: the parser drops
 * the STX and resynchronises rather than wait. Command frames are listed so that a local echo
 * of our own transmission (some RS-485 adapters echo) parses as a frame and is ignored,
 * instead of being treated as line noise. Unlock-all is left out on purpose.
 */
const FRAME_LENGTH_BY_COMMAND: ReadonlyMap<number, number> = new Map([
  [CMD_QUERY_BOARD, COMMAND_FRAME_LENGTH],
  [CMD_UNLOCK, COMMAND_FRAME_LENGTH],
  [CMD_QUERY_ALL, COMMAND_FRAME_LENGTH],
  [CMD_STATUS_REPLY, STATUS_FRAME_LENGTH],
]);
export const MAX_FRAME_LENGTH = Math.max(...FRAME_LENGTH_BY_COMMAND.values());

/** One validated frame (checksum and ETX checked). */
export interface Frame {
  /** Board id: high nibble of ADDR. */
  readonly board: number;
  /** Lock index: low nibble of ADDR. */
  readonly lock: number;
  readonly command: number;
  /** Bytes between CMD and ETX. */
  readonly data: Uint8Array;
  /** The whole frame as received, STX through SUM. */
  readonly bytes: Uint8Array;
}

/** Low byte of the additive sum of `bytes` (pass STX through ETX). */
export function checksum(bytes: Iterable<number>): number {
  let sum = 0;
  for (const byte of bytes) sum = (sum + byte) & 0xff;
  return sum;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(' ');
}

function checkBoard(board: number): void {
  if (!Number.isInteger(board) || board < 0 || board > MAX_BOARD_ID) {
    throw new HardwareError('INVALID_CHANNEL', `board ${board}: Kerong board ids are 0-${MAX_BOARD_ID}`);
  }
}

function checkLock(board: number, lock: number): void {
  if (!Number.isInteger(lock) || lock < 0 || lock >= CHANNELS_PER_BOARD) {
    throw new HardwareError('INVALID_CHANNEL', `board ${board} channel ${lock}: Kerong lock indexes are 0-15`);
  }
}

function encodeFrame(address: number, command: number, data: readonly number[] = []): Uint8Array {
  const frame = new Uint8Array(data.length + COMMAND_FRAME_LENGTH);
  frame.set([STX, address, command, ...data, ETX]);
  frame[frame.length - 1] = checksum(frame.subarray(0, frame.length - 1));
  return frame;
}

/** Unlock (pulse) one lock; the board times the pulse itself. Lock 0 board 0: `02 00 31 03 36`. */
export function encodeUnlock(board: number, lock: number): Uint8Array {
  checkBoard(board);
  checkLock(board, lock);
  return encodeFrame((board << 4) | lock, CMD_UNLOCK);
}

/** Ask one board for its lock and infrared status. Board 0: `02 00 30 03 35`. */
export function encodeQuery(board: number): Uint8Array {
  checkBoard(board);
  return encodeFrame(board << 4, CMD_QUERY_BOARD);
}

/**
 * A status reply as a board sends it, for simulators. Bit i of `lockBits` / `irBits` is
 * lock / infrared sensor i (0-based); the caller applies the lock-bit polarity.
 */
export function encodeStatusReply(board: number, lockBits: number, irBits: number): Uint8Array {
  checkBoard(board);
  return encodeFrame(board << 4, CMD_STATUS_REPLY, [
    lockBits & 0xff,
    (lockBits >> 8) & 0xff,
    irBits & 0xff,
    (irBits >> 8) & 0xff,
  ]);
}

/** One board's status, decoded. Index = channel 0-15. */
export interface BoardStatus {
  readonly board: number;
  readonly locked: readonly boolean[];
  /** The lock's feedback is the door: unlocked means the door is open (not latched). */
  readonly doorOpen: readonly boolean[];
  readonly itemPresent: readonly boolean[];
}

/**
 * Decode a status reply. `lockedBit` is the bit value that means "locked": implementations
 * disagree (see HARDWARE.md), so it is configuration, calibrated on site.
 */
export function decodeStatus(frame: Frame, lockedBit: 0 | 1): BoardStatus {
  if (frame.command !== CMD_STATUS_REPLY || frame.data.length !== 4) {
    throw new HardwareError(
      'BAD_FRAME',
      `board ${frame.board}: expected a status reply, got command 0x${frame.command.toString(16)} [${toHex(frame.bytes)}]`,
    );
  }
  const [l1 = 0, l2 = 0, ir1 = 0, ir2 = 0] = frame.data;
  const lockBits = l1 | (l2 << 8);
  const irBits = ir1 | (ir2 << 8);
  const locked: boolean[] = [];
  const itemPresent: boolean[] = [];
  for (let channel = 0; channel < CHANNELS_PER_BOARD; channel++) {
    locked.push(((lockBits >> channel) & 1) === lockedBit);
    itemPresent.push(((irBits >> channel) & 1) === 1);
  }
  return { board: frame.board, locked, doorOpen: locked.map((isLocked) => !isLocked), itemPresent };
}

export type FrameRejectReason = 'checksum' | 'etx' | 'unknown-command';

export interface FrameParserOptions {
  /** Told about every candidate frame that was dropped; for logs. */
  onReject?: (reason: FrameRejectReason, bytes: Uint8Array) => void;
}

/**
 * Turns a byte stream into validated frames. Bytes before an STX are dropped; a candidate
 * frame whose command is unknown, whose ETX is missing or whose checksum is wrong loses only
 * its STX, and the search restarts on the next byte, so a real frame hidden behind a false
 * start is still found. Because every known frame is at most MAX_FRAME_LENGTH bytes, the
 * parser never holds more than MAX_FRAME_LENGTH - 1 bytes between calls.
 */
export class KerongFrameParser {
  #pending: Uint8Array = new Uint8Array(0);
  #badChecksums = 0;
  #droppedBytes = 0;
  readonly #onReject: FrameParserOptions['onReject'];

  constructor(options: FrameParserOptions = {}) {
    this.#onReject = options.onReject;
  }

  /** Frames that had the right shape but the wrong checksum, since creation. */
  get badChecksums(): number {
    return this.#badChecksums;
  }

  /** Bytes discarded as noise (including the STX of rejected candidates), since creation. */
  get droppedBytes(): number {
    return this.#droppedBytes;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.#pending.length;
  }

  /** Forget a partial frame, e.g. before a new command (its reply would be stale). */
  reset(): void {
    this.#droppedBytes += this.#pending.length;
    this.#pending = new Uint8Array(0);
  }

  push(chunk: Uint8Array): Frame[] {
    const buffer = new Uint8Array(this.#pending.length + chunk.length);
    buffer.set(this.#pending);
    buffer.set(chunk, this.#pending.length);
    const frames: Frame[] = [];
    let start = 0;
    while (start < buffer.length) {
      if (buffer[start] !== STX) {
        start++;
        this.#droppedBytes++;
        continue;
      }
      const command = buffer[start + 2];
      if (command === undefined) break; // wait for ADDR and CMD
      const length = FRAME_LENGTH_BY_COMMAND.get(command);
      if (length === undefined) {
        this.#reject('unknown-command', buffer.subarray(start, start + 3));
        start++;
        continue;
      }
      if (start + length > buffer.length) break; // wait for the rest of the frame
      const bytes = buffer.slice(start, start + length);
      const reason = validate(bytes);
      if (reason) {
        this.#reject(reason, bytes);
        start++;
        continue;
      }
      const address = bytes[1] ?? 0;
      frames.push({ board: address >> 4, lock: address & 0x0f, command, data: bytes.slice(3, length - 2), bytes });
      start += length;
    }
    this.#pending = buffer.slice(start);
    return frames;
  }

  #reject(reason: FrameRejectReason, bytes: Uint8Array): void {
    if (reason === 'checksum') this.#badChecksums++;
    this.#droppedBytes++;
    this.#onReject?.(reason, bytes);
  }
}

function validate(bytes: Uint8Array): FrameRejectReason | undefined {
  if (bytes[bytes.length - 2] !== ETX) return 'etx';
  if (bytes[bytes.length - 1] !== checksum(bytes.subarray(0, bytes.length - 1))) return 'checksum';
  return undefined;
}
