/**
 * A seeded random source (mulberry32), so a crash run can be replayed: the same seed makes the
 * same choices (which journey, which door, when to kill). Timing on a busy machine still
 * varies, so a replay lands near, not exactly on, the instant it replays.
 */
export class Random {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** In [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** A float in [min, max). */
  between(min: number, max: number): number {
    return min + this.next() * (max - min);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from nothing');
    return items[this.int(0, items.length - 1)] as T;
  }

  /**
   * A child source (for a lane, a life, one of two loops running side by side): it draws from
   * this one, so it is determined by the seed and by how many draws came before.
   */
  fork(salt: number): Random {
    return new Random((Math.floor(this.next() * 4294967296) ^ Math.imul(salt, 2654435761)) >>> 0);
  }
}

/** SEED from the environment, or a fresh one (printed by the caller so the run can be replayed). */
export function seedFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.SEED;
  if (raw !== undefined && raw !== '') {
    const seed = Number(raw);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`SEED must be an integer 0..4294967295, not ${JSON.stringify(raw)}`);
    return seed;
  }
  return Math.floor(Math.random() * 0xffffffff);
}
