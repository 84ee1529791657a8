import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { sleep, type Clock } from '../kiosk/lib/clock.js';
import { BoardMonitor, NOT_YET, type BoardStatus } from './board-monitor.js';
import { describeError, isHardwareError, type HardwareErrorCode } from './errors.js';
import type { CompartmentWiring, DoorState, LockBankEvents, OpenOutcome, SelfTestEntry, SelfTestResult } from './lock-bank-types.js';
import { wasNotSent, type LockBoard, type PulseTiming } from './lock-board.js';

export type * from './lock-bank-types.js';

/** No configuration and no caller can make a lock pulse longer than this. */
export const PULSE_HARD_CAP_MS = 1500;

/** A solenoid may be on at most this fraction of the time (intermittent duty). */
export const MAX_DUTY_CYCLE = 0.25;

/** How many pulses one open() may send: the first and at most one retry. */
export const MAX_PULSES = 2;

/** The shortest rest after a pulse of `onMs` that keeps MAX_DUTY_CYCLE: three times the pulse. */
export function minimumRestMs(onMs: number): number {
  return Math.ceil((onMs * (1 - MAX_DUTY_CYCLE)) / MAX_DUTY_CYCLE);
}

/** The longest an open() takes, from its start (after any rest the lock still owed), to its outcome. */
export function openVerdictBoundMs(options: { doorConfirmTimeoutMs: number; pollIntervalMs: number }): number {
  return 2 * options.doorConfirmTimeoutMs + options.pollIntervalMs;
}

export interface LockBankOptions {
  board: LockBoard;
  compartments: readonly CompartmentWiring[];
  /** Pulse length asked of the driver; capped at PULSE_HARD_CAP_MS. A Kerong board applies its own. */
  pulseMs: number;
  /** How long after a pulse is sent the door switch may take to show the door open. */
  doorConfirmTimeoutMs: number;
  /** A door open longer than this raises `leftOpen` (once per opening). */
  doorLeftOpenAlarmMs: number;
  /** How often every board is read; also how fresh a board's last answer must be for a pulse. */
  pollIntervalMs: number;
  /**
   * Rest after a pulse before the same lock is pulsed again. Default, and minimum: three times
   * the pulse the board really applies (LockBoard.effectivePulse), for a 25 % duty cycle.
   */
  restMs?: number;
  /** Each compartment has an item sensor on its door's channel (BoardMonitorOptions.itemSensors). */
  itemSensors?: boolean;
  clock: Clock;
  logger: Logger;
}

type PulseResult = { sent: true } | { sent: false; message: string } | { sent: 'failed'; message: string; code?: HardwareErrorCode };

/**
 * The lock bank: every actuation in the locker goes through here.
 *
 * - One lock energised at a time: opens (and self-tests) run one after the other in a queue.
 * - Every pulse asked is capped at PULSE_HARD_CAP_MS, and a lock rests at least three times
 *   the pulse its board really applies before it is pulsed again (25 % duty cycle).
 * - All outputs are driven off at start, before anything else, and on stop.
 * - Never blind: right before each pulse the bank reads the board (joining a read under way)
 *   and asks the driver to send only if the board answered within the last poll interval
 *   with no failure since; the driver checks that at the front of its own queue. A pulse the
 *   bank could no longer confirm in time is withdrawn before it is sent. An open refused
 *   before any pulse, or whose board stopped answering after the pulse, is never retried.
 * - An opening is confirmed by the door switch within doorConfirmTimeoutMs of the pulse; one
 *   retry, only for a door that stayed shut (or a failed pulse) with the board answering, and
 *   only if it fits; then a typed `JAMMED`. The outcome is known within
 *   openVerdictBoundMs() of the open's start, whatever the bus does.
 * - Door states and board health are kept by a BoardMonitor: polled every poll interval,
 *   never backed off, reads never queued behind each other. Open attempts change nothing in
 *   it but the freshness of its reads.
 */
export class LockBank {
  readonly events = new EventEmitter<LockBankEvents>();
  readonly #options: LockBankOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #compartments: Map<number, CompartmentWiring>;
  readonly #monitor: BoardMonitor;
  /** What a pulse of each compartment's lock really does, and the rest it needs after. */
  readonly #pulses = new Map<number, { timing: PulseTiming; restMs: number }>();
  /** Compartments with an open() in progress: a door opening there is commanded. */
  readonly #commanded = new Set<number>();
  /** Per lock: clock.now() before which it must rest (duty cycle). */
  readonly #restUntil = new Map<number, number>();
  /** Aborted by stop(): cuts rests and waits short. */
  readonly #stopping = new AbortController();
  #queue: Promise<unknown> = Promise.resolve();
  #state: 'new' | 'running' | 'stopped' = 'new';
  readonly #onInputsChanged = (board: number): void => this.#monitor.readSoon(board);

