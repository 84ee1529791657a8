import { EventEmitter } from 'node:events';
import { sleep, type Clock } from '../../kiosk/lib/clock.js';
import { BoardAnswers } from '../board-answers.js';
import { HardwareError } from '../errors.js';
import type { BoardInputs, BoardWiring, ChannelRef, LockBoard, LockBoardEvents, PulseGuard, PulseTiming } from '../lock-board.js';
import type { Logger } from 'pino';

export const SIM_CHANNELS = 16;

/** What one simulated compartment looks like, for the simulator page and tests. */
export interface SimChannelState {
  channel: number;
  /** The lock output is on right now. */
  energised: boolean;
  /** The door is physically open. */
  doorOpen: boolean;
  /** What the door switch reports (differs from doorOpen when the switch is stuck). */
  switchReads: boolean;
  jammed: boolean;
  switchStuck: boolean;
  itemPresent: boolean;
}

export interface SimEvents {
  /** Anything in the simulation changed: redraw. */
  changed: [];
}

interface Channel {
  energised: boolean;
  doorOpen: boolean;
  jammed: boolean;
  /** null: the switch works; true/false: it reads that whatever the door does. */
  stuckAt: boolean | null;
  itemPresent: boolean;
}

/**
 * An in-memory locker on board 0, channels 0-15. A door springs open when its lock is pulsed
 * (unless the lock is jammed), stays open until someone closes it, and can be forced open
 * while locked. Faults on demand: jammed lock, stuck door switch, board without power
 * (offline), board that stops answering but still obeys (silent, also right after a pulse),
 * missed replies, failing pulses. As a driver it keeps the pulse guard like the real ones: a
 * pulse goes only to a board that answered within the guard's window with no failure since.
 */
export class SimBoard implements LockBoard {
  readonly kind = 'sim' as const;
  readonly events = new EventEmitter<LockBoardEvents>();
  /** For the simulator page: anything in the simulated cabinet changed. */
  readonly world = new EventEmitter<SimEvents>();
  readonly #channels: Channel[];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #answers: BoardAnswers;
  #state: 'new' | 'ready' | 'closed' = 'new';
  #offline = false;
  #silent = false;
  #readsToFail = 0;
  #pulsesToFail = 0;
  #silenceAfterPulse = false;
  #pulses = 0;

