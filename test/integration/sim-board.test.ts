/**
 * The simulator is a LockBoard like the others: it passes the same contract, including the
 * pulse guard, and its fault switches fail the way a bus board does.
 */
import t from 'tap';
import { SimBoard } from '../../controller/drivers/sim.js';
import type { ChannelRef } from '../../controller/lock-board.js';
import { createSystemClock } from '../../kiosk/lib/clock.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { FRESH, runLockBoardContract } from '../contract/lock-board-contract.js';
import { createFakeClock } from '../fakes/fake-clock.js';

const channels: ChannelRef[] = Array.from({ length: 16 }, (_, channel) => ({ board: 0, channel }));

runLockBoardContract(t, 'simulator', async () => {
  const sim = new SimBoard({ clock: createSystemClock(), logger: createSilentLogger() });
  return {
    board: sim,
    wiring: { locks: channels, doors: channels },
    setDoor: (door, open) => (open ? sim.forceDoor(door.channel) : sim.closeDoor(door.channel)),
    energised: () => sim.energised(),
    silence: (_board, silent) => sim.setSilent(silent),
    invalidLock: { board: 0, channel: 16 },
    pulseMs: 30,
    teardown: () => sim.close(),
  };
});

t.test('silent: reads fail but the board still obeys a pulse it is sent (a broken transmit line)', async (t) => {
  const clock = createFakeClock();
  const sim = new SimBoard({ clock, logger: createSilentLogger() });
  await sim.init();
  sim.silenceAfterNextPulse();
  const pulse = sim.pulse({ board: 0, channel: 2 }, 100, FRESH);
  t.ok(sim.silent, 'silent from the moment the pulse started');
  t.same(sim.energised(), [{ board: 0, channel: 2 }], 'the lock was energised all the same');
  await clock.fake.tickAsync(100);
  await pulse;
  t.equal(sim.snapshot()[2]?.doorOpen, true, 'and the door sprang open');
  await t.rejects(sim.readInputs(0), { code: 'BOARD_TIMEOUT' }, 'nobody can see it');
  await t.rejects(sim.pulse({ board: 0, channel: 3 }, 100, FRESH), { code: 'BOARD_OFFLINE' }, 'and nothing more is pulsed');
  sim.setSilent(false);
  t.equal((await sim.readInputs(0)).doorOpen.get(2), true, 'back: the open door is seen');
});

t.test('failNextReads and failNextPulses fail exactly that many, then the board works', async (t) => {
  const clock = createFakeClock();
  const sim = new SimBoard({ clock, logger: createSilentLogger() });
  await sim.init();
  sim.failNextReads(2);
  await t.rejects(sim.readInputs(0), { code: 'BOARD_TIMEOUT' });
  await t.rejects(sim.readInputs(0), { code: 'BOARD_TIMEOUT' });
  await sim.readInputs(0);
  sim.failNextPulses(1);
  await t.rejects(sim.pulse({ board: 0, channel: 0 }, 50, FRESH), { code: 'BUS_ERROR' });
  await t.rejects(sim.pulse({ board: 0, channel: 0 }, 50, FRESH), { code: 'BOARD_OFFLINE' }, 'a failed pulse is a failed exchange');
  await sim.readInputs(0);
  const pulse = sim.pulse({ board: 0, channel: 0 }, 50, FRESH);
  await clock.fake.tickAsync(50);
  await pulse;
  t.equal(sim.pulseCount, 1);
});
