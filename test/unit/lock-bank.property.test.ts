/**
 * Property tests of the lock bank's safety rules: for any sequence of open requests, door
 * events and board faults, at most one output is on at any instant, no pulse exceeds the cap,
 * and every request ends in `opened` or a typed error.
 */
import fc from 'fast-check';
import t from 'tap';
import { PULSE_HARD_CAP_MS, type OpenErrorCode, type OpenOutcome } from '../../controller/lock-bank.js';
import { createSimBank } from '../fakes/sim-bank.js';

type Step =
  | { kind: 'open'; compartment: number }
  | { kind: 'close'; channel: number }
  | { kind: 'force'; channel: number }
  | { kind: 'jam'; channel: number; jammed: boolean }
  | { kind: 'stuck'; channel: number; reads: boolean | null }
  | { kind: 'offline'; offline: boolean }
  | { kind: 'failPulse' }
  | { kind: 'failRead' }
  | { kind: 'wait'; ms: number };

const channel = fc.integer({ min: 0, max: 15 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('open' as const), compartment: fc.integer({ min: 0, max: 18 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('close' as const), channel }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('force' as const), channel }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('jam' as const), channel, jammed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('stuck' as const), channel, reads: fc.constantFrom(true, false, null) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('offline' as const), offline: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failPulse' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failRead' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 5000 }) }) },
);

const ERRORS: readonly OpenErrorCode[] = ['UNKNOWN_COMPARTMENT', 'JAMMED', 'BOARD_OFFLINE', 'BOARD_ERROR', 'STOPPED'];

t.test('safety holds for any sequence of requests, door events and faults', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 50, max: 10_000 }), async (steps, pulseMs) => {
      const { bank, board, sim, clock } = createSimBank({ pulseMs });
      // Sample the outputs every time the simulated hardware changes.
      let maxOn = 0;
      sim.world.on('changed', () => {
        maxOn = Math.max(maxOn, sim.energised().length);
      });
      const started = bank.start();
      await clock.fake.tickAsync(10);
      await started;
      const requests: Promise<OpenOutcome>[] = [];
      for (const s of steps) {
        switch (s.kind) {
          case 'open':
            requests.push(bank.open(s.compartment));
            break;
          case 'close':
            sim.closeDoor(s.channel);
            break;
          case 'force':
            sim.forceDoor(s.channel);
            break;
          case 'jam':
            sim.setJammed(s.channel, s.jammed);
            break;
          case 'stuck':
            sim.setSwitchStuck(s.channel, s.reads);
            break;
          case 'offline':
            sim.setOffline(s.offline);
            break;
          case 'failPulse':
            board.failNextPulses += 1;
            break;
          case 'failRead':
            board.failNextReads += 1;
            break;
          case 'wait':
            await clock.fake.tickAsync(s.ms);
            break;
        }
      }
      // Every request must settle: bounded fake time, generous for the whole queue.
      let settled = false;
      const all = Promise.all(requests).then((outcomes) => {
        settled = true;
        return outcomes;
      });
      for (let i = 0; i < 2000 && !settled; i += 1) await clock.fake.tickAsync(100);
      if (!settled) throw new Error('an open request never ended');
      const outcomes = await all;
      await bank.stop();

      if (board.maxActive > 1 || maxOn > 1) throw new Error(`two outputs on at once (${board.maxActive}, ${maxOn})`);
      for (const pulse of board.pulses) {
        if (pulse.requestedMs > PULSE_HARD_CAP_MS) throw new Error(`pulse of ${pulse.requestedMs} ms asked`);
        if (pulse.end !== null && pulse.end - pulse.start > PULSE_HARD_CAP_MS) throw new Error(`pulse lasted ${pulse.end - pulse.start} ms`);
      }
      for (const outcome of outcomes) {
        if (!outcome.ok && !ERRORS.includes(outcome.error)) throw new Error(`untyped outcome ${JSON.stringify(outcome)}`);
      }
      if (sim.energised().length !== 0) throw new Error('an output is still on after stop');
    }),
    { numRuns: 60 },
  );
  t.pass('60 random sequences kept every safety rule');
});

t.test('the property is able to fail: a board that pulses two locks at once is caught', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  const started = bank.start();
  await clock.fake.tickAsync(10);
  await started;
  // Bypass the bank's queue, as a buggy caller would: the recorder must see two at once.
  const a = board.pulse({ board: 0, channel: 0 }, 300);
  const b = board.pulse({ board: 0, channel: 1 }, 300);
  t.equal(sim.energised().length, 2);
  await clock.fake.tickAsync(400);
  await Promise.all([a, b]);
  t.equal(board.maxActive, 2, 'the recorder saw the overlap');
  await bank.stop();
});
