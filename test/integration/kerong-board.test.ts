/**
 * KerongBoard against a simulated bus (FakeKerongBus behind SerialPortMock), through the real
 * serialport transport. The same LockBoard contract also runs on a real board when
 * KEYLOCKER_TEST_PORT names a serial port with a Kerong board on it.
 */
import t, { type Test } from 'tap';
import { SerialPortMock } from 'serialport';
import { createSystemClock, sleep, type Clock } from '../../kiosk/lib/clock.js';
import { KerongBoard, type KerongBoardOptions } from '../../controller/drivers/kerong/kerong-board.js';
import { createSerialPortTransport, type SerialTransport } from '../../controller/drivers/kerong/serial-transport.js';
import type { BoardWiring, ChannelRef } from '../../controller/lock-board.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { runLockBoardContract } from '../contract/lock-board-contract.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { FakeKerongBus, type FakeKerongOptions } from '../fakes/fake-kerong-board.js';

/** A guard every board passes right after init: the board answered within the last minute. */
const FRESH = { answeredWithinMs: 60_000 };

const PULSE_MS = 40;
/** Generous: a simulated board answers in ~2 ms, and a loaded CI machine must not time out. */
const REPLY_TIMEOUT_MS = 250;
/** For the tests that wait for a silent board to time out, so they stay fast. */
const SHORT_TIMEOUT_MS = 100;
const QUERY_0 = '02 00 30 03 35';
const QUERY_1 = '02 10 30 03 45';

const board0 = (channel: number): ChannelRef => ({ board: 0, channel });
const sixteen = Array.from({ length: 16 }, (_, channel) => board0(channel));
/** Board 0 fully wired, plus one compartment on board 1 channel 2. */
const BOARD_1_LOCK_2: ChannelRef = { board: 1, channel: 2 };
const WIRING: BoardWiring = { locks: [...sixteen, BOARD_1_LOCK_2], doors: [...sixteen, BOARD_1_LOCK_2] };

let ports = 0;

interface Rig {
  board: KerongBoard;
  fake: FakeKerongBus;
  port: SerialPortMock;
  transport: SerialTransport;
  /** Writes since the rig was built, hex, one per write. */
  writes: () => string[];
  clock: Clock;
  /**
   * Await `promise`. On a fake-clock rig, fake time runs meanwhile (1 ms steps, bounded), so
   * timeouts and pulses take no real time and cannot be stretched by a busy machine.
   */
  run: <T>(promise: Promise<T>) => Promise<T>;
}

/** Await `promise` while the fake clock advances in 1 ms steps (at most a minute of fake time). */
async function drive<T>(clock: ReturnType<typeof createFakeClock>, promise: Promise<T>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  settled.catch(() => undefined);
  for (let step = 0; !done && step < 60_000; step += 1) await clock.fake.tickAsync(1);
  if (!done) throw new Error('did not settle within 60 s of fake time');
  return settled;
}

