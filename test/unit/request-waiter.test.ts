import t from 'tap';
import type { Clock } from '../../kiosk/lib/clock.js';
import { HardwareError } from '../../controller/errors.js';
import { RequestWaiter } from '../../controller/request-waiter.js';

/** A hand-driven clock: timers fire only when the test advances time. */
function manualClock(): Clock & { advance(ms: number): void; timers(): number } {
  let now = 0;
  let nextId = 0;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, ms) {
      timers.set(++nextId, { at: now + ms, callback });
      return nextId;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of [...timers].sort(([, a], [, b]) => a.at - b.at)) {
        if (timer.at > now) continue;
        timers.delete(id);
        timer.callback();
      }
    },
    timers: () => timers.size,
  };
}

interface Reply {
  board: number;
  value: string;
}

t.test('resolves with the first matching item; others are left for someone else', async (t) => {
  const clock = manualClock();
  const waiter = new RequestWaiter<Reply>(clock);
  const request = waiter.waitFor((reply) => reply.board === 2, 100, 'board 2 channel 0 command query');
  t.equal(waiter.deliver({ board: 1, value: 'other board' }), false, 'not taken');
  t.equal(waiter.pending, 1);
  t.equal(waiter.deliver({ board: 2, value: 'ours' }), true, 'taken');
  t.same(await request.promise, { board: 2, value: 'ours' });
  t.equal(waiter.pending, 0);
  t.equal(clock.timers(), 0, 'its timeout was cleared');
  t.equal(waiter.deliver({ board: 2, value: 'late' }), false, 'nothing waits any more');
});

t.test('times out on the injected clock with BOARD_TIMEOUT naming the request', async (t) => {
  const clock = manualClock();
  const waiter = new RequestWaiter<Reply>(clock);
  const request = waiter.waitFor(() => true, 250, 'board 3 channel 7 command unlock (0x31)');
  clock.advance(249);
  t.equal(waiter.pending, 1, 'still waiting 1 ms before the deadline');
  clock.advance(1);
  await t.rejects(request.promise, {
    name: 'HardwareError',
    code: 'BOARD_TIMEOUT',
    message: 'board 3 channel 7 command unlock (0x31): no reply within 250 ms',
  });
  t.equal(waiter.pending, 0, 'a timed-out waiter is forgotten');
  t.equal(waiter.deliver({ board: 3, value: 'too late' }), false);
});

t.test('the oldest matching waiter is served first, one item each', async (t) => {
  const waiter = new RequestWaiter<Reply>(manualClock());
  const first = waiter.waitFor(() => true, 100, 'first');
  const second = waiter.waitFor(() => true, 100, 'second');
  waiter.deliver({ board: 0, value: 'a' });
  waiter.deliver({ board: 0, value: 'b' });
  t.equal((await first.promise).value, 'a');
  t.equal((await second.promise).value, 'b');
});

t.test('cancel stops waiting without settling or leaving a timer behind', async (t) => {
  const clock = manualClock();
  const waiter = new RequestWaiter<Reply>(clock);
  const request = waiter.waitFor(() => true, 100, 'board 0 command query');
  let settled = false;
  request.promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  request.cancel();
  request.cancel(); // twice is harmless
  t.equal(waiter.pending, 0);
  t.equal(clock.timers(), 0);
  t.equal(waiter.deliver({ board: 0, value: 'x' }), false, 'a cancelled waiter takes nothing');
  clock.advance(1000);
  await Promise.resolve();
  t.equal(settled, false, 'neither resolved nor rejected');
});

t.test('rejectAll fails every pending waiter with the given error', async (t) => {
  const clock = manualClock();
  const waiter = new RequestWaiter<Reply>(clock);
  const a = waiter.waitFor(() => true, 100, 'a');
  const b = waiter.waitFor((reply) => reply.board === 9, 100, 'b');
  waiter.rejectAll(new HardwareError('CLOSED', 'bus closed'));
  await t.rejects(a.promise, { code: 'CLOSED' });
  await t.rejects(b.promise, { code: 'CLOSED' });
  t.equal(waiter.pending, 0);
  t.equal(clock.timers(), 0, 'timeouts cleared');
});

t.test('a rejectAll before the caller awaits is delivered later, not reported as unhandled', async (t) => {
  const waiter = new RequestWaiter<Reply>(manualClock());
  const request = waiter.waitFor(() => true, 100, 'board 0 command query');
  waiter.rejectAll(new HardwareError('BUS_ERROR', 'port went away during the send'));
  await new Promise((resolve) => setImmediate(resolve)); // where Node would flag an unhandled rejection
  await t.rejects(request.promise, { code: 'BUS_ERROR' });
});
