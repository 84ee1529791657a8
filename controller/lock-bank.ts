import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { Backoff } from '../kiosk/lib/backoff.js';
import { sleep, type Clock } from '../kiosk/lib/clock.js';
import { describeError, isHardwareError, type HardwareErrorCode } from './errors.js';
import type { ChannelRef, LockBoard } from './lock-board.js';

/** No configuration and no caller can make a lock pulse longer than this. */
export const PULSE_HARD_CAP_MS = 1500;

/** A solenoid may be on at most this fraction of the time (intermittent duty). */
export const MAX_DUTY_CYCLE = 0.25;

/** How many pulses one open() may use: the first and at most one retry. */
export const MAX_ATTEMPTS = 2;

export interface CompartmentWiring {
  readonly id: number;
  readonly lock: ChannelRef;
  /** null: no door switch, so an opening cannot be confirmed. */
  readonly door: ChannelRef | null;
}

export interface LockBankOptions {
  board: LockBoard;
  compartments: readonly CompartmentWiring[];
  /** Pulse length; capped at PULSE_HARD_CAP_MS. */
  pulseMs: number;
  /** How long after a pulse the door switch must show the door open. */
  doorConfirmTimeoutMs: number;
  /** A door open longer than this raises `leftOpen` (once per opening). */
  doorLeftOpenAlarmMs: number;
  /** How often door states are reconciled with the board. */
  pollIntervalMs: number;
  clock: Clock;
  logger: Logger;
  /** Retry of a board that stopped answering; default 1 s growing to 30 s. */
  offlineBackoff?: { initialMs: number; maxMs: number };
}

export type DoorState = 'open' | 'closed' | 'unknown';

export type OpenErrorCode =
  | 'UNKNOWN_COMPARTMENT'
  | 'JAMMED' // pulsed twice, the door switch never showed the door open
  | 'BOARD_OFFLINE' // the board is not answering: refused rather than guessed
  | 'BOARD_ERROR' // the board failed during the attempt
  | 'STOPPED'; // the bank is shutting down

export type OpenOutcome =
  | {
      ok: true;
      compartment: number;
      /** Pulses used: 0 when the door was already open. */
      attempts: number;
      /** false when the compartment has no door switch: nobody can know it opened. */
      confirmed: boolean;
      alreadyOpen: boolean;
    }
  | { ok: false; compartment: number; attempts: number; error: OpenErrorCode; detail: string; hardwareCode?: HardwareErrorCode };

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
  pulseStarted: [compartment: number, ms: number];
  pulseEnded: [compartment: number];
  boardOffline: [board: number, reason: string];
  boardOnline: [board: number];
}

export type SelfTestResult = 'confirmed' | 'already-open' | 'no-door-signal' | 'jammed' | 'board-error';

export interface SelfTestEntry {
  compartment: number;
  result: SelfTestResult;
  attempts: number;
  detail: string;
}

interface DoorTrack {
  state: DoorState;
  /** clock.now() when the state last changed. */
  since: number;
  alarmed: boolean;
  /** The last known state before `unknown`: a door closed before a board outage and open after it was opened without a command. */
  lastKnown: 'open' | 'closed' | null;
}

interface BoardHealth {
  online: boolean;
  backoff: Backoff;
  /** clock.now() before which a failed board is not asked again by the poll. */
  retryAt: number;
  lastError: string | null;
}

/**
 * The lock bank: every actuation in the locker goes through here.
 *
 * - One lock energised at a time: opens (and self-tests) run one after the other in a queue.
 * - Every pulse is capped at PULSE_HARD_CAP_MS, and a lock rests for three times its pulse
 *   before it is pulsed again (25 % duty cycle).
 * - All outputs are driven off at start, before anything else, and on stop.
 * - An opening is confirmed by the door switch within doorConfirmTimeoutMs; one retry; then a
 *   typed `JAMMED`. A board that stops answering makes its doors `unknown` (never guessed),
 *   is reported, and is asked again with backoff.
 * - Door states are reconciled by polling and, where the driver has interrupts, on each edge.
 *   A door that opens with no command in progress is reported as forced.
 */
