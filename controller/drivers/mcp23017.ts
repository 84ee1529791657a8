import type { Logger } from 'pino';
import { sleep, type Clock } from '../../kiosk/lib/clock.js';
import { BoardAnswers } from '../board-answers.js';
import { describeError, HardwareError } from '../errors.js';
import type { BoardInputs, BoardWiring, ChannelRef, LockBoard, PulseGuard, PulseTiming } from '../lock-board.js';

/**
 * MCP23017 16-bit I/O expanders on one I2C bus. Each lock output drives a logic-level MOSFET
 * (the chip's 25 mA cannot hold a solenoid); each door switch pulls its input to ground.
 * Wiring: `board` is the chip address (0x20-0x27), `channel` the pin (0-7 GPA, 8-15 GPB).
 */

/** Register addresses with IOCON.BANK=0 (the power-on default): port A even, port B odd. */
export const MCP23017_REG = {
  IODIRA: 0x00,
  IODIRB: 0x01,
  IPOLA: 0x02,
  IPOLB: 0x03,
  GPINTENA: 0x04,
  GPINTENB: 0x05,
  DEFVALA: 0x06,
  DEFVALB: 0x07,
  INTCONA: 0x08,
  INTCONB: 0x09,
  IOCON: 0x0a,
  IOCON_B: 0x0b, // the same register, mirrored
  GPPUA: 0x0c,
  GPPUB: 0x0d,
  INTFA: 0x0e,
  INTFB: 0x0f,
  INTCAPA: 0x10,
  INTCAPB: 0x11,
  GPIOA: 0x12,
  GPIOB: 0x13,
  OLATA: 0x14,
  OLATB: 0x15,
} as const;

export const MCP23017_FIRST_ADDRESS = 0x20;
export const MCP23017_LAST_ADDRESS = 0x27;
export const MCP23017_PINS = 16;
/** Errata (datasheet rev. D): GPA7 and GPB7 used as inputs can corrupt SDA; outputs only. */
export const MCP23017_OUTPUT_ONLY_PINS: readonly number[] = [7, 15];

/**
 * The subset of i2c-bus's PromisifiedBus this driver uses, so the driver never imports the
 * native addon and tests can pass a simulated bus. Byte-wide SMBus transfers only.
 */
export interface I2CBus {
  /** SMBus read byte data: the value of `register` on the device at `address`. */
  readByte(address: number, register: number): Promise<number>;
  /** SMBus write byte data. */
  writeByte(address: number, register: number, value: number): Promise<void>;
  /** Release the bus's file descriptors. */
  close(): Promise<void>;
}

interface I2cBusModule {
  openPromisified(busNumber: number): Promise<I2CBus & { i2cFuncs(): Promise<unknown> }>;
}

/**
 * Open `/dev/i2c-<busNumber>` through i2c-bus. The import is dynamic so that loading this
 * module never loads the native addon (tests, the simulator, machines without I2C).
 * i2c-bus opens the device lazily, so the bus is probed once here to fail at start-up with a
 * clear message rather than at the first pulse. `load` is for tests.
 */
export async function openI2CBus(busNumber: number, load: () => Promise<I2cBusModule> = () => import('i2c-bus')): Promise<I2CBus> {
  let module: I2cBusModule;
  try {
    module = await load();
  } catch (error) {
    throw new HardwareError('DRIVER_UNAVAILABLE', `i2c-bus cannot load on this machine: ${describeError(error)}`, { cause: error });
  }
  const device = `/dev/i2c-${busNumber}`;
  let bus: Awaited<ReturnType<I2cBusModule['openPromisified']>> | undefined;
  try {
    bus = await module.openPromisified(busNumber);
    await bus.i2cFuncs();
    return bus;
  } catch (error) {
    await bus?.close().catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new HardwareError('DRIVER_UNAVAILABLE', `no ${device}: is I2C enabled (dtparam=i2c_arm=on)?`, { cause: error });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new HardwareError('DRIVER_UNAVAILABLE', `no permission to open ${device}: is the service user in the i2c group?`, { cause: error });
    }
    throw new HardwareError('BUS_ERROR', `cannot open ${device}: ${describeError(error)}`, { cause: error });
  }
}

