import t from 'tap';
import { LockBank, PULSE_HARD_CAP_MS, type OpenOutcome } from '../../controller/lock-bank.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createSimBank, simWiring } from '../fakes/sim-bank.js';

/** Let a promise settle while advancing the fake clock in small steps (bounded). */
async function settle<T>(clock: ReturnType<typeof createSimBank>['clock'], promise: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  void promise.then((v) => {
    done = true;
    value = v;
  });
  for (let elapsed = 0; !done && elapsed <= maxMs; elapsed += 50) await clock.fake.tickAsync(50);
  if (!done) throw new Error(`did not settle within ${maxMs} ms of fake time`);
  return value as T;
}

t.test('start drives every output off before anything else, then reads the doors', async (t) => {
  const { bank, board, clock } = createSimBank();
  await settle(clock, bank.start());
  t.same(board.calls.slice(0, 3), ['allOff', 'init', 'read 0']);
  t.equal(bank.doorState(1), 'closed');
  await bank.stop();
});

t.test('open pulses once, confirms with the door switch, reports a commanded opening', async (t) => {
  const { bank, board, clock } = createSimBank();
  await settle(clock, bank.start());
  const opened: [number, string][] = [];
  bank.events.on('doorOpened', (id, cause) => opened.push([id, cause]));
  const outcome = await settle(clock, bank.open(3));
  t.same(outcome, { ok: true, compartment: 3, pulses: 1, confirmed: true, alreadyOpen: false });
  t.same(opened, [[3, 'command']]);
  t.equal(board.pulses.length, 1);
  t.same(board.pulses[0]?.ref, { board: 0, channel: 2 });
  t.equal(board.pulses[0]?.requestedMs, 300);
  await bank.stop();
});

t.test('no configuration can make a pulse longer than the hard cap', async (t) => {
  const { bank, board, clock } = createSimBank({ pulseMs: 60_000 });
  t.equal(bank.pulseMs, PULSE_HARD_CAP_MS);
  await settle(clock, bank.start());
  await settle(clock, bank.open(1));
  const pulse = board.pulses[0];
  t.ok(pulse);
  t.equal(pulse?.requestedMs, PULSE_HARD_CAP_MS);
  t.ok(pulse && pulse.end !== null && pulse.end - pulse.start <= PULSE_HARD_CAP_MS, 'lasted no longer than the cap');
  await bank.stop();
});

t.test('a jammed lock is pulsed twice, resting between pulses, then reported JAMMED', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  sim.setJammed(4, true);
  const outcome = await settle(clock, bank.open(5));
  t.match(outcome, { ok: false, compartment: 5, pulses: 2, error: 'JAMMED' });
  t.equal(board.pulses.length, 2);
  const [first, second] = board.pulses;
  t.ok(first?.end != null && second && second.start - first.end >= 3 * 300, 'rested 3x the pulse (25 % duty)');
  t.equal(bank.doorState(5), 'closed');
  await bank.stop();
});

t.test('a lock that frees up on the retry opens on the second pulse', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  sim.setJammed(0, true);
  const pending = bank.open(1);
  await clock.fake.tickAsync(1900); // first pulse over, its confirm window not yet
  t.equal(board.pulses.length, 1);
  sim.setJammed(0, false);
  const outcome = await settle(clock, pending);
  t.same(outcome, { ok: true, compartment: 1, pulses: 2, confirmed: true, alreadyOpen: false });
  await bank.stop();
});

t.test('a door already open is not pulsed', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  sim.forceDoor(7);
  const outcome = await settle(clock, bank.open(8));
  t.same(outcome, { ok: true, compartment: 8, pulses: 0, confirmed: true, alreadyOpen: true });
  t.equal(board.pulses.length, 0);
  await bank.stop();
});

