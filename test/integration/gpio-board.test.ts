import t from 'tap';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { createSystemClock } from '../../kiosk/lib/clock.js';
import { createOnoffFactory, GpioBoard, type GpioLevel, type OnoffGpioClass } from '../../controller/drivers/gpio.js';
import type { BoardWiring } from '../../controller/lock-board.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { runLockBoardContract } from '../contract/lock-board-contract.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { FakeGpio } from '../fakes/fake-gpio.js';

/** A guard every board passes right after init: the board answered within the last minute. */
const FRESH = { answeredWithinMs: 60_000 };

const wiring: BoardWiring = {
  locks: [{ board: 0, channel: 17 }, { board: 0, channel: 27 }],
  doors: [{ board: 0, channel: 22 }, { board: 0, channel: 23 }],
};

/** Let pending microtasks and fake I/O run (the fake clock does not move). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(options: { base?: number; doorOpenLevel?: GpioLevel } = {}) {
  const gpio = new FakeGpio({ base: options.base ?? 512 });
  const clock = createFakeClock();
  const board = new GpioBoard({
    factory: gpio.factory,
    base: gpio.base,
    wiring,
    doorOpenLevel: options.doorOpenLevel ?? 1,
    debounceMs: 20,
    clock,
    logger: createSilentLogger(),
  });
  return { gpio, clock, board };
}

t.test('init exports at base + BCM, outputs low before any input, inputs on both edges', async (t) => {
  const { gpio, board } = setup();
  await board.init();
  t.same(gpio.exports, [
    { sysfs: 529, bcm: 17, direction: 'low', edge: 'none', debounceTimeout: 0 },
    { sysfs: 539, bcm: 27, direction: 'low', edge: 'none', debounceTimeout: 0 },
    { sysfs: 534, bcm: 22, direction: 'in', edge: 'both', debounceTimeout: 20 },
    { sysfs: 535, bcm: 23, direction: 'in', edge: 'both', debounceTimeout: 20 },
  ]);
  t.same(gpio.writes, [], 'nothing written: exported low, never high');
  t.same(gpio.energised(), []);
});

t.test('Pi 5 base: BCM17 is sysfs 588', async (t) => {
  const { gpio, board } = setup({ base: 571 });
  await board.init();
  t.equal(gpio.exports[0]?.sysfs, 588);
});

t.test('init again drives existing outputs low and exports only what is missing', async (t) => {
  const { gpio, board } = setup();
  gpio.setBusy(23);
  await t.rejects(board.init(), { code: 'BUS_ERROR', message: /BCM23 \(sysfs 535\): init of door input.*EBUSY/ });
  t.same(gpio.exported(), [17, 22, 27], 'outputs were exported low first');
  await t.rejects(board.readInputs(0), { code: 'NOT_INITIALISED' });
  gpio.setBusy(23, false);
  await board.init();
  t.same(gpio.exports.map((e) => e.bcm), [17, 27, 22, 23]);
  t.same(gpio.writes, [
    { bcm: 17, value: 0, ok: true },
    { bcm: 27, value: 0, ok: true },
  ]);
});

t.test('a lock line that cannot be exported fails init, after the other outputs went low', async (t) => {
  const { gpio, board } = setup();
  gpio.setBusy(17);
  await t.rejects(board.init(), { code: 'BUS_ERROR', message: /BCM17 \(sysfs 529\): init of lock output.*EBUSY/ });
  t.same(gpio.exports.map((e) => `${e.bcm} ${e.direction}`), ['27 low'], 'no input exported while an output is unknown');
});

t.test('close never rejects, even when a line is already gone', async (t) => {
  const { gpio, board } = setup();
  await board.init();
  gpio.line(22)?.unexport(); // released behind the driver's back
  await board.close();
  t.same(gpio.exported(), []);
});

t.test('an edge on a door line emits inputsChanged(0)', async (t) => {
  const { gpio, board } = setup();
  await board.init();
  const changed = once(board.events, 'inputsChanged');
  gpio.setLevel(22, 1);
  t.same(await changed, [0]);
});

t.test('doorOpenLevel sets the polarity', async (t) => {
  for (const doorOpenLevel of [1, 0] as const) {
    const { gpio, board } = setup({ doorOpenLevel });
    await board.init();
    gpio.setLevel(22, 1);
    gpio.setLevel(23, 0);
    const { doorOpen, itemPresent } = await board.readInputs(0);
    t.same([...doorOpen], [[22, doorOpenLevel === 1], [23, doorOpenLevel === 0]], `open level ${doorOpenLevel}`);
    t.equal(itemPresent.size, 0);
  }
});

t.test('pulse writes 1, waits on the clock, writes 0', async (t) => {
  const { gpio, clock, board } = setup();
  await board.init();
  const pulse = board.pulse({ board: 0, channel: 27 }, 40, FRESH);
  await settle();
  t.same(gpio.energised(), [{ board: 0, channel: 27 }]);
  await clock.fake.tickAsync(39);
  t.same(gpio.energised(), [{ board: 0, channel: 27 }], 'still on at 39 ms');
  await clock.fake.tickAsync(1);
  await pulse;
  t.same(gpio.energised(), []);
  t.same(gpio.writes, [
    { bcm: 27, value: 1, ok: true },
    { bcm: 27, value: 0, ok: true },
  ]);
});

t.test('write error mid-pulse: still drives the line low (retrying), then BUS_ERROR', async (t) => {
  const { gpio, clock, board } = setup();
  await board.init();
  const outcome = board.pulse({ board: 0, channel: 17 }, 30, FRESH).then(() => null, (error: unknown) => error);
  await settle();
  gpio.failWrites(17, 1);
  await clock.fake.tickAsync(30);
  const error = (await outcome) as { code?: string; message?: string };
  t.equal(error.code, 'BUS_ERROR');
  t.match(error.message, /BCM17 \(sysfs 529\): pulse of BCM17 failed: EIO/);
  t.same(gpio.writes, [
    { bcm: 17, value: 1, ok: true },
    { bcm: 17, value: 0, ok: false },
    { bcm: 17, value: 0, ok: true },
  ]);
  t.same(gpio.energised(), []);
});

t.test('a failed switch-on still writes 0 and does not wait out the pulse', async (t) => {
  const { gpio, board } = setup();
  await board.init();
  gpio.failWrites(17, 1);
  // The fake clock never moves: the promise can only settle if the driver skips the sleep.
  await t.rejects(board.pulse({ board: 0, channel: 17 }, 1000, FRESH), { code: 'BUS_ERROR' });
  t.same(gpio.writes, [
    { bcm: 17, value: 1, ok: false },
    { bcm: 17, value: 0, ok: true },
  ]);
});

t.test('a line that will not go low stays reported; allOff gets it later', async (t) => {
  const { gpio, clock, board } = setup();
  await board.init();
  const outcome = board.pulse({ board: 0, channel: 17 }, 30, FRESH).then(() => null, (error: unknown) => error);
  await settle();
  gpio.failWrites(17, 2);
  await clock.fake.tickAsync(30);
  t.equal(((await outcome) as { code?: string }).code, 'BUS_ERROR');
  t.same(gpio.energised(), [{ board: 0, channel: 17 }], 'both attempts failed: still on');
  await board.allOff();
  t.same(gpio.energised(), []);
});

t.test('readInputs: a failed read is BUS_ERROR; wrong board or lock is INVALID_CHANNEL', async (t) => {
  const { gpio, board } = setup();
  await board.init();
  gpio.failReads(23);
  await t.rejects(board.readInputs(0), { code: 'BUS_ERROR', message: /BCM23 \(sysfs 535\): read of door input/ });
  t.equal((await board.readInputs(0)).doorOpen.size, 2, 'next read works');
  await t.rejects(board.readInputs(1), { code: 'INVALID_CHANNEL' });
  await t.rejects(board.pulse({ board: 0, channel: 22 }, 10, FRESH), { code: 'INVALID_CHANNEL' });
  await t.rejects(board.pulse({ board: 1, channel: 17 }, 10, FRESH), { code: 'INVALID_CHANNEL' });
  t.same(gpio.writes, []);
});

t.test('wiring GPIO cannot do is refused at construction', async (t) => {
  const make = (w: BoardWiring) => () =>
    new GpioBoard({ factory: new FakeGpio().factory, base: 512, wiring: w, doorOpenLevel: 1, debounceMs: 20, clock: createSystemClock(), logger: createSilentLogger() });
  t.throws(make({ locks: [{ board: 1, channel: 17 }], doors: [] }), { code: 'INVALID_CHANNEL' });
  t.throws(make({ locks: [{ board: 0, channel: 28 }], doors: [] }), { code: 'INVALID_CHANNEL' });
  t.throws(make({ locks: [{ board: 0, channel: 17 }], doors: [{ board: 0, channel: 17 }] }), { code: 'INVALID_CHANNEL', message: /both/ });
});

t.test('close drives outputs low, unexports every line, stops events, then refuses', async (t) => {
  const { gpio, clock, board } = setup();
  await board.init();
  const outcome = board.pulse({ board: 0, channel: 17 }, 30, FRESH).then(() => null, (error: unknown) => error);
  await settle();
  await board.close();
  t.same(gpio.energised(), [], 'low before release');
  t.same(gpio.exported(), [], 'every line unexported');
  let events = 0;
  board.events.on('inputsChanged', () => events++);
  gpio.setLevel(22, 1);
  await settle();
  t.equal(events, 0, 'no events after close');
  await clock.fake.tickAsync(30);
  t.equal(((await outcome) as { code?: string }).code, 'CLOSED', 'the interrupted pulse says why');
  t.same(gpio.writes.map((w) => `${w.bcm}=${w.value}`), ['17=1', '17=0', '27=0'], 'only close wrote 0; the released line is left alone');
  await t.rejects(board.init(), { code: 'CLOSED' });
  await t.rejects(board.readInputs(0), { code: 'CLOSED' });
  await board.allOff();
  await board.close();
});

t.test('createOnoffFactory: DRIVER_UNAVAILABLE where onoff cannot run, never a crash', async (t) => {
  t.test('on this machine', { skip: existsSync('/sys/class/gpio') ? 'this machine has sysfs GPIO' : false }, async (t) => {
    await t.rejects(createOnoffFactory(), { code: 'DRIVER_UNAVAILABLE', message: /sysfs GPIO is not available/ });
  });
  t.test('native module that cannot load', async (t) => {
    const load = () => Promise.reject(new Error('epoll.node: cannot open shared object file'));
    await t.rejects(createOnoffFactory(load), { code: 'DRIVER_UNAVAILABLE', message: /onoff cannot load.*epoll/ });
  });
  t.test('where sysfs GPIO is there, lines are made with what the driver asked for', async (t) => {
    const made: unknown[] = [];
    class Gpio {
      static readonly accessible = true;
      constructor(...args: unknown[]) {
        made.push(args);
      }
    }
    const factory = await createOnoffFactory(async () => ({ Gpio: Gpio as unknown as OnoffGpioClass }));
    factory(529, 'low', 'none', { debounceTimeout: 0 });
    t.same(made, [[529, 'low', 'none', { debounceTimeout: 0 }]]);
  });
  t.end();
});

runLockBoardContract(t, 'GPIO on fake lines', async () => {
  const gpio = new FakeGpio({ base: 512 });
  const board = new GpioBoard({ factory: gpio.factory, base: 512, wiring, doorOpenLevel: 1, debounceMs: 20, clock: createSystemClock(), logger: createSilentLogger() });
  return {
    board,
    wiring,
    setDoor: (door, open) => gpio.setLevel(door.channel, open ? 1 : 0),
    energised: () => gpio.energised(),
    // A door line that cannot be read: the Pi's own lines failing.
    silence: (_board, silent) => gpio.failReads(wiring.doors[0]?.channel ?? 22, silent ? Number.MAX_SAFE_INTEGER : 0),
    invalidLock: { board: 0, channel: 5 },
    pulseMs: 30,
    teardown: () => board.close(),
  };
});
