/**
 * inventory.page (docs/protocol.md, "Inventory"): read-only, so it is not remembered (see
 * READ_ONLY_COMMANDS in registry.ts): a repeat is answered afresh.
 */
import { inventoryPage, inventorySummary } from '../inventory.js';
import type { CommandArgs } from '../messages.js';
import type { CommandContext, CommandFamily } from './context.js';

async function page(ctx: CommandContext, { after, limit }: CommandArgs['inventory.page']): Promise<Record<string, unknown>> {
  const { items, next } = await inventoryPage(ctx.tx, after, limit);
  // The summary reads every row: once, on the last page, where the back office compares it
  // with the digest of what it paged through.
  const summary = next === null ? await inventorySummary(ctx.tx) : null;
  return { items, next, count: summary?.count ?? null, digest: summary?.digest ?? null };
}

export const inventoryCommands: CommandFamily<'inventory.page'> = {
  'inventory.page': page,
};
