import type { I2CBus } from '../../controller/drivers/mcp23017.js';
import type { ChannelRef } from '../../controller/lock-board.js';

/**
 * A simulated I2C bus with MCP23017 chips on it (IOCON.BANK=0 register map, written out here
 * from the datasheet rather than imported from the driver, so a wrong driver constant shows).
 * It records every transfer, models OLAT -> pin for outputs and external levels (with the
 * GPPU pull-up) for inputs, and fails on demand like a real bus: EIO, a bad register, a chip
 * that does not answer.
 */

const IODIRA = 0x00;
const IPOLA = 0x02;
const IOCON = 0x0a;
const IOCON_MIRROR = 0x0b;
const GPPUA = 0x0c;
const INTFA = 0x0e;
const INTCAPA = 0x10;
const GPIOA = 0x12;
const OLATA = 0x14;
const REGISTERS = 22;

export interface I2CTransfer {
  op: 'read' | 'write';
  addr: number;
  reg: number;
  value: number;
}

export type I2CWrite = Omit<I2CTransfer, 'op'>;

class FakeMcp23017 {
  /** Power-on state: every pin an input, everything else 0. */
  readonly regs = new Uint8Array(REGISTERS);
  /** What drives each input pin from outside; undefined = nothing (the pull-up decides). */
  readonly external: (0 | 1 | undefined)[] = Array.from({ length: 16 }, () => undefined);
  present = true;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.regs.fill(0);
    this.regs[IODIRA] = 0xff;
    this.regs[IODIRA + 1] = 0xff;
  }

  /** A 16-bit view of an A/B register pair, A in the low byte. */
  pair(regA: number): number {
    return (this.regs[regA] ?? 0) | ((this.regs[regA + 1] ?? 0) << 8);
  }

  /** The level on each pin: outputs follow OLAT, inputs the outside world or the pull-up. */
  levels(): number {
    const iodir = this.pair(IODIRA);
    const olat = this.pair(OLATA);
    const pullUp = this.pair(GPPUA);
    let levels = 0;
    for (let pin = 0; pin < 16; pin++) {
      const bit = 1 << pin;
      const level = iodir & bit ? (this.external[pin] ?? (pullUp & bit ? 1 : 0)) : olat & bit ? 1 : 0;
      if (level) levels |= bit;
    }
    return levels;
  }

  read(reg: number): number {
    if (reg === GPIOA || reg === GPIOA + 1) {
      const port = reg - GPIOA;
      const inputs = ((this.levels() ^ this.pair(IPOLA)) & this.pair(IODIRA)) | (this.pair(OLATA) & ~this.pair(IODIRA));
      return (inputs >> (port * 8)) & 0xff;
    }
    return this.regs[reg] ?? 0;
  }

  write(reg: number, value: number): void {
    if (reg >= INTFA && reg <= INTCAPA + 1) return; // read-only
    if (reg === GPIOA || reg === GPIOA + 1) reg += OLATA - GPIOA; // a GPIO write sets the latch
    if (reg === IOCON || reg === IOCON_MIRROR) {
      this.regs[IOCON] = value;
      this.regs[IOCON_MIRROR] = value;
      return;
    }
    this.regs[reg] = value;
  }
}

const ioError = (code: string, message: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${message}`), { code, errno: code === 'EIO' ? -5 : -121 });

export class FakeI2CBus implements I2CBus {
  /** Every write, in order. */
  readonly writes: I2CWrite[] = [];
  /** Every transfer that reached a chip (reads and writes), in order. */
  readonly transfers: I2CTransfer[] = [];
  /** Outputs energised after each successful write: catches a glitch, however short. */
  readonly energisedAfterWrite: ChannelRef[][] = [];
  closed = false;
  readonly #chips = new Map<number, FakeMcp23017>();
  #failNext = 0;
  readonly #failRegisters: { addr: number; reg: number; times: number }[] = [];

  constructor(addresses: readonly number[] = [0x20]) {
    for (const addr of addresses) this.#chips.set(addr, new FakeMcp23017());
  }

  async readByte(addr: number, reg: number): Promise<number> {
    const chip = this.#transfer(addr, reg);
    const value = chip.read(reg);
    this.transfers.push({ op: 'read', addr, reg, value });
    return value;
  }

  async writeByte(addr: number, reg: number, value: number): Promise<void> {
    const chip = this.#transfer(addr, reg);
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new Error(`Invalid byte ${value}`);
    chip.write(reg, value);
    this.writes.push({ addr, reg, value });
    this.transfers.push({ op: 'write', addr, reg, value });
    this.energisedAfterWrite.push(this.energised());
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // --- the outside world -----------------------------------------------------------------

  /** Drive an input pin from outside (a door switch closing to ground = 0); undefined lets go. */
  setInput(addr: number, pin: number, level: 0 | 1 | undefined): void {
    this.#chip(addr).external[pin] = level;
  }

  /** Pins that are outputs and high right now: the energised locks. */
  energised(): ChannelRef[] {
    const on: ChannelRef[] = [];
    for (const [addr, chip] of this.#chips) {
      const outputsHigh = chip.pair(OLATA) & ~chip.pair(IODIRA) & 0xffff;
      for (let pin = 0; pin < 16; pin++) if (outputsHigh & (1 << pin)) on.push({ board: addr, channel: pin });
    }
    return on;
  }

  /** A register's value, without a transfer. */
  peek(addr: number, reg: number): number {
    return this.#chip(addr).regs[reg] ?? 0;
  }

  /** Set a register without a transfer: a state left by an earlier run or another program. */
  poke(addr: number, reg: number, value: number): void {
    this.#chip(addr).regs[reg] = value;
  }

  /** Power-on reset (a brown-out): all pins inputs, latches 0. */
  resetChip(addr: number): void {
    this.#chip(addr).reset();
  }

  // --- faults ------------------------------------------------------------------------------

  /** The next `count` transfers, to any chip, fail with EIO. */
  failNext(count: number): void {
    this.#failNext = count;
  }

  /** Transfers touching `reg` of chip `addr` fail with EIO, `times` times (default: until cleared). */
  failRegister(addr: number, reg: number, times = Number.POSITIVE_INFINITY): void {
    this.#failRegisters.push({ addr, reg, times });
  }

  /** An absent chip does not acknowledge its address: every transfer fails (EREMOTEIO). */
  setAbsent(addr: number, absent = true): void {
    this.#chip(addr).present = !absent;
  }

  clearFaults(): void {
    this.#failNext = 0;
    this.#failRegisters.length = 0;
    for (const chip of this.#chips.values()) chip.present = true;
  }

  #transfer(addr: number, reg: number): FakeMcp23017 {
    if (this.closed) throw new Error('bus closed');
    const chip = this.#chips.get(addr);
    if (!chip || !chip.present) throw ioError('EREMOTEIO', `no acknowledge from ${addr}`);
    if (!Number.isInteger(reg) || reg < 0 || reg >= REGISTERS) throw new Error(`MCP23017 has no register ${reg}`);
    if (this.#failNext > 0) {
      this.#failNext -= 1;
      throw ioError('EIO', 'i/o error');
    }
    const fault = this.#failRegisters.find((f) => f.addr === addr && f.reg === reg && f.times > 0);
    if (fault) {
      fault.times -= 1;
      throw ioError('EIO', `i/o error on register ${reg}`);
    }
    return chip;
  }

  #chip(addr: number): FakeMcp23017 {
    const chip = this.#chips.get(addr);
    if (!chip) throw new Error(`no fake chip at ${addr}`);
    return chip;
  }
}
