/**
 * help.update (docs/protocol.md, "Help calls"): the back office's answer to a help.requested.
 *
 *   requested --received--> received --taken--> taken --closed--> closed
 *        \________________taken___________/        /
 *         \_____________________closed____________/
 *
 * A state never goes back: an update that is not past the call's state is stale (a "taken"
 * overtaken by its "closed" must not bring the banner back). On screen: `received` changes
 * nothing ("we have called for help"), `taken` shows that someone is coming, `closed` removes
 * the banner (and Help can be pressed again). A call this locker never made is NOT_FOUND.
 */
import * as store from '../command-store.js';
import type { CommandArgs, HelpCallStateWire } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';

const RANK: Record<HelpCallStateWire | 'requested', number> = { requested: 0, received: 1, taken: 2, closed: 3 };

async function helpUpdate(ctx: CommandContext, { callId, state, by }: CommandArgs['help.update']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const call = await store.findHelpCall(tx, callId);
  if (call === null) throw new CommandFailure('NOT_FOUND', `help call ${callId} is not one this locker made`);
  const current = call === 'requested-only' ? 'requested' : call.state === 'requested' && call.receivedAt !== null ? 'received' : call.state;
  if (RANK[state] <= RANK[current]) return { applied: false, reason: 'stale', state: current === 'requested' ? 'received' : current };
  if (state === 'received') {
    await store.markHelpCallReceived(tx, callId, now);
    return { applied: true, state };
  }
  await store.setHelpCall(tx, callId, state, by, now);
  const help = ctx.ports.help;
  if (help) ctx.afterCommit(() => help.setHelpCall(state === 'taken' ? 'taken' : 'none'));
  return { applied: true, state };
}

export const helpCommands: CommandFamily<'help.update'> = {
  'help.update': helpUpdate,
};
