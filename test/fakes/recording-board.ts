import type { Clock } from '../../kiosk/lib/clock.js';
import { HardwareError, isHardwareError } from '../../controller/errors.js';
import type { BoardInputs, ChannelRef, LockBoard, PulseGuard, PulseTiming } from '../../controller/lock-board.js';
import { wasNotSent } from '../../controller/lock-board.js';

export interface PulseRecord {
  ref: ChannelRef;
  requestedMs: number;
  start: number;
  end: number | null;
  /** false when the driver refused it before anything reached the lock (BOARD_OFFLINE, PULSE_CANCELLED, ...). */
  sent: boolean | null;
}

/** One finished exchange with a board, as the caller saw it. `board` null: every board (init). */
export interface ExchangeRecord {
  board: number | null;
  what: 'init' | 'read' | 'pulse';
  ok: boolean;
  at: number;
}

/** A pulse asked of a board whose last exchange had failed, or that had not answered recently. */
export interface BlindPulse {
  ref: ChannelRef;
  at: number;
  why: string;
}

/**
 * Wraps any LockBoard and watches the safety properties from outside: how many outputs are on
 * at once, how long each pulse lasted on the clock, the order of calls, and whether a pulse
 * was ever asked of a board whose last finished exchange failed or is older than
 * `freshWithinMs` (a blind pulse). It can also make the next calls fail, to play a flaky bus.
 */
export class RecordingBoard implements LockBoard {
  readonly pulses: PulseRecord[] = [];
  readonly calls: string[] = [];
  readonly exchanges: ExchangeRecord[] = [];
  readonly blindPulses: BlindPulse[] = [];
  active = 0;
  maxActive = 0;
  failNextPulses = 0;
  failNextReads = 0;

  constructor(
    readonly inner: LockBoard,
    readonly clock: Clock,
    /** A pulse is blind unless the board answered within this many ms before it was asked. */
    readonly freshWithinMs = Number.POSITIVE_INFINITY,
  ) {}

  get kind(): LockBoard['kind'] {
    return this.inner.kind;
  }

  get events(): LockBoard['events'] {
    return this.inner.events;
  }

  effectivePulse(lock: ChannelRef, requestedMs: number): PulseTiming {
    return this.inner.effectivePulse(lock, requestedMs);
  }

  async init(): Promise<void> {
    this.calls.push('init');
    try {
      await this.inner.init();
      this.#exchange(null, 'init', true);
    } catch (error) {
      this.#exchange(null, 'init', false);
      throw error;
    }
  }

  async pulse(ref: ChannelRef, ms: number, guard: PulseGuard): Promise<void> {
    this.calls.push(`pulse ${ref.board}/${ref.channel}`);
    const blind = this.#blindness(ref.board);
    if (blind) this.blindPulses.push({ ref, at: this.clock.now(), why: blind });
    const record: PulseRecord = { ref, requestedMs: ms, start: this.clock.now(), end: null, sent: null };
    this.pulses.push(record);
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.failNextPulses > 0) {
        this.failNextPulses -= 1;
        throw new HardwareError('BUS_ERROR', `recording board: injected failure pulsing ${ref.board}/${ref.channel}`);
      }
      await this.inner.pulse(ref, ms, guard);
      // Sent, but not an answer: a bus board does not reply to an unlock.
      record.sent = true;
    } catch (error) {
      record.sent = !wasNotSent(error);
      // A refusal never reached the board: it is not an exchange. Anything else failed one.
      if (record.sent) this.#exchange(ref.board, 'pulse', false);
      throw error;
    } finally {
      this.active -= 1;
      record.end = this.clock.now();
    }
  }

  async readInputs(board: number): Promise<BoardInputs> {
    this.calls.push(`read ${board}`);
    try {
      if (this.failNextReads > 0) {
        this.failNextReads -= 1;
        throw new HardwareError('BOARD_TIMEOUT', `recording board: injected timeout reading board ${board}`);
      }
      const inputs = await this.inner.readInputs(board);
      this.#exchange(board, 'read', true);
      return inputs;
    } catch (error) {
      if (!isHardwareError(error) || error.code !== 'CLOSED') this.#exchange(board, 'read', false);
      throw error;
    }
  }

  async allOff(): Promise<void> {
    this.calls.push('allOff');
    await this.inner.allOff();
  }

  async close(): Promise<void> {
    this.calls.push('close');
    await this.inner.close();
  }

  /** Pulses that reached the lock (not refused by the driver before sending). */
  get sentPulses(): PulseRecord[] {
    return this.pulses.filter((pulse) => pulse.sent !== false);
  }

  #exchange(board: number | null, what: ExchangeRecord['what'], ok: boolean): void {
    this.exchanges.push({ board, what, ok, at: this.clock.now() });
  }

  /** Why a pulse to `board` now would be blind, or null if the board answered recently. */
  #blindness(board: number): string | null {
    const last = this.exchanges.findLast((exchange) => exchange.board === board || exchange.board === null);
    if (!last) return 'no exchange with the board yet';
    if (!last.ok) return `its last exchange (${last.what} at ${last.at}) failed`;
    const age = this.clock.now() - last.at;
    if (age > this.freshWithinMs) return `it last answered ${age} ms ago`;
    return null;
  }
}
