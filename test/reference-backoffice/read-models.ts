/**
 * The read models for the screens: the staff page's state (units, today's reservations with
 * their timelines, help calls, recent commands and events, compartments) and the mechanic
 * tablet's (work orders and requests, no PINs, no contact data). Reads only.
 */
import { localDate } from '../../kiosk/core/dates.js';
import type { CommandArgs } from '../../kiosk/sync/messages.js';
import type { ServiceContext } from './service-context.js';
import type { StaffOps } from './staff-ops.js';
import { commands, events, helpCalls, reservations, timeline, units } from './store.js';
import { commandView, eventView, unitView, type StaffState, type TabletState } from './views.js';
import { workOrderTimelines } from './work-order-timeline.js';

/** What GET /api/state returns: the staff page's whole state. PINs are in it (demo staff page only); it is never logged. */
export async function staffState(ctx: Pick<ServiceContext, 'db' | 'now' | 'timeZone'>, staff: Pick<StaffOps, 'view'>): Promise<StaffState> {
  const now = ctx.now();
  const today = localDate(now, ctx.timeZone);
  const [unitRows, list, calls, recentCommands, recentEvents] = await Promise.all([
    units.list(ctx.db),
    reservations.listForDay(ctx.db, today),
    helpCalls.listActive(ctx.db, new Date(now.getTime() - 12 * 3600_000).toISOString()),
    commands.recent(ctx.db, 40),
    events.recent(ctx.db, 30),
  ]);
  const timelines = await timeline.forReservations(ctx.db, list.map((r) => r.id));
  return {
    now: now.toISOString(),
    today,
    timeZone: ctx.timeZone,
    units: unitRows.map((unit) => unitView(unit, now, recentEvents.find((e) => e.unitId === unit.unitId)?.at ?? null)),
    reservations: list.map(({ pinHash: _hash, ...r }) => ({ ...r, timeline: timelines.get(r.id) ?? [] })),
    helpCalls: calls,
    commands: recentCommands.map(commandView),
    events: recentEvents.map(eventView),
    staff: await staff.view(),
    workOrders: workOrderTimelines(list.map((r) => ({ ...r, timeline: timelines.get(r.id) ?? [] }))),
  };
}

/**
 * What the mechanic's tablet may see: today's work orders (those whose key is in the locker
 * first, with a key icon), the requests and what the locker answered to each scan; no PINs,
 * no contact data.
 */
export async function tabletState(ctx: Pick<ServiceContext, 'db' | 'now' | 'timeZone'>): Promise<TabletState> {
  const now = ctx.now();
  const today = localDate(now, ctx.timeZone);
  const [list, requests, scans] = await Promise.all([
    reservations.listForDay(ctx.db, today),
    commands.recent(ctx.db, 30, 'mechanic.request'),
    commands.recent(ctx.db, 60, 'mechanic.open'),
  ]);
  const workOrders = new Map(list.map((r) => [r.id, r.workOrder]));
  const timelines = await timeline.forReservations(ctx.db, list.map((r) => r.id));
  const keyIn = (r: (typeof list)[number]) => (r.kind === 'dropoff' && r.status === 'deposited') || (r.kind === 'pickup' && r.status === 'ready');
  return {
    now: now.toISOString(),
    timeZone: ctx.timeZone,
    keys: list
      .filter((r) => r.kind === 'dropoff' && r.status === 'deposited')
      .map((r) => ({ reservationId: r.id, workOrder: r.workOrder, plateDisplay: r.plateDisplay, compartmentId: r.compartmentId, unitId: r.unitId })),
    orders: list
      .filter((r) => r.status !== 'cancelled')
      .map((r) => ({
        reservationId: r.id,
        workOrder: r.workOrder,
        plateDisplay: r.plateDisplay,
        kind: r.kind,
        status: r.status,
        keyInLocker: keyIn(r),
        compartmentId: r.compartmentId,
        canRetrieve: r.kind === 'dropoff' && r.status === 'deposited',
        canReturn: r.kind === 'pickup' && r.status === 'booked',
      }))
      .sort((a, b) => Number(b.keyInLocker) - Number(a.keyInLocker) || a.workOrder.localeCompare(b.workOrder)),
    workOrders: workOrderTimelines(list.map((r) => ({ ...r, timeline: timelines.get(r.id) ?? [] }))),
    requests: requests.map((c) => {
      const args = c.args as Partial<CommandArgs['mechanic.request']>;
      const scan = scans.find((open) => (open.args as { requestId?: unknown }).requestId === args.requestId);
      return {
        requestId: String(args.requestId ?? ''),
        commandId: c.id,
        reservationId: String(args.reservationId ?? ''),
        workOrder: workOrders.get(String(args.reservationId ?? '')) ?? null,
        tabletId: String(args.tabletId ?? ''),
        purpose: args.purpose === 'deposit' ? 'deposit' : 'retrieve',
        createdAt: c.createdAt,
        sentAt: c.sentAt,
        answeredAt: c.answeredAt,
        ok: c.ok,
        result: c.result,
        scan: scan ? { at: scan.createdAt, ok: scan.ok, result: scan.result } : null,
      };
    }),
  };
}
