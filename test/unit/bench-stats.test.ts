/**
 * The benches' quantiles and the bootstrap interval of a quantile ratio (test/bench/scale.ts):
 * the PIN bench's "same p99 with 10 and 1,000 reservations held" is judged by it.
 */
import t from 'tap';
import { quantile, quantileRatioInterval } from '../bench/scale.js';

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
/** Deterministic, spread values: a sawtooth with a long tail every 50th. */
const series = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => scale * (40 + ((i * 37) % 23) + (i % 50 === 0 ? 60 : 0)));

t.test('quantile by nearest rank', async (t) => {
  t.equal(quantile(oneTo(300), 0.99), 297);
  t.equal(quantile(oneTo(300), 0.5), 150);
  t.equal(quantile([5, 1, 3], 1), 5, 'q 1 is the largest, whatever the order');
  t.equal(quantile([7], 0.01), 7);
  t.throws(() => quantile([], 0.5), /no values/);
  t.throws(() => quantile([1], 0), /not in \(0, 1\]/);
});

t.test('the interval of a quantile ratio, and its verdict against a band', async (t) => {
  const same = quantileRatioInterval(series(600), series(600), 0.5, { low: 0.8, high: 1.2 });
  t.equal(same.ratio, 1);
  t.ok(same.low <= 1 && same.high >= 1, `the interval holds 1 (${same.low}-${same.high})`);
  t.equal(same.verdict, 'met');

  const double = quantileRatioInterval(series(600, 2), series(600), 0.5, { low: 0.8, high: 1.2 });
  t.equal(double.ratio, 2);
  t.equal(double.verdict, 'not met', `twice as slow is outside the band (${double.low}-${double.high})`);

  // Ten values, one of them an outlier: the p99 is that outlier or not, depending on the draw.
  const few = [10, 10, 11, 10, 12, 10, 11, 10, 10, 40];
  const noisy = quantileRatioInterval(few, [10, 11, 10, 10, 12, 10, 11, 10, 11, 10], 0.99, { low: 0.8, high: 1.2 });
  t.match(noisy.verdict, /^undetermined/, `a p99 of ten values cannot be judged (${noisy.low}-${noisy.high}, ratio ${noisy.ratio})`);
  t.ok(noisy.ratio > 1.2, 'though its one ratio alone would say "not met"');

  t.same(quantileRatioInterval(few, series(10), 0.99, { low: 0.8, high: 1.2 }, { seed: 7 }), quantileRatioInterval(few, series(10), 0.99, { low: 0.8, high: 1.2 }, { seed: 7 }), 'seeded: the same samples give the same interval');
});
