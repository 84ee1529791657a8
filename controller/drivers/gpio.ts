import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { sleep, type Clock } from '../../kiosk/lib/clock.js';
import { BoardAnswers } from '../board-answers.js';
import { describeError, HardwareError, isHardwareError } from '../errors.js';
import type { BoardInputs, BoardWiring, ChannelRef, LockBoard, LockBoardEvents, PulseGuard, PulseTiming } from '../lock-board.js';

/**
 * Locks and door switches on the Pi's own GPIO lines, through onoff (sysfs). Board 0 only;
 * channels are BCM numbers 0-27, turned into sysfs numbers with the chip's base (see
 * gpio-base.ts). Each lock line drives a MOSFET; each door line has a pull-up set in
 * config.txt (sysfs cannot set pulls), which is why the open level is configurable. A line
 * read or written is the board (the Pi itself) answering; a failed one a failed exchange.
 */

export type GpioLevel = 0 | 1;
/** 'low': an output driven low from the moment it is exported, so nothing pulses. 'in': input. */
export type GpioDirection = 'low' | 'in';
export type GpioEdge = 'none' | 'both';
export type GpioWatchCallback = (error: Error | null | undefined, value: GpioLevel) => void;

/** The subset of onoff's Gpio this driver uses. Methods throw or reject with errno errors. */
export interface GpioLine {
  read(): Promise<GpioLevel>;
  write(value: GpioLevel): Promise<void>;
  /** `callback` runs after each edge, once the level has been stable for the debounce time. */
  watch(callback: GpioWatchCallback): void;
  unwatch(callback?: GpioWatchCallback): void;
  /** Release the line (sysfs unexport). */
  unexport(): void;
}

/** Export one line by its sysfs number (base + BCM). Throws as onoff does (EBUSY, EINVAL). */
export type GpioFactory = (
  sysfsNumber: number,
  direction: GpioDirection,
  edge: GpioEdge,
  options: { debounceTimeout: number },
) => GpioLine;

/** onoff's Gpio class, as far as createOnoffFactory needs it. */
export interface OnoffGpioClass {
  readonly accessible: boolean;
  new (gpio: number, direction: GpioDirection, edge: GpioEdge, options: { debounceTimeout: number }): GpioLine;
}

async function importOnoff(): Promise<{ Gpio: OnoffGpioClass }> {
  const onoff = await import('onoff');
  return { Gpio: onoff.Gpio ?? onoff.default.Gpio };
}

/**
 * The real factory. onoff is imported here, not at module load, because it loads a native
 * addon; `load` is for tests. Rejects DRIVER_UNAVAILABLE where onoff cannot load or sysfs
 * GPIO is missing (any non-Pi, or a kernel built without CONFIG_GPIO_SYSFS).
 */
export async function createOnoffFactory(load: () => Promise<{ Gpio: OnoffGpioClass }> = importOnoff): Promise<GpioFactory> {
  let Gpio: OnoffGpioClass;
  try {
    ({ Gpio } = await load());
  } catch (error) {
    throw new HardwareError('DRIVER_UNAVAILABLE', `onoff cannot load on this machine: ${describeError(error)}`, { cause: error });
  }
  if (!Gpio.accessible) {
    throw new HardwareError('DRIVER_UNAVAILABLE', 'sysfs GPIO is not available on this machine (cannot write /sys/class/gpio/export)');
  }
  return (sysfsNumber, direction, edge, options) => new Gpio(sysfsNumber, direction, edge, options);
}

export const GPIO_MAX_BCM = 27;

export interface GpioBoardDeps {
  factory: GpioFactory;
  /** sysfs number of BCM 0, from findGpioBase(). */
  base: number;
  wiring: BoardWiring;
  /** The level a door switch reads when the door is open. */
  doorOpenLevel: GpioLevel;
  debounceMs: number;
  clock: Clock;
  logger: Logger;
}

