/**
 * Many wrong-key cases (property.ts) from one seed, side by side, and the shrinking of a
 * failing one.
 */
import { Random } from '../crash/random.js';
import { openCaseDatabase } from './world.js';
import { runCase, type CaseOptions, type CaseResult } from './property.js';

export interface RunSummary {
  seed: number;
  cases: number;
  pulses: number;
  ms: number;
  failures: CaseResult[];
  stats: Record<string, number>;
}

/**
 * `count` cases from one seed: case i's seed is drawn from it, so any case replays alone
 * (`runCase(seed)`). `lanes` cases run side by side (each on its own database and fake clock):
 * a case waits on SQLite's thread pool half of its time.
 */
export async function runCases(
  seed: number,
  count: number,
  options: CaseOptions & { lanes?: number; stopAfterFailures?: number; onProgress?: (done: number) => void; stopped?: () => boolean } = {},
): Promise<RunSummary> {
  const seeds = new Random(seed);
  const started = performance.now();
  const failures: CaseResult[] = [];
  const stopAfter = options.stopAfterFailures ?? 1;
  const stats: Record<string, number> = {};
  let pulses = 0;
  let next = 0;
  let done = 0;
  const lane = async () => {
    const db = await openCaseDatabase();
    try {
      while (next < count && failures.length < stopAfter && !options.stopped?.()) {
        next += 1;
        const caseSeed = Math.floor(seeds.next() * 0x1_0000_0000);
        const result = await runCase(caseSeed, { ...options, db });
        pulses += result.pulses;
        for (const [what, n] of Object.entries(result.stats)) stats[what] = (stats[what] ?? 0) + n;
        done += 1;
        if (result.violations.length > 0) failures.push(await shrink(result, { ...options, db }));
        if (done % 1000 === 0) options.onProgress?.(done);
      }
    } finally {
      await db.close();
    }
  };
  await Promise.all(Array.from({ length: options.lanes ?? 4 }, lane));
  return { seed, cases: done, pulses, ms: Math.round(performance.now() - started), failures, stats };
}

/** The shortest replay of a failing case: the fewest customers that still fail it. */
export async function shrink(result: CaseResult, options: CaseOptions = {}): Promise<CaseResult> {
  for (let customers = 1; customers < result.customers; customers += 1) {
    const shorter = await runCase(result.seed, { ...options, maxCustomers: customers });
    if (shorter.violations.length > 0) return shorter;
  }
  return result;
}
