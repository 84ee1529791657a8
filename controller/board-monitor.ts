/**
 * What the lock bank knows of its boards and doors, kept current by polling.
 *
 * - Every board with a lock or a door on it is read every poll interval, online or not: a
 *   status query is cheap, so there is no backoff, and a board that answers again is seen
 *   within two poll intervals (one read under way when it came back, then the next).
 * - Reads never pile up: one read per board at a time. A caller asking while one is under way
 *   joins it (polls, door-confirm reads, an open's freshness check); an input-change interrupt
 *   asks for one more read after it, so an edge is never lost.
 * - A board that does not answer makes its doors `unknown`, never guessed; a door that opens
 *   with no command in progress is reported forced (also when it was closed before an outage
 *   and is open after it).
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Clock } from '../kiosk/lib/clock.js';
import { describeError, isHardwareError } from './errors.js';
import type { LockBoard } from './lock-board.js';
import type { CompartmentWiring, DoorOpenCause, DoorState, LockBankEvents } from './lock-bank-types.js';

export interface BoardMonitorOptions {
  board: LockBoard;
  compartments: readonly CompartmentWiring[];
  pollIntervalMs: number;
  doorLeftOpenAlarmMs: number;
  clock: Clock;
  logger: Logger;
  /** Where doorOpened, forced, boardOffline, ... are emitted (the lock bank's events). */
  events: EventEmitter<LockBankEvents>;
  /** Whether an open of `compartment` is under way: a door opening there is commanded. */
  isCommanded: (compartment: number) => boolean;
  /**
   * The boards have an item sensor per compartment (Kerong infrared, fitted), read on the
   * door's channel. False: whatever the board reports about items is ignored (a Kerong board
   * without sensors reads "absent" everywhere).
   */
  itemSensors?: boolean;
}

/** A read that did not finish within the time given. */
export const NOT_YET = 'not-yet' as const;

export interface BoardStatus {
  board: number;
  online: boolean;
  lastError: string | null;
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
  lastError: string | null;
}

export class BoardMonitor {
  readonly #o: BoardMonitorOptions;
  readonly #doors = new Map<number, DoorTrack>();
  /** Item sensor per compartment from the last answered read; absent: no sensor, or its board is not answering. */
  readonly #items = new Map<number, boolean>();
  readonly #boards = new Map<number, BoardHealth>();
  /** The read under way per board; callers join it. */
  readonly #reads = new Map<number, Promise<boolean>>();
  /** Boards whose inputs changed during a read: read once more after it. */
  readonly #readAgain = new Set<number>();
  /** Per board: clock.now() when its last read ended, answered or not (the watchdog's view of the poll). */
  readonly #readEndedAt = new Map<number, number>();
  #initialising: Promise<boolean> | null = null;
  #initialised = false;
  #pollTimer: unknown = null;
  #running = false;
  #stopped = false;

  constructor(options: BoardMonitorOptions) {
    this.#o = options;
    const now = options.clock.now();
    for (const compartment of options.compartments) {
      this.#doors.set(compartment.id, { state: 'unknown', since: now, alarmed: false, lastKnown: null });
      for (const ref of [compartment.lock, compartment.door]) {
        if (ref && !this.#boards.has(ref.board)) {
          this.#boards.set(ref.board, { online: true, lastError: null });
          this.#readEndedAt.set(ref.board, now);
        }
      }
    }
  }