t.test('a door opened without a command is reported forced; closing is reported', async (t) => {
  const { bank, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  const forced: number[] = [];
  const closed: number[] = [];
  bank.events.on('forced', (id) => forced.push(id));
  bank.events.on('doorClosed', (id) => closed.push(id));
  sim.forceDoor(9);
  await clock.fake.tickAsync(600);
  t.same(forced, [10]);
  t.equal(bank.doorState(10), 'open');
  sim.closeDoor(9);
  await clock.fake.tickAsync(600);
  t.same(closed, [10]);
  await bank.stop();
});

t.test('a door left open raises leftOpen once, after the alarm time', async (t) => {
  const { bank, clock } = createSimBank({ doorLeftOpenAlarmMs: 30_000 });
  await settle(clock, bank.start());
  const alarms: [number, number][] = [];
  bank.events.on('leftOpen', (id, ms) => alarms.push([id, ms]));
  await settle(clock, bank.open(2));
  await clock.fake.tickAsync(25_000);
  t.same(alarms, [], 'not before the alarm time');
  await clock.fake.tickAsync(10_000);
  t.equal(alarms.length, 1);
  t.equal(alarms[0]?.[0], 2);
  t.ok((alarms[0]?.[1] ?? 0) >= 30_000);
  await clock.fake.tickAsync(60_000);
  t.equal(alarms.length, 1, 'only once per opening');
  await bank.stop();
});

t.test('a board that stops answering: doors unknown, opens refused without a pulse, polled every interval', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  const offline: number[] = [];
  const online: number[] = [];
  bank.events.on('boardOffline', (b) => offline.push(b));
  bank.events.on('boardOnline', (b) => online.push(b));
  sim.setOffline(true);
  await clock.fake.tickAsync(600);
  t.same(offline, [0]);
  t.equal(bank.doorState(1), 'unknown', 'never guessed');
  const outcome = await settle(clock, bank.open(1));
  t.match(outcome, { ok: false, error: 'BOARD_OFFLINE', pulses: 0 });
  t.equal(board.pulses.length, 0, 'nothing pulsed blind');
  const readsBefore = board.calls.filter((c) => c === 'read 0').length;
  await clock.fake.tickAsync(10_000);
  const reads = board.calls.filter((c) => c === 'read 0').length - readsBefore;
  t.equal(reads, 10_000 / 500, `read every poll interval, no backoff: ${reads} reads in 10 s`);
  sim.setOffline(false);
  await clock.fake.tickAsync(2 * 500);
  t.same(online, [0], 'seen again within two poll intervals');
  t.equal(bank.doorState(1), 'closed');
  t.same(bank.boardStatus(), [{ board: 0, online: true, lastError: null }]);
  await bank.stop();
});

t.test('a pulse that fails is retried once, outputs driven off, then BOARD_ERROR', async (t) => {
  const { bank, board, clock } = createSimBank();
  await settle(clock, bank.start());
  board.failNextPulses = 2;
  const outcome = await settle(clock, bank.open(6));
  t.match(outcome, { ok: false, pulses: 2, error: 'BOARD_ERROR', hardwareCode: 'BUS_ERROR' });
  t.ok(board.calls.filter((c) => c === 'allOff').length >= 3, 'allOff after each failed pulse');
  await bank.stop();
});

t.test('concurrent opens run one at a time', async (t) => {
  const { bank, board, clock } = createSimBank();
  await settle(clock, bank.start());
  const outcomes = await settle(clock, Promise.all([bank.open(1), bank.open(2), bank.open(3)]));
  t.ok(outcomes.every((o) => o.ok));
  t.equal(board.maxActive, 1);
  const ordered = board.pulses.every((p, i, all) => i === 0 || (all[i - 1]?.end ?? Infinity) <= p.start);
  t.ok(ordered, 'each pulse starts after the previous ended');
  await bank.stop();
});

t.test('unknown compartment and a stopped bank are typed errors', async (t) => {
  const { bank, board, clock } = createSimBank();
  await settle(clock, bank.start());
  t.match(await settle(clock, bank.open(17)), { ok: false, error: 'UNKNOWN_COMPARTMENT' });
  await bank.stop();
  t.match(await bank.open(1), { ok: false, error: 'STOPPED' });
  t.equal(board.calls.at(-1), 'close');
  t.same(board.inner.kind, 'sim');
});

t.test('self-test reports each compartment as data', async (t) => {
  const wiring = simWiring(5).map((c) => (c.id === 5 ? { ...c, door: null } : c));
  const { bank, sim, clock } = createSimBank({ compartments: wiring });
  await settle(clock, bank.start());
  sim.setJammed(1, true); // compartment 2
  sim.forceDoor(2); // compartment 3
  sim.setSwitchStuck(3, false); // compartment 4: door opens but the switch says closed
  const report = await settle(clock, bank.selfTest(), 120_000);
  t.same(
    report.map((e) => [e.compartment, e.result, e.pulses]),
    [
      [1, 'confirmed', 1],
      [2, 'jammed', 2],
      [3, 'already-open', 0],
      [4, 'jammed', 2],
      [5, 'no-door-signal', 1],
    ],
  );
  await bank.stop();
});