  constructor(options: { clock: Clock; logger: Logger; wiring?: BoardWiring }) {
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#answers = new BoardAnswers(options.clock);
    this.#channels = Array.from({ length: SIM_CHANNELS }, () => ({
      energised: false,
      doorOpen: false,
      jammed: false,
      stuckAt: null,
      itemPresent: false,
    }));
  }

  async init(): Promise<void> {
    this.#assertOpen('init');
    this.#channels.forEach((channel) => (channel.energised = false));
    this.#state = 'ready';
    if (this.#offline || this.#silent) this.#answers.failed(0, 'no answer at init');
    else this.#answers.answered(0);
    this.#changed();
  }

  async pulse(lock: ChannelRef, ms: number, guard: PulseGuard): Promise<void> {
    this.#assertReady('pulse');
    const channel = this.#channel(lock, 'pulse');
    this.#answers.checkGuard(lock.board, guard, `sim board ${lock.board} pulse of channel ${lock.channel}`);
    if (this.#offline) {
      this.#answers.failed(0, 'pulse not answered');
      throw new HardwareError('BOARD_TIMEOUT', `sim board ${lock.board} did not answer pulse of channel ${lock.channel}`);
    }
    if (this.#pulsesToFail > 0) {
      this.#pulsesToFail -= 1;
      this.#answers.failed(0, 'pulse failed');
      throw new HardwareError('BUS_ERROR', `sim board ${lock.board}: pulse of channel ${lock.channel} failed (injected)`);
    }
    this.#pulses += 1;
    channel.energised = true;
    if (!channel.jammed) channel.doorOpen = true; // the spring pushes the door out
    if (this.#silenceAfterPulse) {
      this.#silenceAfterPulse = false;
      this.#silent = true;
    }
    this.#changed();
    try {
      await sleep(this.#clock, ms);
    } finally {
      channel.energised = false;
      this.#changed();
    }
  }

  /** Direct drive: the output is on for exactly the time asked. */
  effectivePulse(_lock: ChannelRef, requestedMs: number): PulseTiming {
    return { onMs: requestedMs, totalMs: requestedMs };
  }

  async readInputs(board: number): Promise<BoardInputs> {
    this.#assertReady('readInputs');
    if (board !== 0) throw new HardwareError('INVALID_CHANNEL', `sim has no board ${board}`);
    if (this.#offline || this.#silent) {
      this.#answers.failed(0, 'status query not answered');
      throw new HardwareError('BOARD_TIMEOUT', `sim board ${board} did not answer a status query`);
    }
    if (this.#readsToFail > 0) {
      this.#readsToFail -= 1;
      this.#answers.failed(0, 'status query missed');
      throw new HardwareError('BOARD_TIMEOUT', `sim board ${board} missed a status query (injected)`);
    }
    this.#answers.answered(0);
    const doorOpen = new Map<number, boolean>();
    const itemPresent = new Map<number, boolean>();
    this.#channels.forEach((channel, index) => {
      doorOpen.set(index, channel.stuckAt ?? channel.doorOpen);
      itemPresent.set(index, channel.itemPresent);
    });
    return { doorOpen, itemPresent };
  }

  async allOff(): Promise<void> {
    this.#channels.forEach((channel) => (channel.energised = false));
    this.#changed();
  }

  async close(): Promise<void> {
    await this.allOff();
    this.#state = 'closed';
  }

  // --- the simulated world: what people and faults do to the cabinet -----------------------

  /** A person closes the door. A door cannot close on a lock that is being pulsed open. */
  closeDoor(channel: number): void {
    const state = this.#world(channel);
    state.doorOpen = false;
    this.#changed();
  }

  /** The door is pulled open while locked (vandalism, a broken latch). */
  forceDoor(channel: number): void {
    this.#world(channel).doorOpen = true;
    this.#changed();
  }

  /** A jammed lock does not release when pulsed. */
  setJammed(channel: number, jammed: boolean): void {
    this.#world(channel).jammed = jammed;
    this.#changed();
  }

  /** A stuck door switch reads `reads` whatever the door does; null repairs it. */
  setSwitchStuck(channel: number, reads: boolean | null): void {
    this.#world(channel).stuckAt = reads;
    this.#changed();
  }

  setItemPresent(channel: number, present: boolean): void {
    this.#world(channel).itemPresent = present;
    this.#changed();
  }

  /** The board stops answering (cable cut, power lost), or comes back. */
  setOffline(offline: boolean): void {
    this.#offline = offline;
    this.#logger.info({ offline }, 'sim board availability changed');
    // No inputsChanged: a board coming back raises no interrupt; the poll must find it.
    this.world.emit('changed');
  }

  get offline(): boolean {
    return this.#offline;
  }

  /**
   * The board stops answering but still obeys (a broken transmit line on a bus board): status
   * queries time out, yet a pulse it is sent still energises the lock. false: it answers again.
   */
  setSilent(silent: boolean): void {
    this.#silent = silent;
    this.#logger.info({ silent }, 'sim board silence changed');
    this.world.emit('changed');
  }

  get silent(): boolean {
    return this.#silent;
  }

  /** The board goes silent the moment its next pulse starts (it has taken the unlock). */
  silenceAfterNextPulse(): void {
    this.#silenceAfterPulse = true;
  }

  /** The next `count` status queries get no answer (a missed reply on a noisy line). */
  failNextReads(count: number): void {
    this.#readsToFail = count;
  }

  /** The next `count` pulses fail before the output is switched on (a bus error). */
  failNextPulses(count: number): void {
    this.#pulsesToFail = count;
  }

  /** Pulses delivered since start. */
  get pulseCount(): number {
    return this.#pulses;
  }

  snapshot(): SimChannelState[] {
    return this.#channels.map((channel, index) => ({
      channel: index,
      energised: channel.energised,
      doorOpen: channel.doorOpen,
      switchReads: channel.stuckAt ?? channel.doorOpen,
      jammed: channel.jammed,
      switchStuck: channel.stuckAt !== null,
      itemPresent: channel.itemPresent,
    }));
  }

  /** Lock outputs energised right now. */
  energised(): ChannelRef[] {
    return this.#channels.flatMap((channel, index) => (channel.energised ? [{ board: 0, channel: index }] : []));
  }

  #changed(): void {
    this.world.emit('changed');
    this.events.emit('inputsChanged', 0);
  }

  #world(channel: number): Channel {
    const state = this.#channels[channel];
    if (!Number.isInteger(channel) || !state) throw new HardwareError('INVALID_CHANNEL', `sim has no channel ${channel}`);
    return state;
  }

  #channel(ref: ChannelRef, command: string): Channel {
    const state = ref.board === 0 ? this.#channels[ref.channel] : undefined;
    if (!state || !Number.isInteger(ref.channel)) {
      throw new HardwareError('INVALID_CHANNEL', `sim has no board ${ref.board} channel ${ref.channel} (${command})`);
    }
    return state;
  }

  #assertOpen(command: string): void {
    if (this.#state === 'closed') throw new HardwareError('CLOSED', `sim board is closed (${command})`);
  }

  #assertReady(command: string): void {
    this.#assertOpen(command);
    if (this.#state !== 'ready') throw new HardwareError('NOT_INITIALISED', `sim board used before init (${command})`);
  }
}
