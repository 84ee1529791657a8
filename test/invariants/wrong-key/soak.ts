/**
 * `npm run soak:property`: the wrong-key property over 100,000 cases (CASES), SEED printed
 * (SEED=... replays the run), LANES cases side by side (default 4). CASE_SEED=<seed> replays one
 * case alone and prints its trace. Progress every 1,000 cases on stderr; the figures as JSON on
 * stdout (SIGTERM stops early and still prints them); exit 1 on a violation (its case shrunk
 * and printed).
 */
import { seedFrom } from '../crash/random.js';
import { runCase } from './property.js';
import { runCases, shrink } from './runs.js';

const caseSeed = process.env.CASE_SEED;
if (caseSeed !== undefined && caseSeed !== '') {
  const result = await runCase(Number(caseSeed));
  const shown = result.violations.length > 0 ? await shrink(result) : result;
  console.log(shown.trace.join('\n'));
  process.exit(shown.violations.length > 0 ? 1 : 0);
}

const seed = seedFrom(process.env);
const cases = Number(process.env.CASES ?? 100_000);
const lanes = Number(process.env.LANES ?? 4);
console.error(`wrong-key soak: SEED=${seed} CASES=${cases} LANES=${lanes}`);
const started = Date.now();
// SIGTERM or SIGINT: finish the cases under way, then print the figures so far.
let stopped = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => (stopped = true));
const run = await runCases(seed, cases, {
  lanes,
  stopped: () => stopped,
  onProgress: (done) => console.error(`${done} cases, ${Math.round((Date.now() - started) / 1000)} s, rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`),
});
for (const failure of run.failures) console.error(`case seed ${failure.seed}: ${failure.violations.join('; ')}\n${failure.trace.join('\n')}`);
console.log(JSON.stringify({ seed: run.seed, asked: cases, stoppedEarly: stopped, cases: run.cases, pulses: run.pulses, seconds: Math.round(run.ms / 1000), violations: run.failures.length, stats: run.stats }));
process.exit(run.failures.length > 0 ? 1 : 0);
