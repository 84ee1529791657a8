/**
 * compartment.clear-quarantine (docs/protocol.md, "Quarantine"): staff looked into a
 * quarantined compartment and put it back into service. The decision and its records (the
 * audit line, the compartment.quarantine-cleared event) are the core's
 * (kiosk/core/quarantine.ts clearQuarantine), written here in the command's transaction; the
 * door must be seen closed, read from the lock bank.
 */
import { clearQuarantine } from '../../core/quarantine.js';
import { isDomainError } from '../../errors.js';
import type { Tx } from '../../store/db.js';
import { journeyTxOf, type StoreStamps } from '../../store/journey-store.js';
import type { CommandArgs, DoorStateWire } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';

/** What the command needs beyond the transaction: the door's state now, and how events are stamped. */
export class QuarantineCommands {
  readonly #doorState: (compartment: number) => DoorStateWire;
  readonly #stamps: StoreStamps;

  constructor(options: { doorState: (compartment: number) => DoorStateWire; stamps: StoreStamps }) {
    this.#doorState = options.doorState;
    this.#stamps = options.stamps;
  }

  async clear(tx: Tx, args: CommandArgs['compartment.clear-quarantine']): Promise<Record<string, unknown>> {
    try {
      const cleared = await clearQuarantine(journeyTxOf(tx, this.#stamps), args, this.#doorState(args.compartment));
      return { applied: true, ...cleared };
    } catch (error) {
      if (!isDomainError(error)) throw error;
      switch (error.code) {
        case 'NOT_FOUND':
          throw new CommandFailure('NOT_FOUND', error.message);
        case 'BAD_ACTION':
          throw new CommandFailure('SCHEMA', error.message);
        default: // NOT_QUARANTINED, DOOR_OPEN
          throw new CommandFailure('CONFLICT', error.message);
      }
    }
  }
}

async function clear(ctx: CommandContext, args: CommandArgs['compartment.clear-quarantine']): Promise<Record<string, unknown>> {
  return ctx.ports.quarantine.clear(ctx.tx, args);
}

export const quarantineCommands: CommandFamily<'compartment.clear-quarantine'> = {
  'compartment.clear-quarantine': clear,
};
