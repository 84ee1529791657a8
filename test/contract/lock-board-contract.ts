/**
 * The contract every LockBoard driver keeps (see controller/lock-board.ts). Each driver's test
 * runs it against its fake; the same suite runs against real hardware on a bench Pi when
 * KEYLOCKER_TEST_PORT (Kerong) or KEYLOCKER_TEST_I2C (MCP23017) is set.
 */
import type { Test } from 'tap';
import { isHardwareError } from '../../controller/errors.js';
import type { BoardWiring, ChannelRef, LockBoard } from '../../controller/lock-board.js';

export interface ContractHarness {
  /** A driver that has not been initialised yet. */
  board: LockBoard;
  wiring: BoardWiring;
  /** Make a door read open or closed. Absent on real hardware: those checks are skipped. */
  setDoor?: (door: ChannelRef, open: boolean) => void | Promise<void>;
  /** Lock outputs energised right now, as the fake sees them. Absent on real hardware. */
  energised?: () => ChannelRef[];
  /**
   * Make `board` stop answering (every read fails) or answer again. Absent on real hardware:
   * the checks that need a failing board are skipped there.
   */
  silence?: (board: number, silent: boolean) => void | Promise<void>;
  /** A ref the driver must refuse (outside the wiring or the board's range). */
  invalidLock: ChannelRef;
  /** Pulse length to use: short for fakes; a real lock's length on a bench. */
  pulseMs: number;
  teardown: () => Promise<void>;
}

/** A guard any board passes right after init or a read: it answered within the last minute. */
export const FRESH = { answeredWithinMs: 60_000 };

const same = (a: ChannelRef, b: ChannelRef): boolean => a.board === b.board && a.channel === b.channel;

async function rejectsWithCode(t: Test, promise: Promise<unknown>, code: string, message: string): Promise<void> {
  try {
    await promise;
    t.fail(`${message}: resolved, expected ${code}`);
  } catch (error) {
    t.ok(isHardwareError(error), `${message}: a HardwareError`);
    t.equal((error as { code?: string }).code, code, message);
  }
}

export function runLockBoardContract(t: Test, name: string, make: () => Promise<ContractHarness>): void {
  t.test(`${name}: LockBoard contract`, async (t) => {
    t.test('refuses commands before init', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      const [lock] = h.wiring.locks;
      if (!lock) throw new Error('wiring has no lock');
      await rejectsWithCode(t, h.board.pulse(lock, h.pulseMs, FRESH), 'NOT_INITIALISED', 'pulse before init');
      if (h.energised) t.same(h.energised(), [], 'nothing energised');
    });

    t.test('init leaves every output off', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      if (h.energised) t.same(h.energised(), [], 'no output on after init');
      await h.board.init();
      t.pass('init can be called again');
    });

    t.test('pulse energises exactly the one lock, then turns it off', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      for (const lock of [h.wiring.locks[0], h.wiring.locks.at(-1)]) {
        if (!lock) continue;
        const pulse = h.board.pulse(lock, h.pulseMs, FRESH);
        if (h.energised) {
          await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.floor(h.pulseMs / 3))));
          const on = h.energised();
          t.equal(on.length, 1, 'one output on during the pulse');
          t.ok(on[0] && same(on[0], lock), `the output on is ${lock.board}/${lock.channel}`);
        }
        await pulse;
        if (h.energised) t.same(h.energised(), [], 'off once pulse() resolves');
      }
    });

    t.test('reads every wired door, and follows the switch', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      for (const door of h.wiring.doors) {
        const inputs = await h.board.readInputs(door.board);
        t.type(inputs.doorOpen.get(door.channel), 'boolean', `door ${door.board}/${door.channel} has a state`);
      }
      const door = h.wiring.doors[0];
      if (h.setDoor && door) {
        await h.setDoor(door, true);
        t.equal((await h.board.readInputs(door.board)).doorOpen.get(door.channel), true, 'reads open');
        await h.setDoor(door, false);
        t.equal((await h.board.readInputs(door.board)).doorOpen.get(door.channel), false, 'reads closed');
      }
    });

    t.test('refuses a lock it does not have, energising nothing', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      await rejectsWithCode(t, h.board.pulse(h.invalidLock, h.pulseMs, FRESH), 'INVALID_CHANNEL', 'pulse of an unknown lock');
      if (h.energised) t.same(h.energised(), [], 'nothing energised');
    });

    t.test('pulse guard: a board that has not answered within the window gets nothing', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      const [lock] = h.wiring.locks;
      if (!lock) throw new Error('wiring has no lock');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await rejectsWithCode(t, h.board.pulse(lock, h.pulseMs, { answeredWithinMs: 5 }), 'BOARD_OFFLINE', 'last answer 20 ms old, window 5 ms');
      if (h.energised) t.same(h.energised(), [], 'nothing energised');
      await h.board.readInputs(lock.board);
      await h.board.pulse(lock, h.pulseMs, { answeredWithinMs: 5_000 });
      t.pass('after a read it is fresh again');
    });

    t.test('pulse guard: a board whose last read failed gets nothing until it answers again', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      const silence = h.silence;
      if (!silence) {
        t.pass('no way to silence a real board from here: skipped');
        return;
      }
      await h.board.init();
      const [lock] = h.wiring.locks;
      if (!lock) throw new Error('wiring has no lock');
      await silence(lock.board, true);
      try {
        await h.board.readInputs(lock.board);
        t.fail('a silent board answered');
      } catch (error) {
        t.ok(isHardwareError(error), 'the read failed with a HardwareError');
      }
      await rejectsWithCode(t, h.board.pulse(lock, h.pulseMs, FRESH), 'BOARD_OFFLINE', 'pulse after a failed read');
      if (h.energised) t.same(h.energised(), [], 'nothing energised');
      await silence(lock.board, false);
      await h.board.readInputs(lock.board);
      await h.board.pulse(lock, h.pulseMs, FRESH);
      t.pass('pulsed once the board answered again');
    });

    t.test('pulse guard: a withdrawn pulse is not sent', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      const [lock] = h.wiring.locks;
      if (!lock) throw new Error('wiring has no lock');
      const withdrawn = new AbortController();
      withdrawn.abort();
      await rejectsWithCode(t, h.board.pulse(lock, h.pulseMs, { ...FRESH, signal: withdrawn.signal }), 'PULSE_CANCELLED', 'aborted before sending');
      if (h.energised) t.same(h.energised(), [], 'nothing energised');
    });

    t.test('effectivePulse says what the lock gets, without I/O', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      const [lock] = h.wiring.locks;
      if (!lock) throw new Error('wiring has no lock');
      const timing = h.board.effectivePulse(lock, h.pulseMs);
      t.ok(timing.onMs > 0 && timing.totalMs >= timing.onMs, `on ${timing.onMs} ms, ${timing.totalMs} ms in all`);
    });

    t.test('allOff never rejects; close releases and later commands are refused', async (t) => {
      const h = await make();
      t.teardown(h.teardown);
      await h.board.init();
      await h.board.allOff();
      await h.board.close();
      if (h.energised) t.same(h.energised(), [], 'nothing energised after close');
      const [lock] = h.wiring.locks;
      if (lock) await rejectsWithCode(t, h.board.pulse(lock, h.pulseMs, FRESH), 'CLOSED', 'pulse after close');
      await h.board.allOff();
      t.pass('allOff after close resolves');
    });
    t.end();
  });
}
