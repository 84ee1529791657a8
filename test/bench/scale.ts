/**
 * The benches' shared arithmetic: min/median/max of repeated rounds, and the Raspberry Pi 4
 * estimate each bench prints beside its figures.
 */

/**
 * A Pi 4's Cortex-A72 at 1.5 GHz against one core of this machine (an EPYC server core, about
 * 3 GHz with boost): single-thread JavaScript and SQLite run about 4-6x slower there, from
 * clock (2x), issue width and branch prediction (1.5-2x), and cache (1 MiB shared L2, no L3).
 * Published single-core scores (Geekbench 5: Pi 4 ~270, EPYC Zen 2/3 server cores ~1,100-1,400)
 * give the same range. fsync on an SD card is slower still: figures dominated by commits are
 * scaled by the same factor here, which understates them (an SD card's fsync takes 2-20 ms).
 */
export const PI4_FACTOR = {
  low: 4,
  high: 6,
  why: 'a Pi 4 core (Cortex-A72, 1.5 GHz) runs single-thread JavaScript and SQLite about 4-6x slower than one core of this machine (clock 2x, microarchitecture and cache 2-3x; Geekbench 5 single-core ~270 against ~1,100-1,400)',
} as const;

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: round(sorted[0]!), median: round(median), max: round(sorted[sorted.length - 1]!) };
}

/** `value` on a Pi 4, as a "low-high" range (see PI4_FACTOR). */
export function piEstimate(value: number): { low: number; high: number } {
  return { low: Math.round(value * PI4_FACTOR.low), high: Math.round(value * PI4_FACTOR.high) };
}

export function round(n: number): number {
  return Math.round(n * 100) / 100;
}