function makeRig(
  t: Test,
  setup: { options?: Partial<KerongBoardOptions>; fake?: Partial<FakeKerongOptions>; wiring?: BoardWiring; fakeClock?: boolean } = {},
): Rig {
  const path = `/dev/fake-kerong-${++ports}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: true });
  const port = new SerialPortMock({ path, baudRate: 19200, autoOpen: false });
  const fakeClock = setup.fakeClock ? createFakeClock(0) : null;
  const clock: Clock = fakeClock ?? createSystemClock();
  const fake = new FakeKerongBus({ boards: [0, 1], lockedBit: 1, boardPulseMs: PULSE_MS, clock, ...setup.fake });
  fake.attach(port);
  const transport = createSerialPortTransport({ port });
  const board = new KerongBoard({
    transport,
    wiring: setup.wiring ?? WIRING,
    options: {
      lockedBit: 1,
      replyTimeoutMs: REPLY_TIMEOUT_MS,
      boardPulseMs: PULSE_MS,
      retryDelayMs: 5,
      pulseSettleMs: 5,
      ...setup.options,
    },
    clock,
    logger: createSilentLogger(),
  });
  const run = <T>(promise: Promise<T>): Promise<T> => (fakeClock ? drive(fakeClock, promise) : promise);
  t.teardown(async () => {
    await run(board.close());
    fake.dispose();
    SerialPortMock.binding.reset();
  });
  return { board, fake, port, transport, writes: () => [...fake.writes], clock, run };
}

/** Init, then forget the init queries so a test sees only its own writes. */
async function ready(rig: Rig): Promise<() => string[]> {
  await rig.run(rig.board.init());
  const before = rig.fake.writes.length;
  return () => rig.fake.writes.slice(before);
}

t.test('init opens the port and queries each wired board once, in order', async (t) => {
  const rig = makeRig(t);
  await rig.board.init();
  t.ok(rig.port.isOpen, 'port open');
  t.same(rig.writes(), [QUERY_0, QUERY_1], 'one query per board, nothing else');
  t.equal(rig.port.port?.recording.toString('hex'), '02003003350210300345', 'raw bytes on the wire');
  t.same(rig.fake.energised(), [], 'nothing energised');
});

t.test('pulse writes exactly the documented unlock frame and lasts the board pulse', async (t) => {
  // Fake time: a real timer may fire up to a loop iteration early against performance.now().
  const rig = makeRig(t, { fakeClock: true });
  const wire = await ready(rig);
  const started = rig.clock.now();
  await rig.run(rig.board.pulse(board0(0), PULSE_MS, FRESH)); // compartment 1
  t.ok(rig.clock.now() - started >= PULSE_MS, `resolves only after the board pulse (${rig.clock.now() - started} ms of ${PULSE_MS})`);
  await rig.run(rig.board.pulse(board0(15), PULSE_MS, FRESH));
  await rig.run(rig.board.pulse(BOARD_1_LOCK_2, PULSE_MS, FRESH));
  t.same(wire(), ['02 00 31 03 36', '02 0F 31 03 45', '02 12 31 03 48']);
  t.ok(rig.fake.isDoorOpen(board0(0)) && rig.fake.isDoorOpen(BOARD_1_LOCK_2), 'the doors sprang open');
  t.equal(rig.fake.unlockAllReceived, 0, 'never unlock-all');
});

t.test('a pulse length different from the board pulse is still the board pulse', async (t) => {
  const rig = makeRig(t);
  const wire = await ready(rig);
  await rig.board.pulse(board0(3), 300, FRESH);
  t.same(wire(), ['02 03 31 03 39'], 'same frame: the board times the pulse');
  t.same(rig.fake.energised(), []);
});

t.test('readInputs decodes doors (wired channels only) and items (all 16)', async (t) => {
  const rig = makeRig(t);
  const wire = await ready(rig);
  rig.fake.setDoor(board0(3), true);
  rig.fake.setItem(board0(5), true);
  rig.fake.setItem(board0(15), true);
  const inputs = await rig.board.readInputs(0);
  t.same(wire(), [QUERY_0]);
  t.equal(inputs.doorOpen.size, 16);
  t.same([...inputs.doorOpen].filter(([, open]) => open).map(([channel]) => channel), [3]);
  t.equal(inputs.itemPresent.size, 16);
  t.same([...inputs.itemPresent].filter(([, present]) => present).map(([channel]) => channel), [5, 15]);
  const other = await rig.board.readInputs(1);
  t.same([...other.doorOpen.keys()], [2], 'board 1 has one wired door');
  t.equal(other.itemPresent.size, 16);
});

t.test('lock-bit polarity', async (t) => {
  for (const lockedBit of [0, 1] as const) {
    t.test(`board and driver agree on lockedBit ${lockedBit}`, async (t) => {
      const rig = makeRig(t, { options: { lockedBit }, fake: { lockedBit } });
      await rig.board.init();
      rig.fake.setDoor(board0(7), true);
      const inputs = await rig.board.readInputs(0);
      t.equal(inputs.doorOpen.get(7), true);
      t.equal(inputs.doorOpen.get(6), false);
    });
  }
  t.test('a mis-set polarity reads every door inverted (why it is calibrated)', async (t) => {
    const rig = makeRig(t, { options: { lockedBit: 1 }, fake: { lockedBit: 0 } });
    await rig.board.init();
    rig.fake.setDoor(board0(7), true);
    const inputs = await rig.board.readInputs(0);
    t.equal(inputs.doorOpen.get(7), false);
    t.equal(inputs.doorOpen.get(6), true);
  });
});

t.test('no reply: BOARD_TIMEOUT after the retries, naming board and command', async (t) => {
  const rig = makeRig(t, { fakeClock: true, options: { replyTimeoutMs: SHORT_TIMEOUT_MS } });
  const wire = await ready(rig);
  rig.fake.setSilent(0);
  await t.rejects(rig.run(rig.board.readInputs(0)), {
    code: 'BOARD_TIMEOUT',
    message: /^board 0 channels 0-15 command query \(0x30\): no reply in 3 attempts of 100 ms/,
  });
  t.same(wire(), [QUERY_0, QUERY_0, QUERY_0], '1 try + 2 retries on the wire');
});

t.test('no reply with retries 0: one query only', async (t) => {
  const rig = makeRig(t, { fakeClock: true, options: { retries: 0, replyTimeoutMs: SHORT_TIMEOUT_MS } });
  const wire = await ready(rig);
  rig.fake.setSilent(1);
  await t.rejects(rig.run(rig.board.readInputs(1)), { code: 'BOARD_TIMEOUT', message: /board 1/ });
  t.same(wire(), [QUERY_1]);
});

t.test('init rejects naming a board that does not answer, and can be retried', async (t) => {
  const rig = makeRig(t, { fakeClock: true, options: { replyTimeoutMs: SHORT_TIMEOUT_MS } });
  rig.fake.setSilent(1);
  await t.rejects(rig.run(rig.board.init()), { code: 'BOARD_TIMEOUT', message: /^board 1 / });
  t.same(rig.writes(), [QUERY_0, QUERY_1, QUERY_1, QUERY_1]);
  await t.rejects(rig.run(rig.board.pulse(board0(0), PULSE_MS, FRESH)), { code: 'NOT_INITIALISED' }, 'not usable after a failed init');
  rig.fake.setSilent(1, false);
  await rig.run(rig.board.init());
  await rig.run(rig.board.pulse(board0(0), PULSE_MS, FRESH));
  t.equal(rig.writes().at(-1), '02 00 31 03 36', 'usable after a good init');
});

t.test('bad checksums: retried, then BAD_FRAME', async (t) => {
  t.test('two corrupt replies, the third good', async (t) => {
    const rig = makeRig(t);
    const wire = await ready(rig);
    rig.fake.corruptNextReplies(2);
    rig.fake.setDoor(board0(1), true);
    const inputs = await rig.board.readInputs(0);
    t.equal(inputs.doorOpen.get(1), true);
    t.same(wire(), [QUERY_0, QUERY_0, QUERY_0]);
  });
  t.test('every reply corrupt', async (t) => {
    const rig = makeRig(t, { fakeClock: true });
    const wire = await ready(rig);
    rig.fake.corruptNextReplies(3);
    const started = rig.clock.now();
    const message = /^board 0 .*3 replies failed their checksum/;
    await t.rejects(rig.run(rig.board.readInputs(0)), { code: 'BAD_FRAME', message });
    t.ok(rig.clock.now() - started < REPLY_TIMEOUT_MS, 'each corrupt reply is retried at once, not after a timeout');
    t.same(wire(), [QUERY_0, QUERY_0, QUERY_0]);
  });
});

t.test('garbage before the reply is skipped', async (t) => {
  const rig = makeRig(t);
  await rig.board.init();
  rig.fake.setGarbage([0xff, 0x00, 0x03, 0x02, 0x00, 0x99, 0x35, 0x02]);
  rig.fake.setDoor(board0(9), true);
  const inputs = await rig.board.readInputs(0);
  t.equal(inputs.doorOpen.get(9), true);
  t.equal(inputs.doorOpen.get(8), false);
});

t.test('a reply split across reads is reassembled', async (t) => {
  const rig = makeRig(t);
  await rig.board.init();
  let chunks = 0;
  rig.transport.events.on('data', () => chunks++);
  rig.fake.setSplit(9);
  rig.fake.setDoor(board0(12), true);
  const inputs = await rig.board.readInputs(0);
  t.ok(chunks > 1, `the reply came in ${chunks} reads`);
  t.equal(inputs.doorOpen.get(12), true);
});

t.test('slow replies', async (t) => {
  t.test('within the reply timeout: one query', async (t) => {
    const rig = makeRig(t, { fakeClock: true });
    const wire = await ready(rig);
    rig.fake.setReplyDelay(30);
    await rig.run(rig.board.readInputs(0));
    t.same(wire(), [QUERY_0]);
  });
  t.test('slower than every attempt: BOARD_TIMEOUT', async (t) => {
    const rig = makeRig(t, { fakeClock: true, options: { retries: 1, replyTimeoutMs: SHORT_TIMEOUT_MS } });
    const wire = await ready(rig);
    rig.fake.setReplyDelay(1000);
    await t.rejects(rig.run(rig.board.readInputs(0)), { code: 'BOARD_TIMEOUT' });
    t.same(wire(), [QUERY_0, QUERY_0]);
  });
});

t.test('jammed lock: the pulse resolves but the door stays shut', async (t) => {
  const rig = makeRig(t, { fakeClock: true });
  const wire = await ready(rig);
  rig.fake.jam(board0(4));
  const pulse = rig.board.pulse(board0(4), PULSE_MS, FRESH);
  await rig.run(sleep(rig.clock, PULSE_MS / 3));
  t.same(rig.fake.energised(), [board0(4)], 'the coil is energised');
  await rig.run(pulse);
  t.equal((await rig.run(rig.board.readInputs(0))).doorOpen.get(4), false, 'door still reads closed');
  await rig.run(rig.board.pulse(board0(5), PULSE_MS, FRESH));
  t.equal((await rig.run(rig.board.readInputs(0))).doorOpen.get(5), true, 'a free lock next to it opens');
  t.same(wire(), ['02 04 31 03 3A', QUERY_0, '02 05 31 03 3B', QUERY_0]);
});

t.test('stuck door switch reads what it is stuck at', async (t) => {
  const rig = makeRig(t);
  await rig.board.init();
  rig.fake.stickDoor(board0(6), true);
  t.equal((await rig.board.readInputs(0)).doorOpen.get(6), true, 'reads open while the door is shut');
  rig.fake.stickDoor(board0(6), false);
  await rig.board.pulse(board0(6), PULSE_MS, FRESH);
  t.ok(rig.fake.isDoorOpen(board0(6)), 'the door is physically open');
  t.equal((await rig.board.readInputs(0)).doorOpen.get(6), false, 'but reads closed');
});

t.test('a board that answers the unlock too: the reply is accepted and ignored', async (t) => {
  const rig = makeRig(t, { fake: { replyToUnlock: true } });
  const wire = await ready(rig);
  await rig.board.pulse(board0(2), PULSE_MS, FRESH);
  t.equal((await rig.board.readInputs(0)).doorOpen.get(2), true);
  t.same(wire(), ['02 02 31 03 38', QUERY_0]);
});

t.test('one command at a time: a query waits for a running pulse', async (t) => {
  const rig = makeRig(t);
  const wire = await ready(rig);
  let pulseDone = false;
  const pulse = rig.board.pulse(board0(0), PULSE_MS, FRESH).then(() => (pulseDone = true));
  const inputs = await rig.board.readInputs(0);
  t.ok(pulseDone, 'the pulse had ended before the query was answered');
  t.equal(inputs.doorOpen.get(0), true, 'and the query sees the door it opened');
  await pulse;
  t.same(wire(), ['02 00 31 03 36', QUERY_0]);
});

t.test('allOff drops queued pulses and waits out the running one', async (t) => {
  const rig = makeRig(t, { fakeClock: true });
  const wire = await ready(rig);
  const running = rig.board.pulse(board0(0), PULSE_MS, FRESH);
  const queued = t.rejects(rig.board.pulse(board0(1), PULSE_MS, FRESH), {
    code: 'PULSE_CANCELLED',
    message: /^board 0 channel 1 command unlock \(0x31\): cancelled/,
  });
  await rig.run(sleep(rig.clock, PULSE_MS / 4));
  await rig.run(rig.board.allOff());
  t.same(rig.fake.energised(), [], 'nothing energised when allOff resolves');
  await rig.run(running);
  await queued;
  t.same(wire(), ['02 00 31 03 36'], 'the queued unlock never reached the wire');
  await rig.run(rig.board.pulse(board0(1), PULSE_MS, FRESH));
  t.equal(wire().at(-1), '02 01 31 03 37', 'pulses work again after allOff');
});

t.test('never blind: a board whose last query failed gets no unlock until it answers again', async (t) => {
  const rig = makeRig(t, { fakeClock: true, options: { replyTimeoutMs: SHORT_TIMEOUT_MS, retries: 0 } });
  const wire = await ready(rig);
  rig.fake.setSilent(0);
  await t.rejects(rig.run(rig.board.readInputs(0)), { code: 'BOARD_TIMEOUT' });
  await t.rejects(rig.run(rig.board.pulse(board0(3), PULSE_MS, FRESH)), {
    code: 'BOARD_OFFLINE',
    message: /^board 0 channel 3 command unlock \(0x31\): refused, the last exchange with board 0 failed/,
  });
  t.same(wire(), [QUERY_0], 'no unlock on the wire');
  t.same(rig.fake.unlocks, [], 'the board (whose receiver still works) got nothing');
  rig.fake.setSilent(0, false);
  await rig.run(rig.board.readInputs(0));
  await rig.run(rig.board.pulse(board0(3), PULSE_MS, FRESH));
  t.same(wire(), [QUERY_0, QUERY_0, '02 03 31 03 39'], 'sent once the board answered again');
  rig.fake.setSilent(1);
  await t.rejects(rig.run(rig.board.readInputs(1)), { code: 'BOARD_TIMEOUT' });
  await t.rejects(rig.run(rig.board.pulse(BOARD_1_LOCK_2, PULSE_MS, FRESH)), { code: 'BOARD_OFFLINE' }, 'board 1 is refused');
  await rig.run(rig.board.pulse(board0(4), PULSE_MS, FRESH));
  t.equal(wire().at(-1), '02 04 31 03 3A', 'board 0 on the same bus is not');
});

t.test('never late: an unlock queued behind a query the board stops answering is dropped, not sent after it', async (t) => {
  const rig = makeRig(t, { fakeClock: true, options: { replyTimeoutMs: SHORT_TIMEOUT_MS } });
  const wire = await ready(rig);
  rig.fake.setSilent(0);
  const query = rig.board.readInputs(0).then(
    () => 'answered',
    (error: { code?: string }) => error.code,
  );
  const unlock = rig.board.pulse(board0(4), PULSE_MS, FRESH).then(
    () => 'sent',
    (error: { code?: string }) => error.code,
  );
  t.equal(await rig.run(query), 'BOARD_TIMEOUT');
  t.equal(await rig.run(unlock), 'BOARD_OFFLINE');
  t.same(wire(), [QUERY_0, QUERY_0, QUERY_0], 'three queries, no unlock after them');
  t.same(rig.fake.unlocks, []);
});

t.test('an unlock whose board last answered longer ago than the guard allows is refused', async (t) => {
  const rig = makeRig(t, { fakeClock: true });
  const wire = await ready(rig);
  await rig.run(sleep(rig.clock, 20));
  await t.rejects(rig.run(rig.board.pulse(board0(5), PULSE_MS, { answeredWithinMs: 5 })), { code: 'BOARD_OFFLINE', message: /last answered \d+ ms ago \(limit 5 ms\)/ });
  t.same(wire(), [], 'nothing on the wire');
  await rig.run(rig.board.readInputs(0));
  await rig.run(rig.board.pulse(board0(5), PULSE_MS, { answeredWithinMs: 1000 }));
  t.same(wire(), [QUERY_0, '02 05 31 03 3B']);
});

t.test('an unlock withdrawn while it waits in the queue is dropped at once; one already sent runs to its end', async (t) => {
  const rig = makeRig(t, { fakeClock: true, options: { replyTimeoutMs: SHORT_TIMEOUT_MS } });
  const wire = await ready(rig);
  rig.fake.setReplyDelay(SHORT_TIMEOUT_MS / 2); // a slow board: the query ahead holds the queue
  const order: string[] = [];
  const query = rig.board.readInputs(0).then(() => order.push('query answered'));
  const withdraw = new AbortController();
  const unlock = rig.board.pulse(board0(6), PULSE_MS, { answeredWithinMs: 60_000, signal: withdraw.signal }).catch((error: { code?: string }) => {
    order.push(`unlock ${error.code}`);
  });
  withdraw.abort();
  await rig.run(Promise.all([query, unlock]));
  t.same(order, ['unlock PULSE_CANCELLED', 'query answered'], 'the unlock was dropped before the query ahead of it ended');
  t.same(wire(), [QUERY_0], 'and never written');
  const sent = new AbortController();
  const running = rig.board.pulse(board0(6), PULSE_MS, { answeredWithinMs: 60_000, signal: sent.signal });
  await rig.run(sleep(rig.clock, PULSE_MS / 4));
  sent.abort();
  await rig.run(running);
  t.same(wire(), [QUERY_0, '02 06 31 03 3C'], 'an abort after sending changes nothing');
});

t.test('effectivePulse: the board applies its own pulse, whatever is asked', async (t) => {
  const rig = makeRig(t, { options: { boardPulseMs: 700, pulseSettleMs: 30 } });
  t.same(rig.board.effectivePulse(board0(0), 300), { onMs: 700, totalMs: 730 });
  t.same(rig.board.effectivePulse(board0(0), 1500), { onMs: 700, totalMs: 730 });
});

t.test('refuses what it does not have', async (t) => {
  const rig = makeRig(t);
  await rig.board.init();
  await t.rejects(rig.board.pulse(board0(16), PULSE_MS, FRESH), { code: 'INVALID_CHANNEL', message: /board 0 channel 16/ });
  await t.rejects(rig.board.pulse({ board: 1, channel: 3 }, PULSE_MS, FRESH), { code: 'INVALID_CHANNEL' }, 'unwired lock');
  await t.rejects(rig.board.readInputs(5), { code: 'INVALID_CHANNEL', message: /board 5/ });
  t.throws(
    () => makeRig(t, { wiring: { locks: [{ board: 10, channel: 0 }], doors: [] } }),
    { code: 'INVALID_CHANNEL' },
    'wiring outside the Kerong address space',
  );
});

t.test('close rejects a pending query with CLOSED and releases the port', async (t) => {
  const rig = makeRig(t, { fakeClock: true });
  await rig.run(rig.board.init());
  rig.fake.setSilent(0);
  const pending = t.rejects(rig.board.readInputs(0), { code: 'CLOSED', message: /^board 0 / });
  const queued = t.rejects(rig.board.readInputs(0), { code: 'CLOSED' });
  await rig.run(sleep(rig.clock, 10));
  const closing = rig.clock.now();
  await rig.run(rig.board.close());
  t.ok(rig.clock.now() - closing < REPLY_TIMEOUT_MS, 'without waiting for the timeout');
  await pending;
  await queued;
  t.notOk(rig.port.isOpen, 'port closed');
  await t.rejects(rig.run(rig.board.readInputs(0)), { code: 'CLOSED' });
  await t.rejects(rig.run(rig.board.init()), { code: 'CLOSED' });
  await rig.run(rig.board.close());
  t.pass('close twice is harmless');
});

t.test('close during init: init rejects CLOSED at once, and the driver stays closed', async (t) => {
  const rig = makeRig(t, { fakeClock: true });
  rig.fake.setSilent(1);
  const init = t.rejects(rig.board.init(), { code: 'CLOSED', message: /^board 1 / });
  await rig.run(sleep(rig.clock, 10));
  await rig.run(rig.board.close());
  await init;
  await t.rejects(rig.run(rig.board.pulse(board0(0), PULSE_MS, FRESH)), { code: 'CLOSED' });
});

t.test('a port fault fails the waiting command with BUS_ERROR', async (t) => {
  const rig = makeRig(t, { fakeClock: true });
  await rig.run(rig.board.init());
  rig.fake.setSilent(0);
  const pending = t.rejects(rig.board.readInputs(0), { code: 'BUS_ERROR', message: /^board 0 .*adapter unplugged/ });
  await rig.run(sleep(rig.clock, 10));
  rig.port.emit('error', new Error('adapter unplugged'));
  await pending;
});

t.test('a failing write is a BUS_ERROR naming the command, without waiting for a timeout', async (t) => {
  t.test('unlock', async (t) => {
    const rig = makeRig(t);
    await rig.board.init();
    rig.fake.failWrites();
    await t.rejects(rig.board.pulse(board0(0), PULSE_MS, FRESH), {
      code: 'BUS_ERROR',
      message: /^board 0 channel 0 command unlock \(0x31\): serial port \S+: write failed \(EIO/,
    });
    await t.rejects(rig.board.readInputs(0), { code: 'BUS_ERROR', message: /^board 0 channels 0-15 command query .*not open/ });
    t.notOk(rig.port.isOpen, 'serialport closed the port after the failed write');
  });
  t.test('query', async (t) => {
    const rig = makeRig(t, { fakeClock: true });
    await rig.run(rig.board.init());
    rig.fake.failWrites();
    const started = rig.clock.now();
    await t.rejects(rig.run(rig.board.readInputs(1)), { code: 'BUS_ERROR', message: /^board 1 .*write failed/ });
    t.ok(rig.clock.now() - started < REPLY_TIMEOUT_MS, 'no retries on a dead port, no reply timeout');
  });
});

t.test('transport errors', async (t) => {
  t.test('a port that cannot be opened: DRIVER_UNAVAILABLE', async (t) => {
    const port = new SerialPortMock({ path: '/dev/absent', baudRate: 19200, autoOpen: false });
    const transport = createSerialPortTransport({ port });
    await t.rejects(transport.open(), { code: 'DRIVER_UNAVAILABLE', message: /\/dev\/absent/ });
    await t.rejects(transport.write(Uint8Array.of(1)), { code: 'BUS_ERROR', message: /not open/ });
    await t.rejects(transport.discardInput(), { code: 'BUS_ERROR' });
    await transport.close();
    t.pass('close of a port never opened resolves');
  });
  t.test('a real path that does not exist: DRIVER_UNAVAILABLE', async (t) => {
    const transport = createSerialPortTransport({ path: '/dev/keylocker-no-such-port', baudRate: 19200 });
    t.equal(transport.path, '/dev/keylocker-no-such-port');
    await t.rejects(transport.open(), { code: 'DRIVER_UNAVAILABLE' });
    t.equal(transport.isOpen, false);
  });
});

runLockBoardContract(t, 'kerong (simulated bus)', async () => {
  const path = `/dev/fake-kerong-${++ports}`;
  SerialPortMock.binding.createPort(path, { echo: false, record: true });
  const port = new SerialPortMock({ path, baudRate: 19200, autoOpen: false });
  const fake = new FakeKerongBus({ boards: [0], lockedBit: 1, boardPulseMs: PULSE_MS });
  fake.attach(port);
  const wiring = { locks: sixteen, doors: sixteen };
  const board = new KerongBoard({
    transport: createSerialPortTransport({ port }),
    wiring,
    options: { lockedBit: 1, replyTimeoutMs: REPLY_TIMEOUT_MS, boardPulseMs: PULSE_MS, pulseSettleMs: 5 },
    clock: createSystemClock(),
    logger: createSilentLogger(),
  });
  return {
    board,
    wiring,
    setDoor: (door, open) => fake.setDoor(door, open),
    energised: () => fake.energised(),
    silence: (board, silent) => fake.setSilent(board, silent),
    invalidLock: board0(16),
    pulseMs: PULSE_MS,
    teardown: async () => {
      await board.close();
      fake.dispose();
      SerialPortMock.binding.reset();
    },
  };
});

const realPort = process.env.KEYLOCKER_TEST_PORT;
if (realPort) {
  // Bench only: this pulses real locks 1 and 16 of board KEYLOCKER_TEST_BOARD (default 0).
  const id = Number(process.env.KEYLOCKER_TEST_BOARD ?? 0);
  const channels = Array.from({ length: 16 }, (_, channel) => ({ board: id, channel }));
  const boardPulseMs = Number(process.env.KEYLOCKER_TEST_PULSE_MS ?? 500);
  const baudRate = Number(process.env.KEYLOCKER_TEST_BAUD ?? 19200);
  runLockBoardContract(t, `kerong on ${realPort}`, async () => {
    const board = new KerongBoard({
      transport: createSerialPortTransport({ path: realPort, baudRate }),
      wiring: { locks: channels, doors: channels },
      options: { lockedBit: process.env.KEYLOCKER_TEST_LOCKED_BIT === '0' ? 0 : 1, replyTimeoutMs: 1000, boardPulseMs },
      clock: createSystemClock(),
      logger: createSilentLogger(),
    });
    return {
      board,
      wiring: { locks: channels, doors: channels },
      invalidLock: { board: id, channel: 16 },
      pulseMs: boardPulseMs,
      teardown: () => board.close(),
    };
  });
} else {
  const skip = 'needs KEYLOCKER_TEST_PORT (a serial port with a Kerong board on it)';
  t.test('kerong on real hardware: LockBoard contract', { skip }, async () => {});
}
