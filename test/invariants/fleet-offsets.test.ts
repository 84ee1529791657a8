/**
 * The fleet's reconnect histogram, on recorded schedules (no processes, no timing). CI once
 * failed the fleet test with six of 25 units in the first 50 ms bucket: their attempts fell due
 * after the back office had bound its port but before the test read its "listening" line, so
 * they connected into the listen backlog, and the histogram clamped their (negative) offsets
 * to 0. Each of those due times was its own jitter draw; the histogram now keeps them.
 */
import t from 'tap';
import { histogram, successfulAttemptOffset } from './fleet/fleet.js';

const backAt = 10_000;
/** A unit whose attempts fell due at these offsets from backAt, online at `onlineOffset` (120 ms after the last by default). */
function unit(dueOffsets: number[], onlineOffset = Math.max(dueOffsets.at(-1) as number, 0) + 120) {
  const attempts = dueOffsets.map((offset) => ({ scheduledAt: backAt + offset - 1500, due: backAt + offset }));
  return { attempts, onlineAt: [backAt - 20_000, backAt + onlineOffset] };
}

t.test('an attempt due before "listening" was read keeps its own offset', async (t) => {
  t.equal(successfulAttemptOffset(unit([-2900, -640]), backAt), -640, 'the backlog attempt, not 0');
  t.equal(successfulAttemptOffset(unit([-2900, 35]), backAt), 35, 'an attempt due after it');
  t.equal(successfulAttemptOffset(unit([-2900, 35, 4000], 155), backAt), 35, 'an attempt due after it was online is not the one that succeeded');
  t.throws(() => successfulAttemptOffset({ attempts: [], onlineAt: [backAt - 1] }, backAt), /never came online/);
});

t.test('what CI met: six units due in the backlog window are spread, not one bucket', async (t) => {
  const backlog = [-610, -515, -402, -260, -148, -33];
  const after = [12, 96, 331, 402, 745, 910, 1180, 1330, 1442, 1620, 1711, 1905, 2102, 2250, 2388, 2600, 2710, 2850, 2990];
  const units = [...backlog, ...after].map((offset) => unit([-3000, offset]));
  const offsets = units.map((u) => successfulAttemptOffset(u, backAt));
  t.same(offsets.slice(0, 6), backlog);
  const clamped = histogram(offsets.map((o) => Math.max(0, o)), 50);
  t.equal(clamped[0], 7, 'the old clamp put the six and the first after them in one bucket');
  t.equal(Math.max(...histogram(offsets, 50)), 1, 'kept as drawn, each is in a bucket of its own');
});

t.test('a herd still shows: the same due time across a bucket edge is one bucket', async (t) => {
  // Four units drawing the same jitter, due within a few ms of each other on both sides of backAt.
  const offsets = [-4, -1, 2, 7].map((offset) => successfulAttemptOffset(unit([-3000, offset]), backAt));
  t.same(histogram(offsets, 50), [4]);
  t.same(histogram([0, 49, 50, 149], 50), [2, 1, 1], 'buckets start at the earliest offset');
});