type Port = 0 | 1;
const IODIR = [MCP23017_REG.IODIRA, MCP23017_REG.IODIRB] as const;
const GPPU = [MCP23017_REG.GPPUA, MCP23017_REG.GPPUB] as const;
const GPIO = [MCP23017_REG.GPIOA, MCP23017_REG.GPIOB] as const;
const OLAT = [MCP23017_REG.OLATA, MCP23017_REG.OLATB] as const;
const REG_NAMES = new Map<number, string>(Object.entries(MCP23017_REG).map(([name, reg]) => [reg, name]));

interface Chip {
  readonly address: number;
  /** 16-bit masks, port A in the low byte. */
  readonly locks: number;
  readonly doors: number;
  /** 1 = input: door pins and unused pins, except the output-only bit-7 pins. */
  readonly iodir: number;
  /** What we last wrote to OLATA/OLATB. Pulses change this copy, never a value read back. */
  readonly olat: [number, number];
  /** A bus error left the chip in an unknown state (it may have reset: all inputs). */
  needsInit: boolean;
}

export interface Mcp23017BoardDeps {
  bus: I2CBus;
  wiring: BoardWiring;
  clock: Clock;
  logger: Logger;
}

const hex = (value: number): string => `0x${value.toString(16).padStart(2, '0')}`;
const pinName = (pin: number): string => `${pin < 8 ? 'GPA' : 'GPB'}${pin % 8}`;
const byteOf = (mask: number, port: Port): number => (mask >> (port * 8)) & 0xff;

/**
 * The LockBoard over one or more MCP23017s. Outputs are written from a shadow copy of OLAT,
 * never read-modify-written, so a door input's level can never leak into a lock output. After
 * a bus error a chip is assumed to have reset (a reset chip has every pin an input, including
 * the errata pins): it is re-initialised, OLAT first, before it is used again. Every I2C
 * transfer is acknowledged by the chip, so each one that succeeds is the chip answering and
 * each one that fails a failed exchange: the pulse guard is kept per chip.
 */
export class Mcp23017Board implements LockBoard {
  readonly kind = 'mcp23017' as const;
  readonly #bus: I2CBus;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #chips = new Map<number, Chip>();
  readonly #answers: BoardAnswers;
  #state: 'new' | 'ready' | 'closed' = 'new';

  /** Throws INVALID_CHANNEL for wiring the chip cannot do (bad address or pin, a door on pin 7/15). */
  constructor({ bus, wiring, clock, logger }: Mcp23017BoardDeps) {
    this.#bus = bus;
    this.#clock = clock;
    this.#log = logger.child({ module: 'controller:mcp23017' });
    this.#answers = new BoardAnswers(clock);
    const masks = new Map<number, { locks: number; doors: number }>();
    const roles = [...wiring.locks.map((ref) => ['lock', ref] as const), ...wiring.doors.map((ref) => ['door', ref] as const)];
    for (const [role, ref] of roles) {
      const where = `mcp23017 wiring: ${role} at chip ${hex(ref.board)} pin ${ref.channel}`;
      if (!Number.isInteger(ref.board) || ref.board < MCP23017_FIRST_ADDRESS || ref.board > MCP23017_LAST_ADDRESS) {
        throw new HardwareError('INVALID_CHANNEL', `${where}: chip addresses are 0x20-0x27`);
      }
      if (!Number.isInteger(ref.channel) || ref.channel < 0 || ref.channel >= MCP23017_PINS) {
        throw new HardwareError('INVALID_CHANNEL', `${where}: pins are 0-15 (GPA0-7, GPB0-7)`);
      }
      if (role === 'door' && MCP23017_OUTPUT_ONLY_PINS.includes(ref.channel)) {
        throw new HardwareError('INVALID_CHANNEL', `${where}: ${pinName(ref.channel)} must be an output (MCP23017 errata)`);
      }
      const mask = masks.get(ref.board) ?? { locks: 0, doors: 0 };
      const bit = 1 << ref.channel;
      if ((role === 'lock' ? mask.doors : mask.locks) & bit) {
        throw new HardwareError('INVALID_CHANNEL', `${where}: the pin is wired as both a lock and a door`);
      }
      if (role === 'lock') mask.locks |= bit;
      else mask.doors |= bit;
      masks.set(ref.board, mask);
    }
    const outputOnly = MCP23017_OUTPUT_ONLY_PINS.reduce((mask, pin) => mask | (1 << pin), 0);
    for (const [address, { locks, doors }] of [...masks].sort(([a], [b]) => a - b)) {
      const iodir = 0xffff & ~locks & ~outputOnly;
      this.#chips.set(address, { address, locks, doors, iodir, olat: [0, 0], needsInit: true });
    }
  }

