import t from 'tap';
import { existsSync } from 'node:fs';
import { createSystemClock } from '../../kiosk/lib/clock.js';
import { Mcp23017Board, openI2CBus, type I2CBus } from '../../controller/drivers/mcp23017.js';
import type { BoardWiring, ChannelRef } from '../../controller/lock-board.js';
import { defaultCompartments } from '../../kiosk/config/load.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { runLockBoardContract } from '../contract/lock-board-contract.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { FakeI2CBus } from '../fakes/fake-i2c-bus.js';

/** A guard every board passes right after init: the board answered within the last minute. */
const FRESH = { answeredWithinMs: 60_000 };

// Register numbers written out from the datasheet (IOCON.BANK=0), independent of the driver.
const IODIRA = 0x00, IODIRB = 0x01, GPPUA = 0x0c, GPPUB = 0x0d, GPIOA = 0x12, OLATA = 0x14, OLATB = 0x15;

const compartments = defaultCompartments('mcp23017');
const defaultWiring: BoardWiring = {
  locks: compartments.map((c) => c.lock),
  doors: compartments.flatMap((c) => (c.door ? [c.door] : [])),
};

/** Let every pending microtask and fake I/O run (the fake clock does not move). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(options: { wiring?: BoardWiring; addresses?: number[] } = {}) {
  const bus = new FakeI2CBus(options.addresses ?? [0x20, 0x21]);
  const clock = createFakeClock();
  const board = new Mcp23017Board({ bus, wiring: options.wiring ?? defaultWiring, clock, logger: createSilentLogger() });
  return { bus, clock, board };
}

const initWrites = (addr: number, iodirA: number, iodirB: number, gppuA: number, gppuB: number) => [
  { addr, reg: IODIRA, value: iodirA },
  { addr, reg: IODIRB, value: iodirB },
  { addr, reg: GPPUA, value: gppuA },
  { addr, reg: GPPUB, value: gppuB },
];

t.test('init: every OLAT to 0 first, then IODIR and GPPU, nothing read', async (t) => {
  const { bus, board } = setup();
  await board.init();
  t.same(bus.writes, [
    { addr: 0x20, reg: OLATA, value: 0 },
    { addr: 0x20, reg: OLATB, value: 0 },
    { addr: 0x21, reg: OLATA, value: 0 },
    { addr: 0x21, reg: OLATB, value: 0 },
    // Default wiring: doors on pins 0-3 of each port (inputs, pulled up), locks on 4-7.
    ...initWrites(0x20, 0x0f, 0x0f, 0x0f, 0x0f),
    ...initWrites(0x21, 0x0f, 0x0f, 0x0f, 0x0f),
  ]);
  t.equal(bus.transfers.filter((x) => x.op === 'read').length, 0, 'no reads');
});

t.test('init never energises an output, whatever the chips were left in', async (t) => {
  const { bus, board } = setup();
  // 0x20: latches left high by another program while still inputs; written IODIR-first,
  // every lock would fire. 0x21: a run that crashed mid-pulse (pin 4 energised).
  bus.poke(0x20, OLATA, 0xff);
  bus.poke(0x20, OLATB, 0xff);
  bus.poke(0x21, IODIRA, 0x0f);
  bus.poke(0x21, OLATA, 0x10);
  t.same(bus.energised(), [{ board: 0x21, channel: 4 }], 'the crashed run left a lock on');
  await board.init();
  const key = (ref: ChannelRef): string => `${ref.board}/${ref.channel}`;
  const turnedOn = bus.energisedAfterWrite.flat().map(key).filter((on) => on !== '33/4');
  t.same(turnedOn, [], 'no write turned an output on');
  t.same(bus.writes.find((w) => w.addr === 0x21), { addr: 0x21, reg: OLATA, value: 0 }, "the crashed run's lock is the first thing 0x21 hears about");
  t.same(bus.energised(), []);
});

t.test('unused pins: bit-7 pins stay outputs driven low, the rest inputs without pull-up', async (t) => {
  const { bus, board } = setup({ wiring: { locks: [{ board: 0x20, channel: 0 }], doors: [{ board: 0x20, channel: 9 }] }, addresses: [0x20] });
  await board.init();
  t.same(bus.writes.slice(2), initWrites(0x20, 0x7e, 0x7f, 0x00, 0x02));
});

t.test('pulse writes OLAT with only that bit from its own copy, then 0; never reads', async (t) => {
  const { bus, clock, board } = setup();
  await board.init();
  // Doors open: GPIOA reads 0x0f. A read-modify-write would carry those bits into OLAT.
  t.equal(await bus.readByte(0x20, GPIOA), 0x0f, 'doors read high');
  const before = bus.transfers.length;
  const pulse = board.pulse({ board: 0x20, channel: 5 }, 30, FRESH);
  await settle();
  t.same(bus.energised(), [{ board: 0x20, channel: 5 }], 'GPA5 on');
  await clock.fake.tickAsync(29);
  t.same(bus.energised(), [{ board: 0x20, channel: 5 }], 'still on at 29 ms');
  await clock.fake.tickAsync(1);
  await pulse;
  t.same(bus.energised(), [], 'off at 30 ms');
  t.same(bus.transfers.slice(before), [
    { op: 'write', addr: 0x20, reg: OLATA, value: 0x20 },
    { op: 'write', addr: 0x20, reg: OLATA, value: 0x00 },
  ]);
});

t.test('a pulse on chip 0x21 pin 12 writes OLATB of 0x21', async (t) => {
  const { bus, clock, board } = setup();
  await board.init();
  const before = bus.writes.length;
  const pulse = board.pulse({ board: 0x21, channel: 12 }, 10, FRESH);
  await clock.fake.tickAsync(10);
  await pulse;
  t.same(bus.writes.slice(before), [
    { addr: 0x21, reg: OLATB, value: 0x10 },
    { addr: 0x21, reg: OLATB, value: 0x00 },
  ]);
});

t.test('bus error mid-pulse: output off, chip re-initialised, BUS_ERROR naming chip, pin, command', async (t) => {
  const { bus, clock, board } = setup();
  await board.init();
  const pulse = board.pulse({ board: 0x20, channel: 5 }, 30, FRESH);
  const outcome = pulse.then(() => null, (error: unknown) => error);
  await settle();
  t.same(bus.energised(), [{ board: 0x20, channel: 5 }], 'on');
  bus.failNext(1); // the write that ends the pulse fails; the output is still on
  const before = bus.writes.length;
  await clock.fake.tickAsync(30);
  const error = (await outcome) as { code?: string; message?: string };
  t.equal(error.code, 'BUS_ERROR');
  t.match(error.message, /chip 0x20/);
  t.match(error.message, /pin 5 \(GPA5\)/);
  t.match(error.message, /pulse/);
  t.match(error.message, /OLATA/);
  t.same(bus.energised(), [], 'output off');
  t.same(bus.writes.slice(before), [
    { addr: 0x20, reg: OLATA, value: 0 },
    { addr: 0x20, reg: OLATB, value: 0 },
    ...initWrites(0x20, 0x0f, 0x0f, 0x0f, 0x0f),
  ], 'the failed chip, and only it, re-initialised OLAT first');
});

t.test('a failed switch-on still writes the output off and does not wait out the pulse', async (t) => {
  const { bus, board } = setup();
  await board.init();
  bus.failRegister(0x21, OLATB, 1);
  const before = bus.writes.length;
  // The fake clock never moves: the promise can only settle if the driver skips the sleep.
  await t.rejects(board.pulse({ board: 0x21, channel: 12 }, 1000, FRESH), { code: 'BUS_ERROR', message: /chip 0x21.*pin 12 \(GPB4\)/ });
  t.same(bus.writes.slice(before, before + 1), [{ addr: 0x21, reg: OLATB, value: 0 }], 'off written first');
  t.same(bus.energised(), []);
});

t.test('chip gone mid-pulse: BUS_ERROR; every later command re-initialises it first', async (t) => {
  const { bus, clock, board } = setup();
  await board.init();
  const pulse = board.pulse({ board: 0x20, channel: 4 }, 20, FRESH);
  const outcome = pulse.then(() => null, (error: unknown) => error);
  await settle();
  bus.setAbsent(0x20);
  await clock.fake.tickAsync(20);
  t.equal(((await outcome) as { code?: string }).code, 'BUS_ERROR');
  await t.rejects(board.readInputs(0x20), { code: 'BUS_ERROR', message: /chip 0x20.*re-initialisation/ });
  t.same((await board.readInputs(0x21)).doorOpen.size, 8, 'the other chip still answers');
  bus.setAbsent(0x20, false);
  bus.resetChip(0x20);
  const before = bus.writes.length;
  const inputs = await board.readInputs(0x20);
  t.same(bus.writes.slice(before, before + 2), [
    { addr: 0x20, reg: OLATA, value: 0 },
    { addr: 0x20, reg: OLATB, value: 0 },
  ], 're-initialised, OLAT first');
  t.equal(bus.peek(0x20, IODIRA), 0x0f, 'IODIR restored');
  t.equal(inputs.doorOpen.size, 8);
});

t.test('read error: BUS_ERROR, then re-initialised and read correctly', async (t) => {
  const { bus, board } = setup();
  await board.init();
  bus.setInput(0x20, 1, 0);
  bus.failRegister(0x20, GPIOA, 1);
  await t.rejects(board.readInputs(0x20), { code: 'BUS_ERROR', message: /chip 0x20.*read GPIOA/ });
  bus.resetChip(0x20); // what a read error often means: the chip browned out
  const before = bus.transfers.length;
  const inputs = await board.readInputs(0x20);
  t.same(bus.transfers.slice(before).map((x) => `${x.op} ${x.reg}`), [
    `write ${OLATA}`, `write ${OLATB}`, `write ${IODIRA}`, `write ${IODIRB}`, `write ${GPPUA}`, `write ${GPPUB}`,
    `read ${GPIOA}`, `read ${GPIOA + 1}`,
  ]);
  t.equal(inputs.doorOpen.get(1), false, 'pin pulled to ground: closed');
  t.equal(inputs.doorOpen.get(0), true, 'pin floating on the pull-up: open');
  const again = bus.transfers.length;
  await board.readInputs(0x20);
  t.equal(bus.transfers.slice(again).filter((x) => x.op === 'write').length, 0, 'no re-init once healthy');
});

t.test('readInputs: 1 = open, 0 = closed, only wired door pins, no item sensors', async (t) => {
  const { bus, board } = setup();
  await board.init();
  for (const pin of [0, 2, 8, 10]) bus.setInput(0x21, pin, 0);
  for (const pin of [1, 3, 9, 11]) bus.setInput(0x21, pin, 1);
  const inputs = await board.readInputs(0x21);
  t.same([...inputs.doorOpen].sort(([a], [b]) => a - b), [
    [0, false], [1, true], [2, false], [3, true], [8, false], [9, true], [10, false], [11, true],
  ]);
  t.equal(inputs.itemPresent.size, 0);
  await t.rejects(board.readInputs(0x22), { code: 'INVALID_CHANNEL' });
});

t.test('wiring the chip cannot do is refused at construction', async (t) => {
  const make = (wiring: BoardWiring) => () =>
    new Mcp23017Board({ bus: new FakeI2CBus(), wiring, clock: createSystemClock(), logger: createSilentLogger() });
  const lock = (board: number, channel: number): ChannelRef => ({ board, channel });
  t.throws(make({ locks: [lock(0x20, 4)], doors: [lock(0x20, 7)] }), { code: 'INVALID_CHANNEL', message: /GPA7.*errata/ });
  t.throws(make({ locks: [lock(0x20, 4)], doors: [lock(0x21, 15)] }), { code: 'INVALID_CHANNEL', message: /GPB7.*errata/ });
  t.throws(make({ locks: [lock(0x20, 4)], doors: [lock(0x20, 4)] }), { code: 'INVALID_CHANNEL', message: /both/ });
  t.throws(make({ locks: [lock(0x28, 4)], doors: [] }), { code: 'INVALID_CHANNEL' });
  t.throws(make({ locks: [lock(0x20, 16)], doors: [] }), { code: 'INVALID_CHANNEL' });
  t.doesNotThrow(make({ locks: [lock(0x20, 7), lock(0x20, 15)], doors: [lock(0x20, 6)] }), 'locks on bit 7 are fine');
});

t.test('init with a chip absent: other chips still switched off, then BUS_ERROR; commands refused', async (t) => {
  const { bus, board } = setup();
  bus.setAbsent(0x20);
  await t.rejects(board.init(), { code: 'BUS_ERROR', message: /chip 0x20/ });
  t.same(bus.writes, [
    { addr: 0x21, reg: OLATA, value: 0 },
    { addr: 0x21, reg: OLATB, value: 0 },
  ]);
  await t.rejects(board.readInputs(0x21), { code: 'NOT_INITIALISED' });
  bus.setAbsent(0x20, false);
  await board.init();
  t.equal((await board.readInputs(0x20)).doorOpen.size, 8, 'works once the chip answers');
});

t.test('allOff never rejects; close switches off, closes the bus, then refuses', async (t) => {
  const { bus, clock, board } = setup();
  await board.init();
  const pulse = board.pulse({ board: 0x21, channel: 4 }, 50, FRESH);
  await settle();
  bus.setAbsent(0x20);
  await board.allOff();
  t.same(bus.energised(), [], 'the reachable chip switched off mid-pulse, the absent one skipped');
  await clock.fake.tickAsync(50);
  await pulse;
  bus.setAbsent(0x20, false);
  await board.close();
  t.ok(bus.closed, 'bus closed');
  t.same(bus.writes.slice(-2), [
    { addr: 0x21, reg: OLATA, value: 0 },
    { addr: 0x21, reg: OLATB, value: 0 },
  ], 'close wrote every OLAT off before closing');
  await t.rejects(board.init(), { code: 'CLOSED' });
  await t.rejects(board.readInputs(0x21), { code: 'CLOSED' });
  await board.close();
  await board.allOff();
});

t.test('close during a pulse: every OLAT off, the pulse rejects CLOSED without touching the bus', async (t) => {
  const { bus, clock, board } = setup();
  await board.init();
  const outcome = board.pulse({ board: 0x20, channel: 6 }, 40, FRESH).then(() => null, (error: unknown) => error);
  await settle();
  await board.close();
  t.same(bus.energised(), []);
  const transfers = bus.transfers.length;
  await clock.fake.tickAsync(40);
  t.equal(((await outcome) as { code?: string }).code, 'CLOSED');
  t.equal(bus.transfers.length, transfers, 'nothing sent after close');
});

t.test('openI2CBus turns every failure into a HardwareError', async (t) => {
  await t.rejects(openI2CBus(1, () => Promise.reject(new Error('i2c.node: invalid ELF header'))), {
    code: 'DRIVER_UNAVAILABLE',
    message: /i2c-bus cannot load.*ELF/,
  });
  const failing = (code: string) => async () => ({
    openPromisified: async () => ({
      readByte: async () => 0,
      writeByte: async () => undefined,
      close: async () => undefined,
      i2cFuncs: async () => {
        throw Object.assign(new Error(code), { code });
      },
    }),
  });
  const healthy = Object.assign(new FakeI2CBus(), { i2cFuncs: async () => ({}) });
  t.equal(await openI2CBus(1, async () => ({ openPromisified: async () => healthy })), healthy, 'a bus that answers is returned');
  await t.rejects(openI2CBus(1, failing('EACCES')), { code: 'DRIVER_UNAVAILABLE', message: /i2c group/ });
  await t.rejects(openI2CBus(1, failing('EIO')), { code: 'BUS_ERROR', message: /\/dev\/i2c-1/ });
  // The real module, on a bus no machine has: the native addon loads, the device is missing.
  t.notOk(existsSync('/dev/i2c-255'));
  await t.rejects(openI2CBus(255), { code: 'DRIVER_UNAVAILABLE', message: /no \/dev\/i2c-255/ });
});

runLockBoardContract(t, 'MCP23017 on the fake bus', async () => {
  const bus = new FakeI2CBus([0x20, 0x21]);
  const board = new Mcp23017Board({ bus, wiring: defaultWiring, clock: createSystemClock(), logger: createSilentLogger() });
  return {
    board,
    wiring: defaultWiring,
    setDoor: (door, open) => bus.setInput(door.board, door.channel, open ? 1 : 0),
    energised: () => bus.energised(),
    silence: (chip, silent) => bus.setAbsent(chip, silent),
    invalidLock: { board: 0x20, channel: 0 }, // a door pin
    pulseMs: 30,
    teardown: () => board.close(),
  };
});

const i2cBus = process.env.KEYLOCKER_TEST_I2C;
t.test('MCP23017 on real hardware', { skip: i2cBus ? false : 'set KEYLOCKER_TEST_I2C=<bus number, e.g. 1> on a bench Pi' }, async (t) => {
  runLockBoardContract(t, `MCP23017 on /dev/i2c-${i2cBus}`, async () => {
    const bus: I2CBus = await openI2CBus(Number(i2cBus));
    const board = new Mcp23017Board({ bus, wiring: defaultWiring, clock: createSystemClock(), logger: createSilentLogger() });
    return { board, wiring: defaultWiring, invalidLock: { board: 0x20, channel: 0 }, pulseMs: 300, teardown: () => board.close() };
  });
});
