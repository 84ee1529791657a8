/**
 * The memory bench tells a leak from garbage not yet collected by the heap V8 keeps after each
 * major collection, read from node's --trace-gc lines. Lines as Node 20 prints them.
 */
import t from 'tap';
import { liveHeap, peakGrowth } from '../bench/memory-day.js';

t.test('the heap after each Mark-Compact is read; scavenges and other lines are not', async (t) => {
  const lines = [
    '[32644:0x3b62be20]     2524 ms: Mark-Compact 13.2 (15.4) -> 9.2 (14.6) MB, 4.18 / 0.04 ms  (average mu = 0.997, current mu = 0.996) finalize incremental marking via task; GC in old space requested',
    '[32644:0x3b62be20]    89157 ms: Scavenge 25.3 (33.9) -> 25.2 (33.9) MB, 1.23 / 0.00 ms  (average mu = 0.997, current mu = 0.989) allocation failure; ',
    '[32644:0x3b62be20]    37535 ms: Mark-Compact 74.8 (78.9) -> 19.3 (52.6) MB, 4.97 / 0.06 ms  (+ 16.7 ms in 71 steps since start of marking)',
    '[32644:0x3b62be20]    40000 ms: Mark-Compact (reduce) 30.1 (40.6) -> 21.9 (33.9) MB, 3.00 / 0.00 ms  (average mu = 0.997) memory reducer',
    '{"msg":"a log line cut by the ki',
  ];
  const heap = liveHeap(lines);
  t.same(heap.series, [9.2, 19.3, 21.9]);
  t.equal(heap.majorGcs, 3);
  t.equal(heap.lastMB, 21.9);
  t.equal(heap.maxMB, 21.9);
  t.equal(heap.halfMB, 19.3);
  t.same(liveHeap(['no gc line at all']), { majorGcs: 0, firstMB: null, halfMB: null, lastMB: null, maxMB: null, series: [] });
});

t.test("a day's RSS sawtooth: the growth is the last half's highest sample against the first half's", async (t) => {
  // Flat teeth: end minus half would say +6 (a trough at half time, a crest at the end).
  t.same(peakGrowth([60, 70, 74, 67, 74, 68, 74]), { firstHalfPeak: 74, lastHalfPeak: 74, growth: 0 });
  // Rising teeth.
  t.same(peakGrowth([60, 70, 72, 66, 75, 69, 78]), { firstHalfPeak: 72, lastHalfPeak: 78, growth: 6 });
  // Falling, and an odd count: the middle sample belongs to the last half.
  t.same(peakGrowth([61.234, 73.5, 70, 69.9, 68]), { firstHalfPeak: 73.5, lastHalfPeak: 70, growth: -3.5 });
  t.throws(() => peakGrowth([60]), /two samples or more/);
});
