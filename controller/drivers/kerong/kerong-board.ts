/**
 * LockBoard driver for Kerong KR-CU16-style boards on one RS-485 bus (HARDWARE.md section 1).
 *
 * - One command on the wire at a time: every command goes through one queue, and input left
 *   over from an earlier command is discarded before the next is sent (leftover bytes are
 *   the classic cause of bad frames on these buses).
 * - The board times each unlock pulse itself, so `pulse()` sends the unlock and then waits
 *   `boardPulseMs + pulseSettleMs`; there is no "off" command, and the one "unlock all"
 *   command is never sent (protocol.ts cannot even encode it).
 * - Never blind: an unlock is written only if, at the moment it reaches the front of the
 *   queue, the board answered a status query within the guard's window and no query to it has
 *   failed since. An unlock queued behind queries that the board stopped answering is dropped
 *   (BOARD_OFFLINE), never sent late; one whose guard signal is aborted while it waits is
 *   dropped at once (PULSE_CANCELLED).
 * - Doors are read from the lock's feedback bit: a lock that does not read locked is a door
 *   that is open. The bit's polarity is configuration (`lockedBit`).
 * - A query that gets no valid reply is retried `retries` times with a growing pause, then
 *   rejects with BOARD_TIMEOUT, or BAD_FRAME if only corrupt replies came back.
 */
import { Backoff } from '../../../kiosk/lib/backoff.js';
import { sleep, type Clock } from '../../../kiosk/lib/clock.js';
import { BoardAnswers } from '../../board-answers.js';
import { HardwareError, isHardwareError } from '../../errors.js';
import type { BoardInputs, BoardWiring, ChannelRef, LockBoard, PulseGuard, PulseTiming } from '../../lock-board.js';
import { RequestWaiter } from '../../request-waiter.js';
import type { Logger } from 'pino';
import {
  CHANNELS_PER_BOARD,
  CMD_QUERY_BOARD,
  CMD_STATUS_REPLY,
  CMD_UNLOCK,
  KerongFrameParser,
  MAX_BOARD_ID,
  decodeStatus,
  encodeQuery,
  encodeUnlock,
  toHex,
  type Frame,
  type FrameRejectReason,
} from './protocol.js';
import type { SerialTransport } from './serial-transport.js';

export interface KerongBoardOptions {
  /** Lock-status bit value that means "locked" (1 unless calibrated otherwise). */
  lockedBit: 0 | 1;
  /** How long to wait for a status reply, per attempt. */
  replyTimeoutMs: number;
  /**
   * How long the board keeps a lock energised after an unlock command: its firmware's setting,
   * measured on the bench (README, "Calibrating a Kerong board"). The lock bank rests each
   * lock three times this long.
   */
  boardPulseMs: number;
  /** Extra attempts after a query got no valid reply. Default 2. */
  retries?: number;
  /** Pause before the first retry; it doubles on each further retry. Default 50. */
  retryDelayMs?: number;
  /** Added to boardPulseMs for transmission and the board's reaction time. Default 50. */
  pulseSettleMs?: number;
}

export const DEFAULT_PULSE_SETTLE_MS = 50;

export interface KerongBoardDeps {
  transport: SerialTransport;
  wiring: BoardWiring;
  options: KerongBoardOptions;
  clock: Clock;
  /** A parent logger; the driver logs through a child with `module: 'controller:kerong'`. */
  logger: Logger;
}

type State = 'uninitialised' | 'ready' | 'closed';

function describeCommand(board: number, channel: number | undefined, name: string, command: number): string {
  const where = channel === undefined ? `board ${board} channels 0-15` : `board ${board} channel ${channel}`;
  return `${where} command ${name} (0x${command.toString(16)})`;
}

/** Prefix a HardwareError from below (transport, waiter) with the command it broke. */
function inContext(describe: string, error: unknown): HardwareError {
  if (!isHardwareError(error)) return new HardwareError('BUS_ERROR', `${describe}: ${String(error)}`, { cause: error });
  if (error.message.startsWith(describe)) return error;
  return new HardwareError(error.code, `${describe}: ${error.message}`, { cause: error });
}

export class KerongBoard implements LockBoard {
  readonly kind = 'kerong' as const;

  readonly #transport: SerialTransport;
  readonly #wiring: BoardWiring;
  readonly #boards: readonly number[];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #lockedBit: 0 | 1;
  readonly #replyTimeoutMs: number;
  readonly #boardPulseMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #pulseSettleMs: number;
  readonly #parser: KerongFrameParser;
  readonly #replies: RequestWaiter<Frame>;
  readonly #answers: BoardAnswers;

  #state: State = 'uninitialised';
  /** Tail of the command queue; never rejects. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Bumped by allOff(), init() and close(): queued pulses from an older generation are dropped. */
  #generation = 0;
  /** Clock time at which the board's latest pulse is over. */
  #pulseEndsAt = 0;