export class GpioBoard implements LockBoard {
  readonly kind = 'gpio' as const;
  /** `inputsChanged(0)` after any (debounced) edge on a door line. */
  readonly events = new EventEmitter<LockBoardEvents>();
  readonly #factory: GpioFactory;
  readonly #base: number;
  readonly #locks: number[];
  readonly #doors: number[];
  readonly #doorOpenLevel: GpioLevel;
  readonly #debounceMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #outputs = new Map<number, GpioLine>();
  readonly #inputs = new Map<number, GpioLine>();
  readonly #answers: BoardAnswers;
  #state: 'new' | 'ready' | 'closed' = 'new';
  readonly #onEdge: GpioWatchCallback = (error) => {
    if (error) this.#log.warn({ err: describeError(error) }, 'door line watch error');
    this.events.emit('inputsChanged', 0);
  };

  /** Throws INVALID_CHANNEL for a ref off board 0, outside BCM 0-27, or used as lock and door. */
  constructor({ factory, base, wiring, doorOpenLevel, debounceMs, clock, logger }: GpioBoardDeps) {
    if (!Number.isInteger(base) || base < 0) throw new RangeError(`gpio: sysfs base ${base} is not a line number`);
    const check = (role: string) => (ref: ChannelRef): number => {
      if (ref.board !== 0 || !Number.isInteger(ref.channel) || ref.channel < 0 || ref.channel > GPIO_MAX_BCM) {
        throw new HardwareError('INVALID_CHANNEL', `gpio wiring: ${role} at board ${ref.board} channel ${ref.channel}: GPIO is board 0, BCM 0-${GPIO_MAX_BCM}`);
      }
      return ref.channel;
    };
    this.#locks = [...new Set(wiring.locks.map(check('lock')))];
    this.#doors = [...new Set(wiring.doors.map(check('door')))];
    const both = this.#locks.find((bcm) => this.#doors.includes(bcm));
    if (both !== undefined) throw new HardwareError('INVALID_CHANNEL', `gpio wiring: BCM${both} is wired as both a lock and a door`);
    this.#factory = factory;
    this.#base = base;
    this.#doorOpenLevel = doorOpenLevel;
    this.#debounceMs = debounceMs;
    this.#clock = clock;
    this.#log = logger.child({ module: 'controller:gpio' });
    this.#answers = new BoardAnswers(clock);
  }

  /** Outputs first (exported low, or written low if already exported), then the door inputs. */
  async init(): Promise<void> {
    this.#assertOpen('init');
    this.#state = 'new';
    let failure: unknown = null;
    for (const bcm of this.#locks) {
      try {
        const line = this.#outputs.get(bcm);
        if (line) await line.write(0);
        else this.#outputs.set(bcm, this.#factory(this.#base + bcm, 'low', 'none', { debounceTimeout: 0 }));
      } catch (error) {
        failure ??= this.#lineError(bcm, 'init of lock output', error); // the others still go low
      }
    }
    if (failure) throw failure;
    for (const bcm of this.#doors) {
      if (this.#inputs.has(bcm)) continue;
      let line: GpioLine | undefined;
      try {
        line = this.#factory(this.#base + bcm, 'in', 'both', { debounceTimeout: this.#debounceMs });
        line.watch(this.#onEdge);
      } catch (error) {
        // An input that cannot be watched is useless; release it so the next init exports it again.
        try {
          line?.unexport();
        } catch {
          // Already gone.
        }
        throw this.#lineError(bcm, 'init of door input', error);
      }
      this.#inputs.set(bcm, line);
    }
    this.#state = 'ready';
    this.#answers.answered(0);
    this.#log.info({ base: this.#base, locks: this.#locks, doors: this.#doors }, 'GPIO lines ready');
  }

  async pulse(lock: ChannelRef, ms: number, guard: PulseGuard): Promise<void> {
    const command = `pulse of BCM${lock.channel}`;
    this.#assertReady(command);
    const line = lock.board === 0 ? this.#outputs.get(lock.channel) : undefined;
    if (!line) throw new HardwareError('INVALID_CHANNEL', `gpio: ${command} (board ${lock.board}): not a wired lock`);
    this.#answers.checkGuard(0, guard, `gpio: ${command}`);
    let failure: unknown = null;
    try {
      await line.write(1);
      this.#log.debug({ bcm: lock.channel, ms }, 'lock energised');
      await sleep(this.#clock, ms);
    } catch (error) {
      failure = error;
    } finally {
      // close() during the pulse has driven the line low and released it: leave it alone.
      if (this.#state === 'closed') failure ??= new HardwareError('CLOSED', `gpio: ${command}: lines released during the pulse`);
      else {
        const offFailure = await this.#switchOff(lock.channel, line);
        failure ??= offFailure;
      }
    }
    if (failure !== null) {
      const error = isHardwareError(failure) ? failure : this.#lineError(lock.channel, command, failure);
      if (error.code !== 'CLOSED') this.#answers.failed(0, error.message);
      throw error;
    }
  }

  /** Direct drive: the output is on for exactly the time asked. */
  effectivePulse(_lock: ChannelRef, requestedMs: number): PulseTiming {
    return { onMs: requestedMs, totalMs: requestedMs };
  }

  async readInputs(board: number): Promise<BoardInputs> {
    this.#assertReady(`read of board ${board}`);
    if (board !== 0) throw new HardwareError('INVALID_CHANNEL', `gpio: read of board ${board}: GPIO is board 0`);
    const doorOpen = new Map<number, boolean>();
    for (const [bcm, line] of this.#inputs) {
      try {
        doorOpen.set(bcm, (await line.read()) === this.#doorOpenLevel);
      } catch (error) {
        const failure = this.#lineError(bcm, 'read of door input', error);
        this.#answers.failed(0, failure.message);
        throw failure;
      }
    }
    this.#answers.answered(0);
    return { doorOpen, itemPresent: new Map() };
  }

  async allOff(): Promise<void> {
    for (const [bcm, line] of this.#outputs) await this.#switchOff(bcm, line); // logs its failures
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.allOff();
    this.#state = 'closed';
    for (const [bcm, line] of [...this.#outputs, ...this.#inputs]) {
      try {
        line.unwatch(this.#onEdge);
        line.unexport();
      } catch (error) {
        this.#log.warn({ bcm, err: describeError(error) }, 'releasing a GPIO line failed');
      }
    }
    this.#outputs.clear();
    this.#inputs.clear();
  }

  /**
   * Drive a lock line low, trying twice: a line left high overheats the coil. Resolves with
   * the first error (null if none) so a pulse can still report a flaky line.
   */
  async #switchOff(bcm: number, line: GpioLine): Promise<unknown> {
    try {
      await line.write(0);
      return null;
    } catch (first) {
      this.#log.warn({ bcm, err: describeError(first) }, 'could not drive lock line low; retrying');
      await line.write(0).catch((second: unknown) => {
        this.#log.error({ bcm, err: describeError(second) }, 'lock line may still be on');
      });
      return first;
    }
  }

  #lineError(bcm: number, command: string, error: unknown): HardwareError {
    const message = `gpio BCM${bcm} (sysfs ${this.#base + bcm}): ${command} failed: ${describeError(error)}`;
    return new HardwareError('BUS_ERROR', message, { cause: error });
  }

  #assertOpen(command: string): void {
    if (this.#state === 'closed') throw new HardwareError('CLOSED', `gpio: ${command}: lines released`);
  }

  #assertReady(command: string): void {
    this.#assertOpen(command);
    if (this.#state !== 'ready') throw new HardwareError('NOT_INITIALISED', `gpio: ${command}: init() has not succeeded`);
  }
}
