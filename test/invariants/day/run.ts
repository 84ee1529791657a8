/**
 * `npm run day`: the whole day (DAY_JOURNEYS, default 500 journeys; 20 link drops, 3 board
 * outages) on a fake clock. Prints the report as JSON (the RSS curve every 25 cars among it);
 * exit 1 on a mismatch with the model or an event not received once. SEED replays the day.
 */
import { seedFrom } from '../crash/random.js';
import { runDay } from './day.js';

const seed = seedFrom(process.env);
console.error(`day: SEED=${seed}`);
const report = await runDay({
  seed,
  journeys: Number(process.env.DAY_JOURNEYS ?? 500),
  linkDrops: Number(process.env.DAY_LINK_DROPS ?? 20),
  boardOutages: Number(process.env.DAY_BOARD_OUTAGES ?? 3),
  log: (line) => console.error(line),
});
const half = report.rssMiB.slice(Math.floor(report.rssMiB.length / 2));
console.log(JSON.stringify({ ...report, rssSecondHalfGrowthMiB: (half.at(-1) ?? 0) - (half[0] ?? 0) }));
const delivered = report.events.received === report.events.written && report.events.contiguous === report.events.written;
process.exitCode = report.mismatches.length === 0 && delivered ? 0 : 1;