export class LockBank {
  readonly events = new EventEmitter<LockBankEvents>();
  readonly #options: LockBankOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #compartments: Map<number, CompartmentWiring>;
  readonly #doors = new Map<number, DoorTrack>();
  readonly #boards = new Map<number, BoardHealth>();
  /** Compartments with an open() in progress: a door opening there is commanded. */
  readonly #commanded = new Set<number>();
  /** Per lock: clock.now() before which it must rest (duty cycle). */
  readonly #restUntil = new Map<number, number>();
  #queue: Promise<unknown> = Promise.resolve();
  #state: 'new' | 'running' | 'stopped' = 'new';
  /** false until board.init() has succeeded; a failed init is retried before the next read. */
  #initialised = false;
  #pollTimer: unknown = null;
  #polling: Promise<void> | null = null;
  /** Per board: reads asked so far, and the newest one whose answer was applied. */
  readonly #readsAsked = new Map<number, number>();
  readonly #readApplied = new Map<number, number>();
  readonly #onInputsChanged = (board: number): void => {
    void this.#refreshBoard(board);
  };

  constructor(options: LockBankOptions) {
    if (options.compartments.length === 0) throw new RangeError('a lock bank needs at least one compartment');
    this.#options = options;
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#compartments = new Map(options.compartments.map((c) => [c.id, c]));
    const backoff = options.offlineBackoff ?? { initialMs: 1000, maxMs: 30_000 };
    for (const compartment of options.compartments) {
      this.#doors.set(compartment.id, { state: 'unknown', since: this.#clock.now(), alarmed: false, lastKnown: null });
      if (compartment.door && !this.#boards.has(compartment.door.board)) {
        this.#boards.set(compartment.door.board, {
          online: true,
          backoff: new Backoff({ initialMs: backoff.initialMs, maxMs: backoff.maxMs }),
          retryAt: 0,
          lastError: null,
        });
      }
    }
  }

  /** The pulse length actually used: the configured one, never above the hard cap. */
  get pulseMs(): number {
    return Math.min(Math.max(1, this.#options.pulseMs), PULSE_HARD_CAP_MS);
  }

  get compartmentIds(): number[] {
    return [...this.#compartments.keys()].sort((a, b) => a - b);
  }

  /**
   * Drive every output off, then read every door and start reconciling. A board that does
   * not answer at start does not stop the bank: its doors stay unknown and it is retried.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`lock bank cannot start: it is ${this.#state}`);
    await this.#options.board.allOff();
    this.#state = 'running';
    await this.#ensureInitialised();
    this.#options.board.events?.on('inputsChanged', this.#onInputsChanged);
    await this.#pollOnce();
    this.#schedulePoll();
  }

  /** Stop polling, refuse queued opens, drive every output off and release the board. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#pollTimer !== null) this.#clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
    this.#options.board.events?.off('inputsChanged', this.#onInputsChanged);
    await this.#options.board.allOff();
    await this.#queue.catch(() => undefined);
    await this.#polling;
    await this.#options.board.close();
  }

  doorState(compartment: number): DoorState {
    return this.#doors.get(compartment)?.state ?? 'unknown';
  }

  doorStates(): Map<number, DoorState> {
    return new Map([...this.#doors].map(([id, track]) => [id, track.state]));
  }

  boardStatus(): { board: number; online: boolean; lastError: string | null }[] {
    return [...this.#boards].map(([board, health]) => ({ board, online: health.online, lastError: health.lastError }));
  }

  /** Open one compartment. Never rejects: the outcome says what happened. */
  open(compartment: number): Promise<OpenOutcome> {
    return this.#enqueue(() => this.#open(compartment));
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
    if (!wiring) return { ok: false, compartment: id, attempts: 0, error: 'UNKNOWN_COMPARTMENT', detail: `no compartment ${id}` };
    if (this.#state !== 'running') return { ok: false, compartment: id, attempts: 0, error: 'STOPPED', detail: 'lock bank is not running' };
    this.#commanded.add(id);
    try {
      return await this.#attemptOpen(wiring);
    } finally {
      this.#commanded.delete(id);
    }
  }

  async #attemptOpen(wiring: CompartmentWiring): Promise<OpenOutcome> {
    const { id, door } = wiring;
    if (!(await this.#ensureInitialised())) {
      return { ok: false, compartment: id, attempts: 0, error: 'BOARD_OFFLINE', detail: 'lock board could not be initialised' };
    }
    if (door) {
      const health = this.#boards.get(door.board);
      if (health && !health.online) {
        // The doors of that board are unknown; try once to read them before refusing.
        if (!(await this.#refreshBoard(door.board))) {
          return { ok: false, compartment: id, attempts: 0, error: 'BOARD_OFFLINE', detail: `board ${door.board} is not answering: ${health.lastError}` };
        }
      } else if (!(await this.#refreshBoard(door.board))) {
        return { ok: false, compartment: id, attempts: 0, error: 'BOARD_OFFLINE', detail: `board ${door.board} did not answer` };
      }
      if (this.doorState(id) === 'open') return { ok: true, compartment: id, attempts: 0, confirmed: true, alreadyOpen: true };
    }

    let lastFailure: OpenOutcome | null = null;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      if (this.#state !== 'running') return { ok: false, compartment: id, attempts: attempt - 1, error: 'STOPPED', detail: 'lock bank stopped' };
      const pulsed = await this.#pulse(wiring);
      if (pulsed !== null) {
        lastFailure = { ok: false, compartment: id, attempts: attempt, error: 'BOARD_ERROR', detail: pulsed.message, hardwareCode: pulsed.code };
        continue;
      }
      if (!door) return { ok: true, compartment: id, attempts: attempt, confirmed: false, alreadyOpen: false };
      if (await this.#awaitDoorOpen(id, door.board)) {
        return { ok: true, compartment: id, attempts: attempt, confirmed: true, alreadyOpen: false };
      }
      const health = this.#boards.get(door.board);
      lastFailure = health && !health.online
        ? { ok: false, compartment: id, attempts: attempt, error: 'BOARD_OFFLINE', detail: `board ${door.board} stopped answering: ${health.lastError}` }
        : { ok: false, compartment: id, attempts: attempt, error: 'JAMMED', detail: `door of compartment ${id} did not open within ${this.#options.doorConfirmTimeoutMs} ms` };
    }
    this.#logger.warn({ compartment: id, error: lastFailure?.ok === false ? lastFailure.error : undefined }, 'compartment did not open');
    return lastFailure as OpenOutcome;
  }

  /** One capped pulse after the lock's rest; null on success, the error otherwise. */
  async #pulse(wiring: CompartmentWiring): Promise<{ code?: HardwareErrorCode; message: string } | null> {
    const ms = this.pulseMs;
    const rest = (this.#restUntil.get(wiring.id) ?? 0) - this.#clock.now();
    if (rest > 0) await sleep(this.#clock, rest);
    this.events.emit('pulseStarted', wiring.id, ms);
    this.#logger.info({ compartment: wiring.id, ms }, 'pulse');
    try {
      await this.#options.board.pulse(wiring.lock, ms);
      return null;
    } catch (error) {
      await this.#options.board.allOff();
      this.#logger.error({ compartment: wiring.id, err: describeError(error) }, 'pulse failed');
      return { code: isHardwareError(error) ? error.code : undefined, message: describeError(error) } as { code?: HardwareErrorCode; message: string };
    } finally {
      this.#restUntil.set(wiring.id, this.#clock.now() + ms * ((1 - MAX_DUTY_CYCLE) / MAX_DUTY_CYCLE));
      this.events.emit('pulseEnded', wiring.id);
    }
  }

  /** Poll the door's board until the door shows open, or the confirm timeout passes. */
  async #awaitDoorOpen(id: number, board: number): Promise<boolean> {
    const deadline = this.#clock.now() + this.#options.doorConfirmTimeoutMs;
    const step = Math.max(10, Math.min(100, this.#options.pollIntervalMs));
    for (;;) {
      await this.#refreshBoard(board);
      if (this.doorState(id) === 'open') return true;
      const left = deadline - this.#clock.now();
      if (left <= 0) return false;
      await sleep(this.#clock, Math.min(step, left));
    }
  }

  #schedulePoll(): void {
    if (this.#state !== 'running') return;
    this.#pollTimer = this.#clock.setTimeout(() => {
      this.#pollTimer = null;
      this.#polling = this.#pollOnce().finally(() => {
        this.#polling = null;
        this.#schedulePoll();
      });
    }, this.#options.pollIntervalMs);
  }

  async #pollOnce(): Promise<void> {
    const now = this.#clock.now();
    for (const [board, health] of this.#boards) {
      if (!health.online && now < health.retryAt) continue;
      await this.#refreshBoard(board);
    }
    this.#checkLeftOpen();
  }

  /** init() drives outputs off first; if it fails, every board is offline until it succeeds. */
  async #ensureInitialised(): Promise<boolean> {
    if (this.#initialised) return true;
    try {
      await this.#options.board.init();
      this.#initialised = true;
      return true;
    } catch (error) {
      this.#logger.error({ err: describeError(error) }, 'lock board init failed; will retry');
      for (const board of this.#boards.keys()) this.#markOffline(board, describeError(error));
      return false;
    }
  }

  /** Read one board's doors and apply them; false if the board did not answer. */
  async #refreshBoard(board: number): Promise<boolean> {
    if (this.#state === 'stopped') return false;
    if (!(await this.#ensureInitialised())) return false;
    // Reads overlap (poll, interrupt, an open's confirm loop) and a bus may answer them out of
    // order: an answer older than one already applied is stale, and applying it would reopen a
    // closed door (a false `forced`, then a second `doorClosed`).
    const ticket = (this.#readsAsked.get(board) ?? 0) + 1;
    this.#readsAsked.set(board, ticket);
    let doorOpen: ReadonlyMap<number, boolean>;
    try {
      doorOpen = (await this.#options.board.readInputs(board)).doorOpen;
    } catch (error) {
      if (ticket < (this.#readApplied.get(board) ?? 0)) return false;
      this.#readApplied.set(board, ticket);
      this.#markOffline(board, describeError(error));
      return false;
    }
    if (ticket < (this.#readApplied.get(board) ?? 0)) return true;
    this.#readApplied.set(board, ticket);
    this.#markOnline(board);
    for (const compartment of this.#compartments.values()) {
      if (compartment.door?.board !== board) continue;
      const open = doorOpen.get(compartment.door.channel);
      this.#applyDoor(compartment.id, open === undefined ? 'unknown' : open ? 'open' : 'closed');
    }
    this.#checkLeftOpen();
    return true;
  }

  #applyDoor(id: number, next: DoorState): void {
    const track = this.#doors.get(id);
    if (!track || track.state === next) return;
    const previous = track.state === 'unknown' ? track.lastKnown : track.state;
    track.state = next;
    if (next !== 'unknown') track.lastKnown = next;
    track.since = this.#clock.now();
    track.alarmed = false;
    if (next === 'open') {
      const cause: DoorOpenCause = this.#commanded.has(id) ? 'command' : previous === 'closed' ? 'forced' : 'found-open';
      this.#logger.info({ compartment: id, cause }, 'door opened');
      this.events.emit('doorOpened', id, cause);
      if (cause === 'forced') this.events.emit('forced', id);
    } else if (next === 'closed') {
      // Every door reads closed at start: only a door that was open closing is news.
      this.#logger[previous === 'open' ? 'info' : 'debug']({ compartment: id }, 'door closed');
      this.events.emit('doorClosed', id);
    } else {
      this.events.emit('doorUnknown', id);
    }
  }

  #checkLeftOpen(): void {
    const now = this.#clock.now();
    for (const [id, track] of this.#doors) {
      if (track.state !== 'open' || track.alarmed) continue;
      const openFor = now - track.since;
      if (openFor >= this.#options.doorLeftOpenAlarmMs) {
        track.alarmed = true;
        this.#logger.warn({ compartment: id, openForMs: openFor }, 'door left open');
        this.events.emit('leftOpen', id, openFor);
      }
    }
  }

  #markOffline(board: number, reason: string): void {
    const health = this.#boards.get(board);
    if (!health) return;
    const wait = health.backoff.next();
    health.retryAt = this.#clock.now() + wait;
    health.lastError = reason;
    for (const compartment of this.#compartments.values()) {
      if (compartment.door?.board === board) this.#applyDoor(compartment.id, 'unknown');
    }
    if (health.online) {
      health.online = false;
      this.#logger.error({ board, reason, retryInMs: wait }, 'lock board not answering');
      this.events.emit('boardOffline', board, reason);
    }
  }

  #markOnline(board: number): void {
    const health = this.#boards.get(board);
    if (!health) return;
    health.backoff.reset();
    health.lastError = null;
    if (!health.online) {
      health.online = true;
      this.#logger.info({ board }, 'lock board answering again');
      this.events.emit('boardOnline', board);
    }
  }
}

function toSelfTestEntry(outcome: OpenOutcome): SelfTestEntry {
  if (outcome.ok) {
    const result: SelfTestResult = outcome.alreadyOpen ? 'already-open' : outcome.confirmed ? 'confirmed' : 'no-door-signal';
    const detail = outcome.alreadyOpen
      ? 'door was already open: close it and test again'
      : outcome.confirmed
        ? `door opened after ${outcome.attempts} pulse(s)`
        : 'pulsed; no door switch to confirm';
    return { compartment: outcome.compartment, result, attempts: outcome.attempts, detail };
  }
  const result: SelfTestResult = outcome.error === 'JAMMED' ? 'jammed' : 'board-error';
  return { compartment: outcome.compartment, result, attempts: outcome.attempts, detail: outcome.detail };
}
