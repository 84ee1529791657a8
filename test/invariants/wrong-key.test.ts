/**
 * The wrong key is never handed out (issue 15): random reservation sets and customers against
 * the real core (journeys, identify, actuator, PIN lockouts) and the real command processor, on
 * SQLite :memory: through the real store, with a lock bank whose compartments hold physical
 * keys (test/invariants/wrong-key/). The property is checked at every pulse; see property.ts.
 *
 * WRONG_KEY_CASES (default 400: about 10 s on an idle machine) and SEED change the run;
 * `npm run soak:property` runs 100,000. A failing case prints its seed, shrunk to the fewest
 * customers that still fail it, and its trace: `CASE_SEED=<seed> npm run soak:property` replays it.
 */
import t from 'tap';
import type { JourneyStore } from '../../kiosk/core/ports.js';
import { seedFrom } from './crash/random.js';
import type { CaseResult } from './wrong-key/property.js';
import { runCases } from './wrong-key/runs.js';

const SEED = seedFrom(process.env);
const CASES = Number(process.env.WRONG_KEY_CASES ?? 400);
t.comment(`wrong key: SEED=${SEED} (replay: SEED=${SEED} npx tap test/invariants/wrong-key.test.ts)`);

const shown = (failure: CaseResult) => `case seed ${failure.seed}: ${failure.violations.join('; ')}\n${failure.trace.join('\n')}`;

t.test(`${CASES} random cases: no door opens for anyone but the holder of its reservation`, async (t) => {
  const run = await runCases(SEED, CASES, { lanes: 4 });
  t.comment(`figures: ${JSON.stringify({ seed: run.seed, cases: run.cases, pulses: run.pulses, ms: run.ms, stats: run.stats })}`);
  for (const failure of run.failures) t.comment(shown(failure));
  t.same(run.failures.map((f) => f.violations), [], `no violation (SEED=${SEED})`);
  t.equal(run.cases, CASES, `${run.cases} cases run`);
  // The property would hold vacuously if no door opened: the cases must reach every kind of open.
  const reached = ['pulse:pickup', 'pulse:dropoff', 'pulse:after-lookup', 'refused:PIN_WRONG', 'refused:PIN_AMBIGUOUS', 'stale-refused'];
  for (const what of reached) t.ok((run.stats[what] ?? 0) > 0, `reached ${what}: ${run.stats[what] ?? 0}`);
});

t.test('the property catches a broken identification: a PIN lookup that answers every reservation', async (t) => {
  // Every PIN "matches" every reservation on the index path (unit hashes): a wrong PIN opens
  // the one usable reservation. Identify still filters by usability, so only the property can tell.
  const acceptsAnyPin = (store: JourneyStore, ids: () => string[]): JourneyStore => ({ ...store, pinCandidates: () => store.pinCandidatesByIds(ids()) });
  const run = await runCases(SEED, 2_000, { lanes: 4, wrapStore: acceptsAnyPin });
  const [failure] = run.failures;
  t.ok(failure, `a violation found within ${run.cases} cases`);
  if (failure) {
    t.comment(shown(failure));
    t.match(failure.violations.join('\n'), /whose PIN was not the one typed/, 'a door opened for a PIN that was not its reservation\'s');
  }
});