  /** Read every board once, then poll every pollIntervalMs until stop(). */
  async start(): Promise<void> {
    this.#running = true;
    await this.ensureInitialised();
    await Promise.all([...this.#boards.keys()].map((board) => this.read(board)));
    this.#checkLeftOpen();
    this.#schedulePoll();
  }

  /** No more polls; resolves once the reads under way have finished. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#stopped = true;
    if (this.#pollTimer !== null) this.#o.clock.clearTimeout(this.#pollTimer);
    this.#pollTimer = null;
    this.#readAgain.clear();
    await Promise.all([...this.#reads.values(), this.#initialising]);
  }

  doorState(compartment: number): DoorState {
    return this.#doors.get(compartment)?.state ?? 'unknown';
  }

  /**
   * What the compartment's item sensor said at the last read: true = something inside; null
   * when there is no sensor (itemSensors off, or the board reports none) or its board is not
   * answering. Never a guess.
   */
  itemPresent(compartment: number): boolean | null {
    return this.#items.get(compartment) ?? null;
  }

  doorStates(): Map<number, DoorState> {
    return new Map([...this.#doors].map(([id, track]) => [id, track.state]));
  }

  boardStatus(): BoardStatus[] {
    return [...this.#boards].map(([board, health]) => ({ board, online: health.online, lastError: health.lastError }));
  }

  /**
   * How long ago the stalest board's last read ended, answered or not: it grows past the poll
   * interval only when a read hangs (a driver that never returns) or the polling stopped, never
   * because a board is offline (its reads end, failing).
   */
  pollAgeMs(): number {
    const now = this.#o.clock.now();
    let oldest = now;
    for (const at of this.#readEndedAt.values()) oldest = Math.min(oldest, at);
    return now - oldest;
  }

  lastError(board: number): string | null {
    return this.#boards.get(board)?.lastError ?? null;
  }

  /** init() drives outputs off first; if it fails, every board is offline until it succeeds. Joined like reads. */
  ensureInitialised(): Promise<boolean> {
    if (this.#initialised) return Promise.resolve(true);
    // Started in a microtask, so that a driver emitting inputsChanged from inside init() joins
    // this init instead of starting another.
    this.#initialising ??= Promise.resolve()
      .then(() => this.#initialise())
      .finally(() => {
        this.#initialising = null;
      });
    return this.#initialising;
  }

  /** Read one board's inputs and apply them; false if it did not answer. Joins a read under way. */
  read(board: number): Promise<boolean> {
    const underWay = this.#reads.get(board);
    if (underWay) return underWay;
    const read = Promise.resolve()
      .then(() => this.#readNow(board))
      .finally(() => {
        this.#readEndedAt.set(board, this.#o.clock.now());
        this.#reads.delete(board);
        if (this.#readAgain.delete(board) && this.#running) void this.read(board);
      });
    this.#reads.set(board, read);
    return read;
  }

  /** Like read(), but gives up waiting after `ms` (the read itself goes on): NOT_YET. */
  async readWithin(board: number, ms: number): Promise<boolean | typeof NOT_YET> {
    const read = this.read(board);
    let timer: unknown = null;
    const timeout = new Promise<typeof NOT_YET>((resolve) => {
      timer = this.#o.clock.setTimeout(() => resolve(NOT_YET), Math.max(0, ms));
    });
    try {
      return await Promise.race([read, timeout]);
    } finally {
      this.#o.clock.clearTimeout(timer);
    }
  }

  /** An interrupt said the inputs of `board` changed: read now, or once more after the read under way. */
  readSoon(board: number): void {
    if (!this.#running) return;
    if (this.#reads.has(board)) this.#readAgain.add(board);
    else void this.read(board);
  }

  async #initialise(): Promise<boolean> {
    try {
      await this.#o.board.init();
      this.#initialised = true;
      return true;
    } catch (error) {
      this.#o.logger.error({ err: describeError(error) }, 'lock board init failed; will retry');
      for (const board of this.#boards.keys()) this.#markOffline(board, describeError(error));
      return false;
    }
  }

  async #readNow(board: number): Promise<boolean> {
    if (this.#stopped || !(await this.ensureInitialised())) return false;
    let doorOpen: ReadonlyMap<number, boolean>;
    let itemPresent: ReadonlyMap<number, boolean>;
    try {
      ({ doorOpen, itemPresent } = await this.#o.board.readInputs(board));
    } catch (error) {
      // Closing the board under a read is the bank stopping, not the board failing.
      if (!(this.#stopped && isHardwareError(error) && error.code === 'CLOSED')) this.#markOffline(board, describeError(error));
      return false;
    }
    if (this.#stopped) return false;
    this.#markOnline(board);
    for (const compartment of this.#o.compartments) {
      if (compartment.door?.board !== board) continue;
      const open = doorOpen.get(compartment.door.channel);
      const item = this.#o.itemSensors ? itemPresent.get(compartment.door.channel) : undefined;
      if (item === undefined) this.#items.delete(compartment.id);
      else this.#items.set(compartment.id, item);
      this.#applyDoor(compartment.id, open === undefined ? 'unknown' : open ? 'open' : 'closed');
    }
    this.#checkLeftOpen();
    return true;
  }

  /** Fixed rate: a poll is due every interval, whatever the previous one took; one under way is joined. */
  #schedulePoll(): void {
    if (!this.#running) return;
    this.#pollTimer = this.#o.clock.setTimeout(() => {
      this.#pollTimer = null;
      this.#schedulePoll();
      for (const board of this.#boards.keys()) void this.read(board);
      this.#checkLeftOpen();
    }, this.#o.pollIntervalMs);
  }

  #applyDoor(id: number, next: DoorState): void {
    const track = this.#doors.get(id);
    if (!track || track.state === next) return;
    const previous = track.state === 'unknown' ? track.lastKnown : track.state;
    track.state = next;
    if (next !== 'unknown') track.lastKnown = next;
    track.since = this.#o.clock.now();
    track.alarmed = false;
    const { events, logger } = this.#o;
    if (next === 'open') {
      const cause: DoorOpenCause = this.#o.isCommanded(id) ? 'command' : previous === 'closed' ? 'forced' : 'found-open';
      logger.info({ compartment: id, cause }, 'door opened');
      events.emit('doorOpened', id, cause);
      if (cause === 'forced') events.emit('forced', id);
    } else if (next === 'closed') {
      // Every door reads closed at start: only a door that was open closing is news.
      logger[previous === 'open' ? 'info' : 'debug']({ compartment: id }, 'door closed');
      events.emit('doorClosed', id);
    } else {
      events.emit('doorUnknown', id);
    }
  }

  #checkLeftOpen(): void {
    const now = this.#o.clock.now();
    for (const [id, track] of this.#doors) {
      if (track.state !== 'open' || track.alarmed) continue;
      const openFor = now - track.since;
      if (openFor >= this.#o.doorLeftOpenAlarmMs) {
        track.alarmed = true;
        this.#o.logger.warn({ compartment: id, openForMs: openFor }, 'door left open');
        this.#o.events.emit('leftOpen', id, openFor);
      }
    }
  }

  #markOffline(board: number, reason: string): void {
    const health = this.#boards.get(board);
    if (!health) return;
    health.lastError = reason;
    for (const compartment of this.#o.compartments) {
      if (compartment.door?.board !== board) continue;
      this.#items.delete(compartment.id);
      this.#applyDoor(compartment.id, 'unknown');
    }
    if (health.online) {
      health.online = false;
      this.#o.logger.error({ board, reason, pollEveryMs: this.#o.pollIntervalMs }, 'lock board not answering');
      this.#o.events.emit('boardOffline', board, reason);
    }
  }

  #markOnline(board: number): void {
    const health = this.#boards.get(board);
    if (!health) return;
    health.lastError = null;
    if (!health.online) {
      health.online = true;
      this.#o.logger.info({ board }, 'lock board answering again');
      this.#o.events.emit('boardOnline', board);
    }
  }
}
