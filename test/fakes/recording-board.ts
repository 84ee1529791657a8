import type { Clock } from '../../kiosk/lib/clock.js';
import { HardwareError } from '../../controller/errors.js';
import type { BoardInputs, ChannelRef, LockBoard } from '../../controller/lock-board.js';

export interface PulseRecord {
  ref: ChannelRef;
  requestedMs: number;
  start: number;
  end: number | null;
}

/**
 * Wraps any LockBoard and watches the safety properties from outside: how many outputs are on
 * at once, how long each pulse lasted on the clock, the order of calls. It can also make the
 * next calls fail, to play a flaky bus.
 */
export class RecordingBoard implements LockBoard {
  readonly pulses: PulseRecord[] = [];
  readonly calls: string[] = [];
  active = 0;
  maxActive = 0;
  failNextPulses = 0;
  failNextReads = 0;

  constructor(
    readonly inner: LockBoard,
    readonly clock: Clock,
  ) {}

  get kind(): LockBoard['kind'] {
    return this.inner.kind;
  }

  get events(): LockBoard['events'] {
    return this.inner.events;
  }

  async init(): Promise<void> {
    this.calls.push('init');
    await this.inner.init();
  }

  async pulse(ref: ChannelRef, ms: number): Promise<void> {
    this.calls.push(`pulse ${ref.board}/${ref.channel}`);
    const record: PulseRecord = { ref, requestedMs: ms, start: this.clock.now(), end: null };
    this.pulses.push(record);
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      if (this.failNextPulses > 0) {
        this.failNextPulses -= 1;
        throw new HardwareError('BUS_ERROR', `recording board: injected failure pulsing ${ref.board}/${ref.channel}`);
      }
      await this.inner.pulse(ref, ms);
    } finally {
      this.active -= 1;
      record.end = this.clock.now();
    }
  }

  async readInputs(board: number): Promise<BoardInputs> {
    this.calls.push(`read ${board}`);
    if (this.failNextReads > 0) {
      this.failNextReads -= 1;
      throw new HardwareError('BOARD_TIMEOUT', `recording board: injected timeout reading board ${board}`);
    }
    return this.inner.readInputs(board);
  }

  async allOff(): Promise<void> {
    this.calls.push('allOff');
    await this.inner.allOff();
  }

  async close(): Promise<void> {
    this.calls.push('close');
    await this.inner.close();
  }
}