  /** Throws RangeError for a board whose pulse exceeds the hard cap, or a rest below three times the pulse. */
  constructor(options: LockBankOptions) {
    if (options.compartments.length === 0) throw new RangeError('a lock bank needs at least one compartment');
    this.#options = options;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#compartments = new Map(options.compartments.map((c) => [c.id, c]));
    for (const compartment of options.compartments) {
      const timing = options.board.effectivePulse(compartment.lock, this.pulseMs);
      if (timing.onMs > PULSE_HARD_CAP_MS) {
        throw new RangeError(`compartment ${compartment.id}: the board pulses its lock for ${timing.onMs} ms, above the ${PULSE_HARD_CAP_MS} ms cap`);
      }
      const minimum = minimumRestMs(timing.onMs);
      if (options.restMs !== undefined && options.restMs < minimum) {
        throw new RangeError(`rest of ${options.restMs} ms is below three times the ${timing.onMs} ms pulse of compartment ${compartment.id} (at least ${minimum} ms)`);
      }
      this.#pulses.set(compartment.id, { timing, restMs: Math.max(options.restMs ?? 0, minimum) });
    }
    this.#monitor = new BoardMonitor({
      board: options.board,
      compartments: options.compartments,
      pollIntervalMs: options.pollIntervalMs,
      doorLeftOpenAlarmMs: options.doorLeftOpenAlarmMs,
      clock: options.clock,
      logger: options.logger,
      events: this.events,
      isCommanded: (id) => this.#commanded.has(id),
      itemSensors: options.itemSensors ?? false,
    });
  }

  /** The pulse length asked of the driver: the configured one, never above the hard cap. */
  get pulseMs(): number {
    return Math.min(Math.max(1, this.#options.pulseMs), PULSE_HARD_CAP_MS);
  }

  /** The longest an open takes from its start to its outcome. */
  get verdictBoundMs(): number {
    return openVerdictBoundMs(this.#options);
  }

  /** What a pulse of the compartment's lock really does, and the rest that follows it. */
  pulseOf(compartment: number): { onMs: number; restMs: number } | null {
    const entry = this.#pulses.get(compartment);
    return entry ? { onMs: entry.timing.onMs, restMs: entry.restMs } : null;
  }

  get compartmentIds(): number[] {
    return [...this.#compartments.keys()].sort((a, b) => a - b);
  }

  /**
   * Drive every output off, then read every board and start polling. A board that does not
   * answer at start does not stop the bank: its doors stay unknown and it is polled.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`lock bank cannot start: it is ${this.#state}`);
    await this.#options.board.allOff();
    this.#state = 'running';
    this.#options.board.events?.on('inputsChanged', this.#onInputsChanged);
    await this.#monitor.start();
  }

  /** Stop polling, refuse queued opens, drive every output off and release the board. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#stopping.abort(new Error('lock bank stopped'));
    this.#options.board.events?.off('inputsChanged', this.#onInputsChanged);
    const monitorStopped = this.#monitor.stop();
    await this.#options.board.allOff();
    await this.#queue.catch(() => undefined);
    await monitorStopped;
    await this.#options.board.close();
  }

  doorState(compartment: number): DoorState {
    return this.#monitor.doorState(compartment);
  }

  /** The compartment's item sensor at the last read; null: no sensor, or its board not answering. */
  itemPresent(compartment: number): boolean | null {
    return this.#monitor.itemPresent(compartment);
  }

  doorStates(): Map<number, DoorState> {
    return this.#monitor.doorStates();
  }

  boardStatus(): BoardStatus[] {
    return this.#monitor.boardStatus();
  }

  /** How long ago the stalest board's last poll read ended (BoardMonitor.pollAgeMs). */
  pollAgeMs(): number {
    return this.#monitor.pollAgeMs();
  }

  /** How often the boards are polled. */
  get pollIntervalMs(): number {
    return this.#options.pollIntervalMs;
  }

  /** Open one compartment. Never rejects: the outcome says what happened. */
  open(compartment: number): Promise<OpenOutcome> {
    return this.#enqueue(async () => {
      const outcome = await this.#open(compartment);
      this.events.emit('openOutcome', outcome);
      return outcome;
    });
  }

  /** Pulse each compartment in turn (all by default) and report what each door did. */
  selfTest(compartments: readonly number[] = this.compartmentIds): Promise<SelfTestEntry[]> {
    return this.#enqueue(async () => {
      const entries: SelfTestEntry[] = [];
      for (const id of compartments) entries.push(toSelfTestEntry(await this.#open(id)));
      return entries;
    });
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #open(id: number): Promise<OpenOutcome> {
    const wiring = this.#compartments.get(id);
    if (!wiring) return { ok: false, compartment: id, pulses: 0, error: 'UNKNOWN_COMPARTMENT', detail: `no compartment ${id}` };
    if (this.#state !== 'running') return stopped(id, 0);
    this.#commanded.add(id);
    try {
      const outcome = await this.#attemptOpen(wiring);
      if (!outcome.ok) this.#logger.warn({ compartment: id, error: outcome.error, pulses: outcome.pulses }, 'compartment did not open');
      return outcome;
    } finally {
      this.#commanded.delete(id);
    }
  }

  async #attemptOpen(wiring: CompartmentWiring): Promise<OpenOutcome> {
    const { id, lock, door } = wiring;
    const { timing } = this.#pulses.get(id) ?? { timing: { onMs: this.pulseMs, totalMs: this.pulseMs } };
    const { doorConfirmTimeoutMs: confirmMs, pollIntervalMs: pollMs } = this.#options;
    // A rest the lock still owes from an earlier open comes first; the time bound starts after it.
    if (!(await this.#rest(id))) return stopped(id, 0);
    const deadline = this.#clock.now() + this.verdictBoundMs;
    const boards = [...new Set([lock.board, ...(door ? [door.board] : [])])];

    const silent = await this.#freshRead(boards, deadline);
    if (this.#state !== 'running') return stopped(id, 0);
    if (silent) return offline(id, 0, silent);
    if (door && this.doorState(id) === 'open') return { ok: true, compartment: id, pulses: 0, confirmed: true, alreadyOpen: true };

    let pulses = 0;
    let failure: OpenOutcome | null = null;
    for (let attempt = 1; attempt <= MAX_PULSES; attempt += 1) {
      if (attempt > 1) {
        // A retry must fit: its rest, a fresh read and the whole pulse before the deadline.
        const restEnds = this.#restUntil.get(id) ?? 0;
        if (Math.max(restEnds, this.#clock.now()) + pollMs + timing.totalMs > deadline) {
          this.#logger.warn({ compartment: id, deadlineInMs: deadline - this.#clock.now() }, 'no time left for a second pulse');
          break;
        }
        if (!(await this.#rest(id))) return stopped(id, pulses);
        const gone = await this.#freshRead(boards, deadline);
        if (this.#state !== 'running') return stopped(id, pulses);
        if (gone) return offline(id, pulses, gone);
        if (door && this.doorState(id) === 'open') return { ok: true, compartment: id, pulses, confirmed: true, alreadyOpen: false };
      }
      if (this.#state !== 'running') return stopped(id, pulses);
      const windowEnd = Math.min(this.#clock.now() + confirmMs, deadline);
      const result = await this.#pulse(wiring, timing, windowEnd);
      if (result.sent === false) return this.#state === 'running' ? offline(id, pulses, result.message) : stopped(id, pulses);
      pulses += 1;
      if (result.sent === 'failed') {
        failure = { ok: false, compartment: id, pulses, error: 'BOARD_ERROR', detail: result.message, ...(result.code ? { hardwareCode: result.code } : {}) };
        continue;
      }
      if (!door) return { ok: true, compartment: id, pulses, confirmed: false, alreadyOpen: false };
      const seen = await this.#awaitDoorOpen(id, door.board, windowEnd);
      if (seen === 'open') return { ok: true, compartment: id, pulses, confirmed: true, alreadyOpen: false };
      if (seen === 'stopped') return stopped(id, pulses);
      // A board that stopped answering after the pulse is never pulsed again for this open.
      if (seen === 'no-answer') return offline(id, pulses, `board ${door.board} stopped answering after the pulse: ${this.#monitor.lastError(door.board) ?? 'no reply'}`);
      failure = { ok: false, compartment: id, pulses, error: 'JAMMED', detail: `door of compartment ${id} did not open within ${confirmMs} ms` };
    }
    return failure ?? offline(id, pulses, 'no pulse could be sent');
  }

  /**
   * Read `boards` now (joining reads under way), each within one poll interval and before the
   * deadline. null when every one answered; otherwise why not.
   */
  async #freshRead(boards: readonly number[], deadline: number): Promise<string | null> {
    for (const board of boards) {
      const waitMs = Math.min(this.#options.pollIntervalMs, deadline - this.#clock.now());
      const answered = await this.#monitor.readWithin(board, waitMs);
      if (answered === NOT_YET) return `board ${board} did not answer within ${Math.max(0, Math.round(waitMs))} ms`;
      if (!answered) return `board ${board} is not answering: ${this.#monitor.lastError(board) ?? 'no reply'}`;
    }
    return null;
  }

  /**
   * One capped pulse. The driver must send it within one poll interval of the fresh read, and
   * early enough to end by `windowEnd`: otherwise it is withdrawn, never sent late.
   */
  async #pulse(wiring: CompartmentWiring, timing: PulseTiming, windowEnd: number): Promise<PulseResult> {
    const now = this.#clock.now();
    const sendWithinMs = Math.min(this.#options.pollIntervalMs, windowEnd - timing.totalMs - now);
    const withdraw = new AbortController();
    const timer = this.#clock.setTimeout(() => withdraw.abort(), Math.max(0, sendWithinMs));
    const onStop = (): void => withdraw.abort();
    this.#stopping.signal.addEventListener('abort', onStop, { once: true });
    this.events.emit('pulseStarted', wiring.id, timing.onMs);
    this.#logger.info({ compartment: wiring.id, ms: timing.onMs }, 'pulse');
    let result: PulseResult;
    try {
      // stop() may have begun while this open waited for its read: then nothing goes out.
      if (sendWithinMs <= 0 || this.#stopping.signal.aborted) withdraw.abort();
      await this.#options.board.pulse(wiring.lock, this.pulseMs, { answeredWithinMs: this.#options.pollIntervalMs, signal: withdraw.signal });
      result = { sent: true };
    } catch (error) {
      if (wasNotSent(error)) {
        this.#logger.warn({ compartment: wiring.id, err: describeError(error) }, 'pulse refused: nothing sent');
        result = { sent: false, message: describeError(error) };
      } else {
        await this.#options.board.allOff();
        this.#logger.error({ compartment: wiring.id, err: describeError(error) }, 'pulse failed');
        result = { sent: 'failed', message: describeError(error), ...(isHardwareError(error) ? { code: error.code } : {}) };
      }
    } finally {
      this.#clock.clearTimeout(timer);
      this.#stopping.signal.removeEventListener('abort', onStop);
    }
    if (result.sent !== false) this.#restUntil.set(wiring.id, this.#clock.now() + (this.#pulses.get(wiring.id)?.restMs ?? minimumRestMs(timing.onMs)));
    this.events.emit('pulseEnded', wiring.id, result.sent !== false);
    return result;
  }

  /** Wait out the lock's rest; false if the bank stopped meanwhile. */
  async #rest(id: number): Promise<boolean> {
    const rest = (this.#restUntil.get(id) ?? 0) - this.#clock.now();
    if (rest > 0) {
      try {
        await sleep(this.#clock, rest, this.#stopping.signal);
      } catch {
        return false;
      }
    }
    return this.#state === 'running';
  }

  /**
   * Read the door's board until the door shows open or `windowEnd` passes. 'closed': the last
   * read that finished in the window answered and the door was shut; 'no-answer': it failed,
   * or none finished. A read still under way at the end is not waited for.
   */
  async #awaitDoorOpen(id: number, board: number, windowEnd: number): Promise<'open' | 'closed' | 'no-answer' | 'stopped'> {
    const step = Math.max(10, Math.min(100, this.#options.pollIntervalMs));
    let lastRead: boolean | null = null;
    for (;;) {
      if (this.#state !== 'running') return 'stopped';
      const answered = await this.#monitor.readWithin(board, windowEnd - this.#clock.now());
      if (answered !== NOT_YET) lastRead = answered;
      if (this.doorState(id) === 'open') return 'open';
      const left = windowEnd - this.#clock.now();
      if (left <= 0) return lastRead === true ? 'closed' : 'no-answer';
      try {
        await sleep(this.#clock, Math.min(step, left), this.#stopping.signal);
      } catch {
        return 'stopped';
      }
    }
  }
}

function stopped(compartment: number, pulses: number): OpenOutcome {
  return { ok: false, compartment, pulses, error: 'STOPPED', detail: 'lock bank is not running' };
}

function offline(compartment: number, pulses: number, detail: string): OpenOutcome {
  return { ok: false, compartment, pulses, error: 'BOARD_OFFLINE', detail };
}

/** What an open means for a self-test (the bank's selfTest() and lockerctl selftest). */
export function toSelfTestEntry(outcome: OpenOutcome): SelfTestEntry {
  if (outcome.ok) {
    const result: SelfTestResult = outcome.alreadyOpen ? 'already-open' : outcome.confirmed ? 'confirmed' : 'no-door-signal';
    const detail = outcome.alreadyOpen
      ? 'door was already open: close it and test again'
      : outcome.confirmed
        ? `door opened after ${outcome.pulses} pulse(s)`
        : 'pulsed; no door switch to confirm';
    return { compartment: outcome.compartment, result, pulses: outcome.pulses, detail };
  }
  const result: SelfTestResult = outcome.error === 'JAMMED' ? 'jammed' : 'board-error';
  return { compartment: outcome.compartment, result, pulses: outcome.pulses, detail: outcome.detail };
}