  /**
   * Every chip's OLATs to 0 before any IODIR write: a chip left configured by a crashed run,
   * or an OLAT left high by a hand-typed i2cset, must never see a pin become an output high.
   */
  async init(): Promise<void> {
    this.#assertOpen('init');
    this.#state = 'new';
    let failure: unknown = null;
    for (const chip of this.#chips.values()) {
      // Every chip's outputs off first, even when an earlier chip failed.
      await this.#writeOlatsOff(chip, 'init').catch((error: unknown) => (failure ??= error));
    }
    if (failure) throw failure;
    for (const chip of this.#chips.values()) await this.#configure(chip, 'init');
    this.#state = 'ready';
    this.#log.info({ chips: [...this.#chips.keys()].map(hex) }, 'MCP23017 chips ready');
  }

  async pulse(lock: ChannelRef, ms: number, guard: PulseGuard): Promise<void> {
    const command = `pulse of chip ${hex(lock.board)} pin ${lock.channel}`;
    this.#assertReady(command);
    const chip = this.#chips.get(lock.board);
    const wired = chip && Number.isInteger(lock.channel) && lock.channel >= 0 && lock.channel < MCP23017_PINS && chip.locks & (1 << lock.channel);
    if (!chip || !wired) {
      throw new HardwareError('INVALID_CHANNEL', `mcp23017: ${command}: not a wired lock`);
    }
    this.#answers.checkGuard(chip.address, guard, `mcp23017: ${command}`);
    await this.#recover(chip, command);
    const port: Port = lock.channel < 8 ? 0 : 1;
    const bit = 1 << lock.channel % 8;
    const what = `${command} (${pinName(lock.channel)})`;
    let failure: unknown = null;
    try {
      chip.olat[port] |= bit;
      await this.#write(chip, OLAT[port], chip.olat[port], what);
      this.#log.debug({ chip: hex(chip.address), pin: lock.channel, ms }, 'lock energised');
      await sleep(this.#clock, ms);
    } catch (error) {
      failure = error;
    } finally {
      chip.olat[port] &= ~bit;
      // close() during the pulse has written every OLAT to 0 and released the bus.
      if (this.#state === 'closed') failure ??= new HardwareError('CLOSED', `mcp23017: ${what}: bus closed during the pulse`);
      else await this.#write(chip, OLAT[port], chip.olat[port], what).catch((error: unknown) => (failure ??= error));
    }
    if (failure === null) return;
    if (this.#state === 'closed') throw failure;
    // The chip may have reset (all pins inputs) or may still hold the output: start it over,
    // OLAT first. If even that fails, the next command tries again.
    this.#log.error({ chip: hex(chip.address), pin: lock.channel, err: describeError(failure) }, 'pulse failed; re-initialising chip');
    await this.#reinit(chip, what).catch(() => undefined);
    throw failure;
  }

  async readInputs(board: number): Promise<BoardInputs> {
    const command = `read of chip ${hex(board)}`;
    this.#assertReady(command);
    const chip = this.#chips.get(board);
    if (!chip) throw new HardwareError('INVALID_CHANNEL', `mcp23017: ${command}: no such chip in the wiring`);
    await this.#recover(chip, command);
    const doorOpen = new Map<number, boolean>();
    for (const port of [0, 1] as const) {
      const doors = byteOf(chip.doors, port);
      // A chip with only locks is still read once, so that a read tells whether it answers.
      if (doors === 0 && (port === 1 || chip.doors !== 0)) continue;
      let levels: number;
      try {
        levels = await this.#bus.readByte(chip.address, GPIO[port]);
        this.#answers.answered(chip.address);
      } catch (error) {
        chip.needsInit = true;
        const failure = this.#busError(chip, GPIO[port], 'read', command, error);
        this.#answers.failed(chip.address, failure.message);
        throw failure;
      }
      // Pull-up and switch to ground: a closed door pulls the pin low.
      for (let bit = 0; bit < 8; bit++) {
        if (doors & (1 << bit)) doorOpen.set(port * 8 + bit, (levels & (1 << bit)) !== 0);
      }
    }
    return { doorOpen, itemPresent: new Map() };
  }

  /** Direct drive: the output is on for exactly the time asked. */
  effectivePulse(_lock: ChannelRef, requestedMs: number): PulseTiming {
    return { onMs: requestedMs, totalMs: requestedMs };
  }

  async allOff(): Promise<void> {
    if (this.#state === 'closed') return;
    for (const chip of this.#chips.values()) {
      await this.#writeOlatsOff(chip, 'allOff').catch((error: unknown) => {
        chip.needsInit = true;
        this.#log.error({ chip: hex(chip.address), err: describeError(error) }, 'allOff failed on chip');
      });
    }
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    await this.allOff();
    this.#state = 'closed';
    await this.#bus.close().catch((error: unknown) => this.#log.warn({ err: describeError(error) }, 'closing the I2C bus failed'));
  }

  /** Re-initialise a chip that had a bus error, before using it again. */
  async #recover(chip: Chip, command: string): Promise<void> {
    if (!chip.needsInit) return;
    this.#log.warn({ chip: hex(chip.address) }, 're-initialising chip after a bus error');
    await this.#reinit(chip, command);
  }

  async #reinit(chip: Chip, command: string): Promise<void> {
    chip.needsInit = true;
    await this.#writeOlatsOff(chip, `re-initialisation before ${command}`);
    await this.#configure(chip, `re-initialisation before ${command}`);
  }

  async #writeOlatsOff(chip: Chip, command: string): Promise<void> {
    chip.olat[0] = 0;
    chip.olat[1] = 0;
    await this.#write(chip, OLAT[0], 0, command);
    await this.#write(chip, OLAT[1], 0, command);
  }

