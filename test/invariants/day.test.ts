/**
 * A day in a minute (issue 15), the suite's size: 80 journeys with 4 link drops and 1 board
 * outage on a fake clock, checked against the model after every car (test/invariants/day/day.ts);
 * `npm run day` runs the whole day (500 journeys, 20 link drops, 3 board outages) and prints
 * the RSS curve. SEED replays the day.
 */
import t from 'tap';
import { seedFrom } from './crash/random.js';
import { runDay } from './day/day.js';

const SEED = seedFrom(process.env);
t.comment(`day: SEED=${SEED} (replay: SEED=${SEED} npx tap test/invariants/day.test.ts)`);

t.test('80 journeys, 4 link drops, a board outage: every key where the model says, every event received once', async (t) => {
  const report = await runDay({ seed: SEED, journeys: 80, linkDrops: 4, boardOutages: 1 });
  t.comment(`figures: ${JSON.stringify(report)}`);
  t.same(report.mismatches, [], 'the database agrees with the model after every car and at the end');
  t.equal(report.journeys.dropoffs + report.journeys.pickups, 80, 'every journey finished (those that met the board down came back)');
  t.equal(report.mechanic.retrievals + report.journeys.doorsLeftOpen, 40, 'every key retrieved by the mechanic, or by staff from a door left open');
  t.equal(report.mechanic.keysBack, 40, 'every key back for its pickup');
  t.ok(report.journeys.retriedAfterOutage > 0, 'a customer met the board down and came back');
  t.ok(report.events.written > 0 && report.events.received === report.events.written, `${report.events.received} of ${report.events.written} events received`);
  t.equal(report.events.contiguous, report.events.written, 'seq 1..N without a gap');
});

t.test('the comparison fails when the world and the database part: a mechanic who leaves the key in', async (t) => {
  const report = await runDay({ seed: SEED, journeys: 8, linkDrops: 0, boardOutages: 0, mechanicLeavesKey: true });
  t.match(report.mismatches.join('\n'), /compartment \d+ holds d\d+, the database says free/, 'a key the database says is gone is found');
});
