/**
 * The mechanic journey on a fake clock: a temporary SQLite file, the lock bank on the
 * simulator, the command processor with a MechanicDesk, and a token maker that remembers the
 * tokens it made (the browser test reads them from the screen instead).
 */
import type { Test } from 'tap';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { MechanicDesk } from '../../kiosk/core/mechanic-desk.js';
import { MechanicTokens } from '../../kiosk/core/mechanic-token.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { journeyTxOf } from '../../kiosk/store/journey-store.js';
import { createMechanicStore } from '../../kiosk/store/mechanic-store.js';
import { compartments } from '../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage, CommandName, ResultMessage } from '../../kiosk/sync/messages.js';
import { createSimBank } from '../fakes/sim-bank.js';
import { resultShape, wire } from './command-fixture.js';
import { openTempDb } from './store.js';

export const LOCKER_KEY = new Uint8Array(32).fill(7);
export const UNIT_ID = 'locker-a';
export const BOOT_ID = 'boot-1';

export class RecordingTokens extends MechanicTokens {
  readonly issued: string[] = [];
  override async issue(request: Parameters<MechanicTokens['issue']>[0]): ReturnType<MechanicTokens['issue']> {
    const made = await super.issue(request);
    this.issued.push(made.token);
    return made;
  }
}

export async function mechanicRig(t: Test, options: { customerBusy?: () => boolean } = {}) {
  const { db } = await openTempDb(t);
  await db.transaction((tx) => compartments.ensure(tx, 16, new Date()));
  const { bank, clock, sim } = createSimBank();
  const started = bank.start();
  await clock.fake.tickAsync(10);
  await started;
  t.teardown(() => bank.stop());
  /** The wall clock: shifted at will (a Pi that booted with a wrong date). */
  const wall = { offsetMs: 0 };
  const wallClock = () => new Date(1_800_000_000_000 + clock.now() + wall.offsetMs);
  const monoClock = () => clock.now();
  const stamps = { wallClock, monoClock, bootId: BOOT_ID };
  const logger = createSilentLogger();
  const tokens = new RecordingTokens({ key: LOCKER_KEY, unitId: UNIT_ID, bootId: BOOT_ID, monoClock });
  const desk = new MechanicDesk({
    store: createMechanicStore(db, stamps),
    tokens,
    locks: bank,
    clock,
    wallClock,
    logger,
    customerBusy: options.customerBusy ?? (() => false),
    renderQr: async (text) => `<svg data-token-length="${text.length}"/>`,
  });
  t.teardown(() => desk.stop());
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger, wallClock, stamps, mechanic: desk });
  let commandSeq = 0;
  const run = async <N extends CommandName>(name: N, args: CommandArgs[N]): Promise<ResultMessage> => {
    commandSeq += 1;
    const result = await processor.apply({ v: 1, type: 'command', id: `cmd-${commandSeq}`, name, args } as CommandMessage);
    if (result.ok && !resultShape(name)(result.result)) t.fail(`${name} result ${JSON.stringify(result.result)} does not match result.json`);
    return result;
  };
  /** Lets the desk and the bank finish what they started (the clock is fake: time passes only here). */
  const settle = async (ms = 3000): Promise<void> => {
    for (let step = 0; step < ms / 100; step += 1) await clock.fake.tickAsync(100);
    await desk.settled();
  };
  /** A drop-off whose key is in `compartment` (deposited). */
  const depositedDropoff = async (id: string, compartment: number): Promise<void> => {
    await run('reservation.upsert', { reservation: wire({ id, code: `C-${id}` }), version: 1 });
    await db.transaction(async (tx) => {
      const j = journeyTxOf(tx, stamps);
      await j.updateReservation(id, { status: 'deposited', compartmentId: compartment });
      await j.setCompartment(compartment, 'occupied', id, null);
    });
  };
  const events = async (type: string): Promise<Record<string, unknown>[]> =>
    (await db.all<{ payload: string }>('SELECT payload FROM outbox WHERE type = ? ORDER BY seq', [type])).map((row) => JSON.parse(row.payload) as Record<string, unknown>);
  return { db, bank, clock, sim, wall, tokens, desk, run, settle, depositedDropoff, events, stamps };
}
