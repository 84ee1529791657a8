/**
 * `npm run fleet`: 50 units (UNITS) at the production reconnect settings (1 s initial, 60 s
 * ceiling: kiosk/config/schema.ts), the back office killed and started again once every unit
 * waits at its ceiling; 1-second buckets. Prints the report as JSON; exit 1 when a bucket holds
 * more than 20 % of the units or a unit's events have a gap. SEED replays the jitter draws.
 * About 3 minutes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedFrom } from '../crash/random.js';
import { runFleet } from './fleet.js';

const seed = seedFrom(process.env);
const units = Number(process.env.UNITS ?? 50);
const workDir = await mkdtemp(join(tmpdir(), 'keylocker-fleet-'));
console.error(`fleet: SEED=${seed} UNITS=${units}`);
try {
  const report = await runFleet({
    units,
    workDir,
    seed,
    reconnectInitialMs: Number(process.env.RECONNECT_INITIAL_MS ?? 1000),
    reconnectMaxMs: Number(process.env.RECONNECT_MAX_MS ?? 60_000),
    eventsBefore: 5,
    eventsWhileDown: Number(process.env.EVENTS_WHILE_DOWN ?? 40),
    bucketMs: Number(process.env.BUCKET_MS ?? 1000),
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify(report));
  const ok = report.largestBucketShare <= 0.2 && report.events.unitsWithGapsOrDisorder.length === 0;
  process.exitCode = ok ? 0 : 1;
} finally {
  await rm(workDir, { recursive: true, force: true });
}
