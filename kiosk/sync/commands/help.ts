/** help.update (docs/protocol.md, "Help calls"). */
import * as store from '../command-store.js';
import type { CommandArgs } from '../messages.js';
import type { CommandContext, CommandFamily } from './context.js';

async function helpUpdate(ctx: CommandContext, { callId, state, by }: CommandArgs['help.update']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const current = await store.helpCallState(tx, callId);
  // Closed is final: a "taken" overtaken by its "closed" must not bring the banner back.
  if (current === 'closed') return { applied: false, reason: 'stale', state: current };
  await store.setHelpCall(tx, callId, state, by, now);
  const help = ctx.ports.help;
  if (help) ctx.afterCommit(() => help.setHelpCall(state === 'taken' ? 'taken' : 'none'));
  return { applied: true, state };
}

export const helpCommands: CommandFamily<'help.update'> = {
  'help.update': helpUpdate,
};