  async #configure(chip: Chip, command: string): Promise<void> {
    for (const port of [0, 1] as const) await this.#write(chip, IODIR[port], byteOf(chip.iodir, port), command);
    for (const port of [0, 1] as const) await this.#write(chip, GPPU[port], byteOf(chip.doors, port), command);
    chip.needsInit = false;
  }

  async #write(chip: Chip, register: number, value: number, command: string): Promise<void> {
    try {
      await this.#bus.writeByte(chip.address, register, value);
      this.#answers.answered(chip.address);
    } catch (error) {
      const failure = this.#busError(chip, register, `write ${hex(value)} to`, command, error);
      this.#answers.failed(chip.address, failure.message);
      throw failure;
    }
  }

  #busError(chip: Chip, register: number, operation: string, command: string, error: unknown): HardwareError {
    const message = `mcp23017 chip ${hex(chip.address)}: ${command}: ${operation} ${REG_NAMES.get(register) ?? hex(register)} failed: ${describeError(error)}`;
    return new HardwareError('BUS_ERROR', message, { cause: error });
  }

  #assertOpen(command: string): void {
    if (this.#state === 'closed') throw new HardwareError('CLOSED', `mcp23017: ${command}: bus closed`);
  }

  #assertReady(command: string): void {
    this.#assertOpen(command);
    if (this.#state !== 'ready') throw new HardwareError('NOT_INITIALISED', `mcp23017: ${command}: init() has not succeeded`);
  }
}
