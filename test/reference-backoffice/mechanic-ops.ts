/**
 * The mechanic's tablet asking the locker for a key (service.ts is the facade): the request
 * (`mechanic.request`, for a key in the locker or a compartment to return one in) and the
 * scan of the locker's QR forwarded as `mechanic.open` with the tablet its credential proved.
 */
import { randomUUID } from 'node:crypto';
import { BackOfficeError } from './errors.js';
import type { ServiceContext } from './service-context.js';
import { mechanicSchema, parse, scanSchema } from './staff-input.js';
import { commands, reservations, timeline } from './store.js';

/**
 * A mechanic's (authenticated) tablet asks for the key of a work order that is in the locker
 * (retrieve), or for a compartment to return a finished car's key in (deposit, a booked pickup).
 */
export async function mechanicRequest(ctx: Pick<ServiceContext, 'db' | 'log' | 'now' | 'queue' | 'committed'>, input: unknown, tabletId: string): Promise<{ requestId: string; commandId: string }> {
  const { reservationId, purpose } = parse(mechanicSchema, input);
  const now = ctx.now();
  const requestId = randomUUID();
  const out = await ctx.db.transaction(async (tx) => {
    const r = await reservations.get(tx, reservationId);
    if (!r) throw new BackOfficeError('NOT_FOUND', 'no such reservation');
    if (purpose === 'retrieve' && (r.kind !== 'dropoff' || r.status !== 'deposited')) throw new BackOfficeError('CONFLICT', 'the key of this work order is not in the locker');
    if (purpose === 'deposit' && (r.kind !== 'pickup' || r.status !== 'booked')) throw new BackOfficeError('CONFLICT', 'this work order has no pickup waiting for its key');
    await timeline.add(tx, r.id, 'mechanic.requested', { tabletId, requestId, purpose }, now);
    const commandId = await ctx.queue(tx, { unitId: r.unitId, name: 'mechanic.request', args: { requestId, reservationId: r.id, purpose, tabletId }, reservationId: r.id }, now);
    return { requestId, commandId, unitId: r.unitId };
  });
  ctx.log.info({ reservationId, tabletId, requestId, purpose }, 'mechanic request');
  ctx.committed(out.unitId);
  return { requestId: out.requestId, commandId: out.commandId };
}

/** The tablet scanned the locker's QR: forwarded as mechanic.open with the tablet its credential proved. */
export async function mechanicScan(ctx: Pick<ServiceContext, 'db' | 'log' | 'now' | 'queue' | 'committed'>, input: unknown, tabletId: string): Promise<{ commandId: string }> {
  const { requestId, token } = parse(scanSchema, input);
  const now = ctx.now();
  const out = await ctx.db.transaction(async (tx) => {
    const asked = (await commands.recent(tx, 200, 'mechanic.request')).find((c) => (c.args as { requestId?: unknown }).requestId === requestId);
    if (!asked) throw new BackOfficeError('NOT_FOUND', 'no such request');
    const reservationId = String((asked.args as { reservationId?: unknown }).reservationId ?? '');
    await timeline.add(tx, reservationId, 'mechanic.scanned', { tabletId, requestId }, now);
    const commandId = await ctx.queue(tx, { unitId: asked.unitId, name: 'mechanic.open', args: { requestId, token, tabletId }, reservationId }, now);
    return { commandId, unitId: asked.unitId };
  });
  ctx.log.info({ tabletId, requestId }, 'mechanic scan forwarded');
  ctx.committed(out.unitId);
  return { commandId: out.commandId };
}
