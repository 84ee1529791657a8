/**
 * The lock bank under the faults an outside engineer found on an emulated CU16 board (issue
 * 7): the whole Kerong stack (lock bank, driver, serialport transport, the fake bus behind
 * SerialPortMock) on one fake clock, and the simulator for the outage and recovery cases.
 *
 * The rules: nothing is pulsed blind (only a board that answered within the last poll
 * interval gets an unlock, and nothing queued before it went silent is sent late); the
 * verdict of an open is known within doorConfirmTimeoutMs x 2 + pollIntervalMs; `pulses`
 * counts the pulses that really went out; the rest follows the pulse the board applies; a
 * board that answers again is seen within two poll intervals.
 */
import t, { type Test } from 'tap';
import { createKerongBank, KERONG_DEFAULTS, type KerongBankRig } from '../fakes/kerong-bank.js';
import { createSimBank } from '../fakes/sim-bank.js';

const BOUND_MS = 2 * KERONG_DEFAULTS.doorConfirmTimeoutMs + KERONG_DEFAULTS.pollIntervalMs;
const board0 = (channel: number) => ({ board: 0, channel });

async function kerongRig(t: Test, setup: Parameters<typeof createKerongBank>[0] = {}): Promise<KerongBankRig> {
  const rig = createKerongBank(setup);
  t.teardown(() => rig.dispose());
  await rig.settle(rig.bank.start());
  return rig;
}

/** Every unlock reached a board that was answering, and had answered a query within `windowMs`. */
function unlocksWereAnswered(rig: KerongBankRig, windowMs: number): string[] {
  const problems: string[] = rig.board.blindPulses.map((blind) => `the bank asked a pulse of channel ${blind.ref.channel} at ${blind.at}: ${blind.why}`);
  for (const unlock of rig.bus.unlocks) {
    if (unlock.whileSilent) problems.push(`unlock of channel ${unlock.ref.channel} at ${unlock.at} reached a silent board`);
    const answered = rig.bus.queries.filter((q) => q.answered && q.at <= unlock.at && unlock.at - q.at <= windowMs);
    if (answered.length === 0) problems.push(`unlock of channel ${unlock.ref.channel} at ${unlock.at}: no answered query in the ${windowMs} ms before`);
    const failedSince = rig.bus.queries.some((q) => !q.answered && q.at <= unlock.at && answered.every((a) => a.at < q.at));
    if (failedSince) problems.push(`unlock of channel ${unlock.ref.channel} at ${unlock.at}: a query went unanswered after the last answer`);
  }
  return problems;
}

t.test('1. a board that goes silent right after taking an unlock never gets a second one', async (t) => {
  const rig = await kerongRig(t);
  rig.bus.jam(board0(0), true); // the door would not open anyway: the old code retried
  rig.bus.silenceAfterNextUnlock(0);
  const { outcome, startedAt, endedAt } = await rig.open(1);
  t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 1 }, 'one pulse went out, then the board stopped answering');
  await rig.advance(60_000);
  t.equal(rig.bus.unlocks.length, 1, 'no second unlock, ever');
  t.same(unlocksWereAnswered(rig, KERONG_DEFAULTS.pollIntervalMs), []);
  t.ok(endedAt - startedAt <= BOUND_MS, `verdict after ${endedAt - startedAt} ms (bound ${BOUND_MS})`);
});

