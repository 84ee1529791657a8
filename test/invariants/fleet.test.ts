/**
 * A fleet reconnecting (issue 15), the suite's size: 25 units (the real sync client, each with
 * its own key and store) against the reference back office in its own process, killed and
 * started again once every unit waits at its backoff ceiling. The reconnect settings are
 * shortened (100 ms initial, 3 s ceiling) and the buckets with them (50 ms: the ratio of 1 s to
 * the production 60 s ceiling); `npm run fleet` runs 50 units at the production settings.
 *
 * The histogram is of the units' own scheduled due times (fleet.ts says why that is robust to
 * a busy machine). 20 % of 25 units is 5: with the ceiling spread over 60 buckets, the chance
 * that full jitter puts 6 of 25 units in one bucket is about 1 in 4,000 (and the seed, printed,
 * replays the same draws). A herd in lockstep (every unit drawing the same jitter) fails it.
 */
import { join } from 'node:path';
import t from 'tap';
import { seedFrom } from './crash/random.js';
import { runFleet } from './fleet/fleet.js';

const SEED = seedFrom(process.env);
t.comment(`fleet: SEED=${SEED} (replay: SEED=${SEED} npx tap test/invariants/fleet.test.ts)`);
const settings = { reconnectInitialMs: 100, reconnectMaxMs: 3000, bucketMs: 50, eventsBefore: 3, eventsWhileDown: 20 };

t.test('25 units reconnect spread by their jitter; every event arrives in order, once', async (t) => {
  const report = await runFleet({ ...settings, units: 25, seed: SEED, workDir: join(t.testdir(), 'fleet'), log: (line) => t.comment(line) });
  t.comment(`figures: ${JSON.stringify(report)}`);
  t.ok(report.largestBucketShare <= 0.2, `no 50 ms bucket holds more than 20 % of the reconnects (largest: ${report.largestBucketShare}; ${report.scheduledHistogram.join(' ')})`);
  t.same(report.events.unitsWithGapsOrDisorder, [], 'every unit\'s events stored 1..N in arrival order');
  t.equal(report.events.stored, 25 * 23, 'every event stored once');
});

t.test('the histogram sees a herd: every unit drawing the same jitter reconnects in one bucket', async (t) => {
  const report = await runFleet({ ...settings, units: 4, seed: SEED, lockstep: true, workDir: join(t.testdir(), 'herd'), log: (line) => t.comment(line) });
  t.comment(`figures: ${JSON.stringify(report)}`);
  t.ok(report.largestBucketShare > 0.2, `a bucket holds ${report.largestBucketShare * 100} % of the reconnects (${report.scheduledHistogram.join(' ')})`);
});
