/**
 * Every command the locker knows, by name. A new command is a handler in a family file (or a
 * new family file listed here); the type below makes TypeScript refuse a CommandName
 * (kiosk/sync/messages.ts) that has no handler, so a command added to the protocol cannot be
 * forgotten here. The schema (docs/schemas/command.json) and docs/protocol.md's command table
 * describe it to the back office.
 */
import type { CommandName } from '../messages.js';
import type { CommandHandler } from './context.js';
import { helpCommands } from './help.js';
import { inventoryCommands } from './inventory.js';
import { lockoutCommands } from './pins.js';
import { mechanicCommands } from './mechanic.js';
import { paymentCommands } from './payments.js';
import { quarantineCommands } from './quarantine.js';
import { remoteOpenCommands } from './remote-open.js';
import { reservationCommands } from './reservations.js';

export const COMMAND_HANDLERS: { readonly [N in CommandName]: CommandHandler<N> } = {
  ...reservationCommands,
  ...paymentCommands,
  ...helpCommands,
  ...mechanicCommands,
  ...inventoryCommands,
  ...lockoutCommands,
  ...quarantineCommands,
  ...remoteOpenCommands,
};

/**
 * Commands that change nothing: not recorded in applied_commands (a repeat is answered afresh),
 * so reading a large inventory does not fill the locker's disk with copies of it.
 */
export const READ_ONLY_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(['inventory.page']);

export function handlerFor(name: string): CommandHandler<CommandName> | undefined {
  return Object.hasOwn(COMMAND_HANDLERS, name) ? (COMMAND_HANDLERS[name as CommandName] as CommandHandler<CommandName>) : undefined;
}

/**
 * Commands applied together under one savepoint (commands/batch.ts), which may run a second time
 * after a rollback: their handlers change only the database and queue every other effect with
 * afterCommit. A snapshot is thousands of reservation.upsert. (A remote open or a lockout's
 * in-memory state would not bear running twice: those stay one savepoint each.)
 */
export const BATCHED_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(['reservation.upsert']);