t.test('a board whose init fails is retried, and nothing is pulsed until it succeeds', async (t) => {
  const { bank, board, clock } = createSimBank();
  let failInit = true;
  const init = board.init.bind(board);
  board.init = async () => {
    if (failInit) throw new Error('no such device');
    await init();
  };
  await settle(clock, bank.start());
  t.equal(bank.doorState(1), 'unknown');
  t.match(await settle(clock, bank.open(1)), { ok: false, error: 'BOARD_OFFLINE' });
  t.equal(board.pulses.length, 0);
  failInit = false;
  await clock.fake.tickAsync(5_000);
  t.equal(bank.doorState(1), 'closed');
  t.match(await settle(clock, bank.open(1)), { ok: true });
  await bank.stop();
});

t.test('outcomes are one of the typed shapes', async (t) => {
  const { bank, clock } = createSimBank();
  await settle(clock, bank.start());
  const outcome: OpenOutcome = await settle(clock, bank.open(16));
  t.ok(outcome.ok);
  await bank.stop();
});

t.test('a door closed before a board outage and open after it was forced', async (t) => {
  const { bank, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  const forced: number[] = [];
  bank.events.on('forced', (id) => forced.push(id));
  sim.setOffline(true);
  await clock.fake.tickAsync(600);
  t.equal(bank.doorState(4), 'unknown');
  sim.forceDoor(3);
  sim.setOffline(false);
  await clock.fake.tickAsync(5_000);
  t.equal(bank.doorState(4), 'open');
  t.same(forced, [4], 'reported as forced, not merely found open');
  await bank.stop();
});

t.test('the rest follows the pulse the board applies; a shorter rest, or a board pulse above the cap, is refused', async (t) => {
  t.throws(() => createSimBank({ pulseMs: 400, restMs: 1000 }), { name: 'RangeError', message: /rest of 1000 ms is below three times the 400 ms pulse/ });
  t.same(createSimBank({ pulseMs: 400, restMs: 5000 }).bank.pulseOf(1), { onMs: 400, restMs: 5000 }, 'a longer rest is kept');
  t.same(createSimBank({ pulseMs: 400 }).bank.pulseOf(1), { onMs: 400, restMs: 1200 }, 'default: three times the pulse');
  // A board that times its own pulse (as a Kerong does) decides what the lock gets.
  const { sim, clock } = createSimBank();
  const ownPulse = (onMs: number) => Object.assign(Object.create(sim) as typeof sim, { effectivePulse: () => ({ onMs, totalMs: onMs + 50 }) });
  const logger = createSilentLogger();
  const options = { compartments: simWiring(), pulseMs: 300, doorConfirmTimeoutMs: 2000, doorLeftOpenAlarmMs: 60_000, pollIntervalMs: 500, clock, logger };
  t.same(new LockBank({ ...options, board: ownPulse(700) }).pulseOf(3), { onMs: 700, restMs: 2100 }, 'rest from the board pulse, not from pulseMs');
  t.throws(() => new LockBank({ ...options, board: ownPulse(PULSE_HARD_CAP_MS + 1) }), { name: 'RangeError', message: /pulses its lock for 1501 ms, above the 1500 ms cap/ });
});

t.test('stop while an open waits for its board: nothing is pulsed after stop began', async (t) => {
  const { bank, board, sim, clock } = createSimBank();
  await settle(clock, bank.start());
  // Hold the next read of the board until we let it go: the open waits for it.
  let release: () => void = () => undefined;
  const read = board.readInputs.bind(board);
  board.readInputs = async (id) => {
    await new Promise<void>((resolve) => (release = resolve));
    return read(id);
  };
  const pending = bank.open(4);
  await clock.fake.tickAsync(10);
  const stopping = bank.stop();
  release(); // the board answers, but the bank is already stopping
  await clock.fake.tickAsync(1000);
  await stopping;
  t.match(await pending, { ok: false, error: 'STOPPED', pulses: 0 });
  t.equal(sim.pulseCount, 0, 'no pulse after stop began');
  t.same(board.pulses, [], 'none was even asked');
});
