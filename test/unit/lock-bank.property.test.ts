/**
 * Property tests of the lock bank's safety rules: for any sequence of open requests, door
 * events and board faults (including a board that goes silent at a random moment, right after
 * a pulse, and comes back), at most one output is on at any instant, no pulse exceeds the cap,
 * no pulse is ever asked of a board whose last exchange failed or that has not answered within
 * the last poll interval, `pulses` counts exactly the pulses that went out, and every request
 * ends in `opened` or a typed error within doorConfirmTimeoutMs x 2 + pollIntervalMs of its
 * start.
 */
import fc from 'fast-check';
import t from 'tap';
import { PULSE_HARD_CAP_MS, openVerdictBoundMs, type OpenErrorCode, type OpenOutcome } from '../../controller/lock-bank.js';
import { createSimBank } from '../fakes/sim-bank.js';

type Step =
  | { kind: 'open'; compartment: number }
  | { kind: 'close'; channel: number }
  | { kind: 'force'; channel: number }
  | { kind: 'jam'; channel: number; jammed: boolean }
  | { kind: 'stuck'; channel: number; reads: boolean | null }
  | { kind: 'offline'; offline: boolean }
  | { kind: 'silent'; silent: boolean }
  | { kind: 'silentAfterPulse' }
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
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('silent' as const), silent: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('silentAfterPulse' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failPulse' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failRead' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 5000 }) }) },
);

const ERRORS: readonly OpenErrorCode[] = ['UNKNOWN_COMPARTMENT', 'JAMMED', 'BOARD_OFFLINE', 'BOARD_ERROR', 'STOPPED'];
const POLL_MS = 500;
const CONFIRM_MS = 2000;
const BOUND_MS = openVerdictBoundMs({ doorConfirmTimeoutMs: CONFIRM_MS, pollIntervalMs: POLL_MS });

t.test('safety holds for any sequence of requests, door events and faults', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 50, max: 10_000 }), async (steps, pulseMs) => {
      const { bank, board, sim, clock } = createSimBank({ pulseMs, pollIntervalMs: POLL_MS, doorConfirmTimeoutMs: CONFIRM_MS });
      // Sample the outputs every time the simulated hardware changes.
      let maxOn = 0;
      sim.world.on('changed', () => {
        maxOn = Math.max(maxOn, sim.energised().length);
      });
      const started = bank.start();
      await clock.fake.tickAsync(10);
      await started;
      const requests: { compartment: number; askedAt: number; endedAt: number | null; outcome: Promise<OpenOutcome> }[] = [];
      for (const s of steps) {
        switch (s.kind) {
          case 'open': {
            const request = { compartment: s.compartment, askedAt: clock.now(), endedAt: null as number | null, outcome: bank.open(s.compartment) };
            void request.outcome.then(() => (request.endedAt = clock.now()));
            requests.push(request);
            break;
          }
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
          case 'silent':
            sim.setSilent(s.silent);
            break;
          case 'silentAfterPulse':
            sim.silenceAfterNextPulse();
            break;
          case 'failPulse':
            sim.failNextPulses(1);
            break;
          case 'failRead':
            sim.failNextReads(1);
            break;
          case 'wait':
            await clock.fake.tickAsync(s.ms);
            break;
        }
      }
      // Every request must settle: bounded fake time, generous for the whole queue.
      let settled = false;
      const all = Promise.all(requests.map((r) => r.outcome)).then((outcomes) => {
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
      if (board.blindPulses.length > 0) throw new Error(`blind pulse: ${JSON.stringify(board.blindPulses[0])}`);
      for (const outcome of outcomes) {
        if (!outcome.ok && !ERRORS.includes(outcome.error)) throw new Error(`untyped outcome ${JSON.stringify(outcome)}`);
      }
      // Each request starts when the one before it ended (one queue) and its lock has rested.
      let previousEnd = 0;
      for (const request of requests) {
        const queuedUntil = Math.max(request.askedAt, previousEnd);
        const rest = bank.pulseOf(request.compartment)?.restMs ?? 0;
        const lockPulses = board.sentPulses.filter((p) => p.ref.channel === request.compartment - 1 && p.end !== null && p.end <= queuedUntil);
        const restedAt = Math.max(0, ...lockPulses.map((p) => (p.end ?? 0) + rest));
        const start = Math.max(queuedUntil, restedAt);
        const took = (request.endedAt ?? Number.POSITIVE_INFINITY) - start;
        if (took > BOUND_MS) throw new Error(`open of ${request.compartment} took ${took} ms from its start (bound ${BOUND_MS})`);
        previousEnd = request.endedAt ?? previousEnd;
      }
      const counted = outcomes.reduce((sum, outcome) => sum + outcome.pulses, 0);
      if (counted !== board.sentPulses.length) throw new Error(`outcomes count ${counted} pulses, ${board.sentPulses.length} went out`);
      if (sim.energised().length !== 0) throw new Error('an output is still on after stop');
    }),
    { numRuns: 80 },
  );
  t.pass('80 random sequences kept every safety rule');
});

t.test('the property is able to fail: a board that pulses two locks at once is caught', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  const started = bank.start();
  await clock.fake.tickAsync(10);
  await started;
  // Bypass the bank's queue, as a buggy caller would: the recorder must see two at once.
  const guard = { answeredWithinMs: 60_000 };
  const a = board.pulse({ board: 0, channel: 0 }, 300, guard);
  const b = board.pulse({ board: 0, channel: 1 }, 300, guard);
  t.equal(sim.energised().length, 2);
  await clock.fake.tickAsync(400);
  await Promise.all([a, b]);
  t.equal(board.maxActive, 2, 'the recorder saw the overlap');
  await bank.stop();
});

t.test('the property is able to fail: a pulse asked of a board whose last read failed is caught', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  const started = bank.start();
  await clock.fake.tickAsync(10);
  await started;
  sim.setSilent(true);
  await t.rejects(board.readInputs(0), { code: 'BOARD_TIMEOUT' });
  // A buggy caller asks anyway, with a window that would let anything through.
  await t.rejects(board.pulse({ board: 0, channel: 0 }, 300, { answeredWithinMs: Number.MAX_SAFE_INTEGER }), { code: 'BOARD_OFFLINE' }, 'the driver refuses it');
  t.equal(board.blindPulses.length, 1, 'the recorder flags the blind request');
  t.match(board.blindPulses[0], { ref: { board: 0, channel: 0 }, why: /last exchange \(read .*\) failed/ });
  t.equal(sim.pulseCount, 0, 'and nothing was energised');
  t.same(board.sentPulses, [], 'a refusal is not a pulse sent');
  await bank.stop();
});