  constructor({ transport, wiring, options, clock, logger }: KerongBoardDeps) {
    for (const ref of [...wiring.locks, ...wiring.doors]) {
      const validBoard = Number.isInteger(ref.board) && ref.board >= 0 && ref.board <= MAX_BOARD_ID;
      const validChannel = Number.isInteger(ref.channel) && ref.channel >= 0 && ref.channel < CHANNELS_PER_BOARD;
      if (!validBoard || !validChannel) {
        const where = `board ${ref.board} channel ${ref.channel}`;
        throw new HardwareError('INVALID_CHANNEL', `wiring: ${where} is not a Kerong address`);
      }
    }
    this.#transport = transport;
    this.#wiring = wiring;
    this.#boards = [...new Set([...wiring.locks, ...wiring.doors].map((ref) => ref.board))].sort((a, b) => a - b);
    this.#clock = clock;
    this.#log = logger.child({ module: 'controller:kerong' });
    this.#lockedBit = options.lockedBit;
    this.#replyTimeoutMs = options.replyTimeoutMs;
    this.#boardPulseMs = options.boardPulseMs;
    this.#retries = options.retries ?? 2;
    this.#retryDelayMs = options.retryDelayMs ?? 50;
    this.#pulseSettleMs = options.pulseSettleMs ?? DEFAULT_PULSE_SETTLE_MS;
    this.#answers = new BoardAnswers(clock);
    this.#parser = new KerongFrameParser({ onReject: this.#onBadFrame });
    this.#replies = new RequestWaiter<Frame>(clock);
    transport.events.on('data', this.#onData);
    transport.events.on('fault', this.#onFault);
  }

  /**
   * Kerong outputs are only ever on during a board-timed pulse, so "all off" is: drop queued
   * pulses, let a running pulse end, open the port and check every wired board answers.
   */
  async init(): Promise<void> {
    if (this.#state === 'closed') throw new HardwareError('CLOSED', 'Kerong bus: init after close');
    this.#state = 'uninitialised';
    this.#generation++;
    await this.#enqueue(async () => {
      await this.#waitForPulseEnd();
      await this.#transport.open();
      this.#parser.reset();
      for (const board of this.#boards) await this.#query(board);
    });
    this.#assertNotClosed('Kerong bus init'); // close() may have won the race
    this.#state = 'ready';
    this.#log.info({ boards: this.#boards, path: this.#transport.path }, 'Kerong bus ready');
  }

  async pulse(lock: ChannelRef, ms: number, guard: PulseGuard): Promise<void> {
    const describe = describeCommand(lock.board, lock.channel, 'unlock', CMD_UNLOCK);
    this.#assertReady(describe);
    if (!this.#wiring.locks.some((ref) => ref.board === lock.board && ref.channel === lock.channel)) {
      throw new HardwareError('INVALID_CHANNEL', `${describe}: not a wired lock`);
    }
    const generation = this.#generation;
    /** Set once the unlock is on its way: from then on an abort no longer stops it. */
    let sending = false;
    const job = this.#enqueue(async () => {
      this.#assertNotClosed(describe);
      if (generation !== this.#generation) {
        throw new HardwareError('PULSE_CANCELLED', `${describe}: cancelled by allOff/init before it was sent`);
      }
      // Checked here, at the front of the queue, so nothing can slip in between.
      this.#answers.checkGuard(lock.board, guard, describe);
      sending = true;
      if (ms !== this.#boardPulseMs) {
        const fields = { board: lock.board, channel: lock.channel, askedMs: ms, boardPulseMs: this.#boardPulseMs };
        this.#log.debug(fields, 'the board times its own pulse; the requested length is not used');
      }
      const frame = encodeUnlock(lock.board, lock.channel);
      const pulseTotalMs = this.#boardPulseMs + this.#pulseSettleMs;
      try {
        await this.#transport.discardInput();
        this.#parser.reset();
        // Set before the write as well: if the write fails halfway the board may still pulse.
        this.#pulseEndsAt = this.#clock.now() + pulseTotalMs;
        await this.#transport.write(frame);
        this.#pulseEndsAt = this.#clock.now() + pulseTotalMs;
      } catch (error) {
        const failure = inContext(describe, error);
        this.#answers.failedAll(this.#boards, failure.message);
        throw failure;
      }
      this.#log.info({ board: lock.board, channel: lock.channel, frame: toHex(frame) }, 'unlock sent');
      await this.#waitForPulseEnd();
    });
    const signal = guard.signal;
    if (!signal) return job;
    // An abort while the unlock still waits in the queue drops it now, not when its turn comes.
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (!sending) reject(new HardwareError('PULSE_CANCELLED', `${describe}: cancelled before it was sent`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      job.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** The board applies its own pulse, whatever was asked. */
  effectivePulse(_lock: ChannelRef, _requestedMs: number): PulseTiming {
    return { onMs: this.#boardPulseMs, totalMs: this.#boardPulseMs + this.#pulseSettleMs };
  }

  async readInputs(board: number): Promise<BoardInputs> {
    const describe = describeCommand(board, undefined, 'query', CMD_QUERY_BOARD);
    this.#assertReady(describe);
    if (!this.#boards.includes(board)) throw new HardwareError('INVALID_CHANNEL', `${describe}: board not wired`);
    const frame = await this.#enqueue(() => this.#query(board));
    const status = decodeStatus(frame, this.#lockedBit);
    const doorOpen = new Map<number, boolean>();
    for (const door of this.#wiring.doors) {
      if (door.board === board) doorOpen.set(door.channel, status.doorOpen[door.channel] ?? false);
    }
    const itemPresent = new Map(status.itemPresent.map((present, channel) => [channel, present] as const));
    return { doorOpen, itemPresent };
  }

  /** Drops queued pulses and resolves once the board's running pulse (if any) has ended. */
  async allOff(): Promise<void> {
    this.#generation++;
    await this.#waitForPulseEnd();
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#generation++;
    this.#replies.rejectAll(new HardwareError('CLOSED', 'Kerong bus closed while waiting for a reply'));
    await this.#queue;
    await this.#waitForPulseEnd();
    this.#transport.events.off('data', this.#onData);
    this.#transport.events.off('fault', this.#onFault);
    await this.#transport.close();
    this.#log.info({ path: this.#transport.path }, 'Kerong bus closed');
  }

  #assertNotClosed(describe: string): void {
    if (this.#state === 'closed') throw new HardwareError('CLOSED', `${describe}: bus closed`);
  }

  #assertReady(describe: string): void {
    this.#assertNotClosed(describe);
    if (this.#state !== 'ready') throw new HardwareError('NOT_INITIALISED', `${describe}: init() has not succeeded`);
  }

  #enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(job);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #waitForPulseEnd(): Promise<void> {
    const remaining = this.#pulseEndsAt - this.#clock.now();
    if (remaining > 0) await sleep(this.#clock, remaining);
  }

  /** Query one board, with retries. Runs inside the queue. */
  async #query(board: number): Promise<Frame> {
    const describe = describeCommand(board, undefined, 'query', CMD_QUERY_BOARD);
    const backoff = new Backoff({ initialMs: this.#retryDelayMs, maxMs: this.#retryDelayMs * 4 });
    const badBefore = this.#parser.badChecksums;
    const fail = (error: HardwareError): HardwareError => {
      if (error.code !== 'CLOSED') this.#answers.failed(board, error.message);
      return error;
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const frame = await this.#queryOnce(board, describe);
        this.#answers.answered(board);
        return frame;
      } catch (error) {
        const retryable = isHardwareError(error) && (error.code === 'BOARD_TIMEOUT' || error.code === 'BAD_FRAME');
        if (!retryable) throw fail(inContext(describe, error));
        const corrupt = this.#parser.badChecksums - badBefore;
        if (attempt >= this.#retries) {
          const tried = `in ${attempt + 1} attempts of ${this.#replyTimeoutMs} ms`;
          if (corrupt > 0) {
            const message = `${describe}: ${corrupt} replies failed their checksum, no valid reply ${tried}`;
            throw fail(new HardwareError('BAD_FRAME', message, { cause: error }));
          }
          throw fail(new HardwareError('BOARD_TIMEOUT', `${describe}: no reply ${tried}`, { cause: error }));
        }
        this.#log.warn({ board, attempt: attempt + 1, corrupt }, 'no valid status reply, retrying');
        await sleep(this.#clock, backoff.next());
      }
    }
  }

  async #queryOnce(board: number, describe: string): Promise<Frame> {
    this.#assertNotClosed(describe);
    await this.#transport.discardInput();
    this.#parser.reset();
    // close() may have run during the flush; a waiter registered now would only time out.
    this.#assertNotClosed(describe);
    const reply = this.#replies.waitFor(
      (frame) => frame.command === CMD_STATUS_REPLY && frame.board === board,
      this.#replyTimeoutMs,
      describe,
    );
    try {
      await this.#transport.write(encodeQuery(board));
    } catch (error) {
      reply.cancel();
      throw error;
    }
    return reply.promise;
  }

  readonly #onData = (chunk: Buffer): void => {
    for (const frame of this.#parser.push(chunk)) {
      if (!this.#replies.deliver(frame)) {
        // Unsolicited: a reply to an unlock, an echo of our own frame, or a late reply.
        this.#log.debug({ frame: toHex(frame.bytes) }, 'frame nobody was waiting for');
      }
    }
  };

  readonly #onBadFrame = (reason: FrameRejectReason, bytes: Uint8Array): void => {
    this.#log.debug({ reason, bytes: toHex(bytes) }, 'dropped a malformed frame');
    // A corrupt reply is still the board answering: retry now rather than wait out the timeout.
    if (reason === 'checksum') {
      this.#replies.rejectAll(new HardwareError('BAD_FRAME', `reply failed its checksum [${toHex(bytes)}]`));
    }
  };

  readonly #onFault = (error: Error): void => {
    this.#log.error({ err: error, path: this.#transport.path }, 'serial port fault');
    const message = `serial port ${this.#transport.path}: ${error.message}`;
    this.#answers.failedAll(this.#boards, message);
    this.#replies.rejectAll(new HardwareError('BUS_ERROR', message, { cause: error }));
  };
}
