/**
 * The mechanic journey's commands (docs/protocol.md, "Mechanics"):
 * - `mechanic.request`: a tablet asks for a key (retrieve) or a compartment (deposit); recorded,
 *   then the locker shows a one-time QR token for it on the top screen (core/mechanic-desk.ts);
 * - `mechanic.open`: the scanned token, forwarded with the tablet the back office authenticated.
 *   Answered `{ accepted: true, compartment }` when the door is about to open (its nonce is burnt
 *   and the intent written in this command's transaction; the pulse follows the commit), or
 *   `{ accepted: false, reason }` with a `mechanic.refused` event, committed like any result.
 * A locker without a mechanic desk (no screens) records requests and refuses every token.
 */
import type { MechanicDesk } from '../../core/mechanic-desk.js';
import { journeyTxOf, type StoreStamps } from '../../store/journey-store.js';
import { mechanicTxOf } from '../../store/mechanic-store.js';
import * as store from '../command-store.js';
import type { CommandArgs } from '../messages.js';
import type { CommandContext, CommandFamily } from './context.js';
import { requireReservation } from './shared.js';

/** The desk and the stamps its events get inside a command's transaction. */
export interface MechanicCommandPort {
  desk: MechanicDesk;
  stamps: StoreStamps;
}

async function mechanicRequest(ctx: CommandContext, args: CommandArgs['mechanic.request']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  await requireReservation(tx, args.reservationId);
  const fresh = await store.recordMechanicRequest(tx, { ...args, commandId: ctx.commandId }, now);
  const desk = ctx.ports.mechanic?.desk;
  if (fresh && desk) ctx.afterCommit(() => desk.requested({ ...args, state: 'pending' }));
  return fresh ? { recorded: true } : { recorded: true, duplicate: true };
}

async function mechanicOpen(ctx: CommandContext, args: CommandArgs['mechanic.open']): Promise<Record<string, unknown>> {
  const port = ctx.ports.mechanic;
  const jtx = journeyTxOf(ctx.tx, port?.stamps ?? { wallClock: () => ctx.now, monoClock: () => 0, bootId: 'commands' });
  if (!port) {
    await jtx.event('mechanic.refused', { requestId: args.requestId, tabletId: args.tabletId, reason: 'NOT_SERVABLE' });
    return { accepted: false, reason: 'NOT_SERVABLE' };
  }
  const decision = await port.desk.decideOpen(jtx, mechanicTxOf(ctx.tx), args);
  if (!decision.ok) return { accepted: false, reason: decision.reason };
  ctx.afterCommit(() => port.desk.opened(decision));
  return { accepted: true, compartment: decision.compartment, purpose: decision.purpose };
}

export const mechanicCommands: CommandFamily<'mechanic.request' | 'mechanic.open'> = {
  'mechanic.request': mechanicRequest,
  'mechanic.open': mechanicOpen,
};
