/**
 * mechanic.request: a tablet asks for a key (retrieve) or a compartment (deposit). Recorded
 * for the mechanic journey (a later issue), which serves it with a one-time QR token.
 */
import * as store from '../command-store.js';
import type { CommandArgs } from '../messages.js';
import type { CommandContext, CommandFamily } from './context.js';
import { requireReservation } from './shared.js';

async function mechanicRequest(ctx: CommandContext, args: CommandArgs['mechanic.request']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  await requireReservation(tx, args.reservationId);
  const fresh = await store.recordMechanicRequest(tx, { ...args, commandId: ctx.commandId }, now);
  return fresh ? { recorded: true } : { recorded: true, duplicate: true };
}

export const mechanicCommands: CommandFamily<'mechanic.request'> = {
  'mechanic.request': mechanicRequest,
};
