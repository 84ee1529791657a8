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

/** The q-quantile of `values` by nearest rank (q 0.99 of 300 values is the 297th smallest). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  if (!(q > 0 && q <= 1)) throw new Error(`quantile ${q} is not in (0, 1]`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export interface RatioInterval {
  ratio: number;
  /** 95 % percentile-bootstrap interval of the ratio. */
  low: number;
  high: number;
  /** Where the interval lies against the target band. */
  verdict: 'met' | 'not met' | 'undetermined: the interval straddles the band (more rounds, or a quieter machine)';
}

/**
 * quantile_q(a) / quantile_q(b), with a 95 % interval from the percentile bootstrap (each series
 * resampled with replacement, `draws` times, from a seeded generator: the same samples give the
 * same interval). A p99 of a few hundred samples rests on its three or four largest, so a single
 * run's ratio says little alone; the interval says how much, and the verdict is "met" only when
 * all of it lies in [bandLow, bandHigh].
 */
export function quantileRatioInterval(
  a: readonly number[],
  b: readonly number[],
  q: number,
  band: { low: number; high: number },
  options: { draws?: number; seed?: number } = {},
): RatioInterval {
  const draws = options.draws ?? 2000;
  let state = (options.seed ?? 1) >>> 0;
  const next = (): number => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const resample = (values: readonly number[]): number[] => values.map(() => values[Math.floor(next() * values.length)]!);
  const ratios: number[] = [];
  for (let i = 0; i < draws; i += 1) ratios.push(quantile(resample(a), q) / quantile(resample(b), q));
  const low = quantile(ratios, 0.025);
  const high = quantile(ratios, 0.975);
  const verdict: RatioInterval['verdict'] =
    low >= band.low && high <= band.high ? 'met' : high < band.low || low > band.high ? 'not met' : 'undetermined: the interval straddles the band (more rounds, or a quieter machine)';
  return { ratio: round(quantile(a, q) / quantile(b, q)), low: round(low), high: round(high), verdict };
}