t.test('2. an unlock is never sent late behind failing status queries', async (t) => {
  const rig = await kerongRig(t);
  rig.bus.jam(board0(0), true);
  const pulseAsked: number[] = [];
  rig.bank.events.on('pulseStarted', () => pulseAsked.push(rig.clock.now()));
  const pending = rig.bank.open(1);
  const startedAt = rig.clock.now();
  await rig.advance(1_500); // mid-way through the first confirm window
  rig.bus.setSilent(0, true);
  const { value: outcome, at } = await rig.settle(pending);
  t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 1 });
  t.equal(rig.bus.unlocks.length, 1, 'the retry was not sent to a silent board');
  t.same(unlocksWereAnswered(rig, KERONG_DEFAULTS.pollIntervalMs), []);
  for (const [i, unlock] of rig.bus.unlocks.entries()) {
    const asked = pulseAsked[i] ?? Number.NaN;
    t.ok(unlock.at - asked <= KERONG_DEFAULTS.pollIntervalMs, `unlock ${i + 1} on the wire ${unlock.at - asked} ms after the bank asked`);
  }
  t.ok(at - startedAt <= BOUND_MS, `verdict after ${at - startedAt} ms (bound ${BOUND_MS})`);
  rig.bus.setSilent(0, false);
  await rig.advance(30_000);
  t.equal(rig.bus.unlocks.length, 1, 'and not later either, once the board is back');
});

t.test('2b. the driver drops an unlock queued behind a query that the board does not answer', async (t) => {
  const rig = await kerongRig(t);
  await rig.advance(600);
  // The board goes silent just as a poll's query is on the wire; an open arrives meanwhile.
  rig.bus.setSilent(0, true);
  const { outcome, startedAt, endedAt } = await rig.open(2);
  t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 0 }, 'refused before any pulse');
  await rig.advance(10_000);
  t.same(rig.bus.unlocks, [], 'nothing reached the wire');
  t.ok(endedAt - startedAt <= BOUND_MS, `verdict after ${endedAt - startedAt} ms`);
});

t.test('3. the verdict comes within doorConfirmTimeoutMs x 2 + pollIntervalMs, whatever the bus does', async (t) => {
  const cases: { name: string; arrange: (rig: KerongBankRig) => void; error: string }[] = [
    { name: 'silent from the start', arrange: (rig) => rig.bus.setSilent(0, true), error: 'BOARD_OFFLINE' },
    { name: 'silent right after the unlock', arrange: (rig) => rig.bus.silenceAfterNextUnlock(0), error: 'BOARD_OFFLINE' },
    { name: 'jammed lock, board answering', arrange: (rig) => rig.bus.jam(board0(0), true), error: 'JAMMED' },
    {
      name: 'jammed lock, late replies',
      arrange: (rig) => {
        rig.bus.jam(board0(0), true);
        rig.bus.setReplyDelay(KERONG_DEFAULTS.replyTimeoutMs + 20);
      },
      error: 'BOARD_OFFLINE',
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const rig = await kerongRig(t);
      await rig.advance(100);
      c.arrange(rig);
      const { outcome, startedAt, endedAt } = await rig.open(1);
      t.match(outcome, { ok: false, error: c.error });
      t.ok(endedAt - startedAt <= BOUND_MS, `verdict after ${endedAt - startedAt} ms (bound ${BOUND_MS})`);
      t.same(unlocksWereAnswered(rig, KERONG_DEFAULTS.pollIntervalMs), []);
    });
  }
});

t.test('4. pulses counts the pulses that really went out', async (t) => {
  t.test('refused before any pulse: 0', async (t) => {
    const { bank, sim, clock, board } = createSimBank();
    await settleSim(clock, bank.start());
    sim.setSilent(true);
    await clock.fake.tickAsync(600);
    const outcome = await settleSim(clock, bank.open(1));
    t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 0 });
    t.equal(sim.pulseCount, 0);
    t.equal(board.sentPulses.length, 0);
    await bank.stop();
  });
  t.test('silent right after the pulse: 1', async (t) => {
    const { bank, sim, clock } = createSimBank();
    await settleSim(clock, bank.start());
    sim.setJammed(0, true);
    sim.silenceAfterNextPulse();
    const outcome = await settleSim(clock, bank.open(1));
    t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 1 });
    t.equal(sim.pulseCount, 1, 'the silent board was never pulsed again');
    await bank.stop();
  });
  t.test('jammed: 2', async (t) => {
    const { bank, sim, clock } = createSimBank();
    await settleSim(clock, bank.start());
    sim.setJammed(0, true);
    t.match(await settleSim(clock, bank.open(1)), { ok: false, error: 'JAMMED', pulses: 2 });
    t.equal(sim.pulseCount, 2);
    await bank.stop();
  });
});

