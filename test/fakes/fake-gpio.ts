import type { GpioDirection, GpioEdge, GpioFactory, GpioLevel, GpioLine, GpioWatchCallback } from '../../controller/drivers/gpio.js';
import type { ChannelRef } from '../../controller/lock-board.js';

/**
 * Simulated sysfs GPIO lines behind a GpioFactory. Lines are numbered as sysfs numbers
 * (base + BCM), as the real ones are; the test-facing methods take BCM numbers. It records
 * every export and every write attempt, lets tests move input levels (firing watchers as an
 * edge interrupt would), and fails on demand: a write that errors, a line another driver holds.
 */

export interface GpioExportRecord {
  sysfs: number;
  bcm: number;
  direction: GpioDirection;
  edge: GpioEdge;
  debounceTimeout: number;
}

export interface GpioWriteRecord {
  bcm: number;
  value: GpioLevel;
  /** false: the write threw (an injected fault). */
  ok: boolean;
}

const errno = (code: string, what: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: ${what}`), { code });

class FakeGpioLine implements GpioLine {
  exported = true;
  readonly watchers = new Set<GpioWatchCallback>();

  constructor(
    private readonly gpio: FakeGpio,
    readonly bcm: number,
    readonly direction: GpioDirection,
    readonly edge: GpioEdge,
    public value: GpioLevel,
  ) {}

  async read(): Promise<GpioLevel> {
    this.#assertExported('read');
    if (this.gpio.takeFault('read', this.bcm)) throw errno('EIO', `read of line ${this.bcm}`);
    return this.value;
  }

  async write(value: GpioLevel): Promise<void> {
    this.#assertExported('write');
    if (this.direction === 'in') throw errno('EPERM', `write to input line ${this.bcm}`);
    const ok = !this.gpio.takeFault('write', this.bcm);
    this.gpio.writes.push({ bcm: this.bcm, value, ok });
    if (!ok) throw errno('EIO', `write to line ${this.bcm}`);
    this.value = value;
  }

  watch(callback: GpioWatchCallback): void {
    this.#assertExported('watch');
    this.watchers.add(callback);
  }

  unwatch(callback?: GpioWatchCallback): void {
    if (callback) this.watchers.delete(callback);
    else this.watchers.clear();
  }

  unexport(): void {
    this.#assertExported('unexport');
    this.exported = false;
    this.watchers.clear();
    this.gpio.released(this);
  }

  #assertExported(operation: string): void {
    if (!this.exported) throw errno('EBADF', `${operation} on unexported line ${this.bcm}`);
  }
}

export class FakeGpio {
  readonly exports: GpioExportRecord[] = [];
  readonly writes: GpioWriteRecord[] = [];
  readonly base: number;
  readonly #lines = new Map<number, FakeGpioLine>();
  /** The last line exported per BCM, exported or not: an unexported pin keeps its level. */
  readonly #pins = new Map<number, FakeGpioLine>();
  /** What the outside world drives on each input, by BCM. */
  readonly #levels = new Map<number, GpioLevel>();
  readonly #busy = new Set<number>();
  readonly #faults = { read: new Map<number, number>(), write: new Map<number, number>() };

  /** `base`: sysfs number of BCM 0 (512 on a Pi 4 with kernel 6.6). */
  constructor(options: { base?: number } = {}) {
    this.base = options.base ?? 512;
  }

  readonly factory: GpioFactory = (sysfs, direction, edge, options) => {
    const bcm = sysfs - this.base;
    // sysfs refuses numbers no chip owns: what kernel 6.6 does to a base-0 number.
    if (bcm < 0 || bcm > 53) throw errno('EINVAL', `export of ${sysfs}`);
    if (this.#busy.has(bcm)) throw errno('EBUSY', `export of ${sysfs}`);
    this.exports.push({ sysfs, bcm, direction, edge, debounceTimeout: options.debounceTimeout });
    const initial: GpioLevel = direction === 'low' ? 0 : (this.#levels.get(bcm) ?? 0);
    const line = new FakeGpioLine(this, bcm, direction, edge, initial);
    this.#lines.set(bcm, line);
    this.#pins.set(bcm, line);
    return line;
  };

  /** Drive an input from outside (BCM number). A change fires the line's watchers, as an edge would. */
  setLevel(bcm: number, level: GpioLevel): void {
    this.#levels.set(bcm, level);
    const line = this.#lines.get(bcm);
    if (!line || line.direction !== 'in' || line.value === level) return;
    line.value = level;
    if (line.edge === 'none') return;
    // Real edges arrive later from epoll, never inside the caller's stack.
    for (const watcher of line.watchers) queueMicrotask(() => watcher(null, level));
  }

  /** Lock outputs high right now, including lines released while high. */
  energised(): ChannelRef[] {
    return [...this.#pins.values()]
      .filter((line) => line.direction === 'low' && line.value === 1)
      .map((line) => ({ board: 0, channel: line.bcm }));
  }

  /** The line exported for `bcm`, if it still is. */
  line(bcm: number): FakeGpioLine | undefined {
    return this.#lines.get(bcm);
  }

  /** BCM numbers exported right now. */
  exported(): number[] {
    return [...this.#lines.keys()].sort((a, b) => a - b);
  }

  // --- faults ------------------------------------------------------------------------------

  /** The next `times` writes to `bcm` throw EIO. */
  failWrites(bcm: number, times = 1): void {
    this.#faults.write.set(bcm, times);
  }

  /** The next `times` reads of `bcm` throw EIO. */
  failReads(bcm: number, times = 1): void {
    this.#faults.read.set(bcm, times);
  }

  /** Another driver or process holds `bcm`: exporting it throws EBUSY. */
  setBusy(bcm: number, busy = true): void {
    if (busy) this.#busy.add(bcm);
    else this.#busy.delete(bcm);
  }

  /** For the lines: consume one injected fault. */
  takeFault(kind: 'read' | 'write', bcm: number): boolean {
    const left = this.#faults[kind].get(bcm) ?? 0;
    if (left <= 0) return false;
    this.#faults[kind].set(bcm, left - 1);
    return true;
  }

  /** For the lines: an unexported line is gone. */
  released(line: FakeGpioLine): void {
    if (this.#lines.get(line.bcm) === line) this.#lines.delete(line.bcm);
  }
}