t.test('5. the rest follows the pulse the board applies, not the one asked for', async (t) => {
  // locks.pulseMs is 300, but the Kerong board energises for its own 500 ms.
  const rig = await kerongRig(t);
  const first = await rig.open(1);
  t.match(first.outcome, { ok: true, pulses: 1 });
  rig.bus.setDoor(board0(0), false);
  const second = await rig.open(1);
  t.match(second.outcome, { ok: true, pulses: 1 });
  const [a, b] = rig.bus.unlocks;
  if (!a || !b) throw new Error('two unlocks expected');
  const boardPulse = KERONG_DEFAULTS.boardPulseMs;
  const offToOn = b.at - (a.at + boardPulse);
  t.ok(offToOn >= 3 * boardPulse, `rested ${offToOn} ms after a ${boardPulse} ms board pulse (at least ${3 * boardPulse})`);
  const duty = boardPulse / (b.at - a.at);
  t.ok(duty <= 0.25, `duty ${(duty * 100).toFixed(1)} %`);
});

t.test('6. a board answering again is seen within two poll intervals, however long the outage and however many opens failed', async (t) => {
  t.test('simulator', async (t) => {
    const { bank, sim, clock } = createSimBank();
    await settleSim(clock, bank.start());
    const online: number[] = [];
    const forced: number[] = [];
    bank.events.on('boardOnline', () => online.push(clock.now()));
    bank.events.on('forced', (id) => forced.push(id));
    sim.setSilent(true);
    for (let i = 0; i < 8; i += 1) {
      t.match(await settleSim(clock, bank.open(1 + i)), { ok: false, error: 'BOARD_OFFLINE', pulses: 0 });
      await clock.fake.tickAsync(3_000);
    }
    sim.forceDoor(9); // someone pulls compartment 10 open during the outage
    const back = clock.now();
    sim.setSilent(false);
    await clock.fake.tickAsync(2 * 500);
    t.equal(online.length, 1, 'seen again');
    t.ok((online[0] ?? Infinity) - back <= 2 * 500, `after ${(online[0] ?? Infinity) - back} ms`);
    t.same(forced, [10], 'and the door forced meanwhile is reported');
    t.equal(sim.pulseCount, 0, 'nothing was pulsed during the outage');
    await bank.stop();
  });
  t.test('Kerong stack', async (t) => {
    const rig = await kerongRig(t);
    const online: number[] = [];
    rig.bank.events.on('boardOnline', () => online.push(rig.clock.now()));
    rig.bus.setSilent(0, true);
    for (let i = 0; i < 6; i += 1) {
      t.match((await rig.open(1 + i)).outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 0 });
      await rig.advance(3_000);
    }
    const back = rig.clock.now();
    rig.bus.setSilent(0, false);
    await rig.advance(2 * KERONG_DEFAULTS.pollIntervalMs);
    t.equal(online.length, 1, 'seen again');
    t.ok((online[0] ?? Infinity) - back <= 2 * KERONG_DEFAULTS.pollIntervalMs, `after ${(online[0] ?? Infinity) - back} ms`);
    t.same(rig.bus.unlocks, [], 'nothing was pulsed during the outage');
  });
});

/** Let a promise settle while advancing the fake clock in small steps (bounded). */
async function settleSim<T>(clock: ReturnType<typeof createSimBank>['clock'], promise: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  void promise.then((v) => {
    done = true;
    value = v;
  });
  for (let elapsed = 0; !done && elapsed <= maxMs; elapsed += 10) await clock.fake.tickAsync(10);
  if (!done) throw new Error(`did not settle within ${maxMs} ms of fake time`);
  return value as T;
}
