/**
 * What the staff and tablet pages are shown, and the reservation as the wire carries it:
 * never a PIN hash; contact data only where staff need it.
 */
import type { HelloMessage, CommandArgs, CommandName, ReservationWire } from '../../kiosk/sync/messages.js';
import type { StaffOpsView } from './staff-ops.js';
import type { Milestone } from './work-order-timeline.js';
import type { HelpCall, MasterReservation, StoredCommand, StoredEvent, TimelineEntry, Unit } from './store.js';

export interface StaffState {
  now: string;
  today: string;
  timeZone: string;
  units: UnitView[];
  reservations: (Omit<MasterReservation, 'pinHash'> & { timeline: TimelineEntry[] })[];
  helpCalls: HelpCall[];
  commands: CommandView[];
  events: EventView[];
  /** Compartments, alarms and help calls ignored per staff member (staff-ops.ts). */
  staff: StaffOpsView;
  /** Each work order's milestones (work-order-timeline.ts). */
  workOrders: Record<string, Milestone[]>;
}

export interface UnitView {
  unitId: string;
  linkState: Unit['linkState'];
  lastSeen: string | null;
  softwareVersion: string | null;
  clock: { wall: string; synchronised: boolean } | null;
  ackedSeq: number;
  nextSeq: number | null;
  /** Events the locker has written that the back office has not acknowledged: (nextSeq - 1) - ackedSeq. */
  outboxLag: number | null;
  lastEventAt: string | null;
  lastEventAgeS: number | null;
  compartments: HelloMessage['compartments'];
  /** The locker-wide PIN back-off the unit reported, until (its clock); null: none. Lifted with lockout.lift. */
  lockoutUntil: string | null;
}

/** A command as the pages show it: what it is about, never the PIN hash or contact data. */
export interface CommandView {
  id: string;
  unitId: string;
  name: CommandName;
  reservationId: string | null;
  about: Record<string, unknown>;
  createdAt: string;
  sentAt: string | null;
  sendCount: number;
  ok: boolean | null;
  result: Record<string, unknown> | null;
  answeredAt: string | null;
}

export interface EventView {
  unitId: string;
  seq: number;
  type: string;
  at: string;
  clockSynchronised: boolean;
  receivedAt: string;
  reservationId: string | null;
  compartment: number | null;
}

export interface TabletState {
  now: string;
  timeZone: string;
  keys: { reservationId: string; workOrder: string; plateDisplay: string; compartmentId: number | null; unitId: string }[];
  /** Today's work orders, those whose key is in the locker first. */
  orders: {
    reservationId: string;
    workOrder: string;
    plateDisplay: string;
    kind: 'dropoff' | 'pickup';
    status: string;
    keyInLocker: boolean;
    compartmentId: number | null;
    canRetrieve: boolean;
    canReturn: boolean;
  }[];
  /** Each work order's milestones, without names or contact data (work-order-timeline.ts). */
  workOrders: Record<string, Milestone[]>;
  requests: {
    requestId: string;
    commandId: string;
    reservationId: string;
    workOrder: string | null;
    tabletId: string;
    purpose: 'retrieve' | 'deposit';
    createdAt: string;
    sentAt: string | null;
    answeredAt: string | null;
    ok: boolean | null;
    result: Record<string, unknown> | null;
    /** The last scan forwarded for it (mechanic.open) and the locker's answer. */
    scan: { at: string; ok: boolean | null; result: Record<string, unknown> | null } | null;
  }[];
}


export function toWire(r: MasterReservation): ReservationWire {
  return {
    id: r.id,
    code: r.code,
    kind: r.kind,
    workOrder: r.workOrder,
    // As the back office wrote it (e.g. 'EL 12345'); the locker normalises it to match what customers type.
    plate: r.plateDisplay,
    driverName: r.driverName,
    phones: r.phones,
    email: r.email,
    appointmentDate: r.appointmentDate,
    appointmentTime: r.appointmentTime,
    pinHash: r.pinHash,
    compartmentId: r.compartmentId,
    paymentRequired: r.paymentRequired,
    // The invoice's amount, so a payment.status for another amount never opens the door.
    amountDue: r.paymentRequired && r.paymentAmount !== null && r.paymentCurrency !== null ? { amount: r.paymentAmount, currency: r.paymentCurrency } : null,
  };
}

export function paymentWire(r: MasterReservation): CommandArgs['payment.status'] {
  return {
    reservationId: r.id,
    status: r.paymentStatus === 'none' ? 'pending' : r.paymentStatus,
    amount: r.paymentAmount ?? 0,
    currency: r.paymentCurrency ?? 'NOK',
    version: r.paymentVersion,
  };
}

/**
 * `newestEventAt`: the newest event of the unit, if any. Its `at.clockSynchronised` is fresher than
 * the hello's clock when it came later (a locker that connected before NTP answered, then synced).
 */
export function unitView(unit: Unit, now: Date, newestEventAt: StoredEvent['at'] | null = null): UnitView {
  const lastEventAgeS = unit.lastEventAt === null ? null : Math.max(0, Math.round((now.getTime() - Date.parse(unit.lastEventAt)) / 1000));
  return {
    unitId: unit.unitId,
    linkState: unit.linkState,
    lastSeen: unit.lastSeen,
    softwareVersion: unit.lastHello?.softwareVersion ?? null,
    clock: clockOf(unit.lastHello?.clock ?? null, newestEventAt),
    ackedSeq: unit.ackedSeq,
    nextSeq: unit.nextSeq,
    outboxLag: unit.nextSeq === null ? null : Math.max(0, unit.nextSeq - 1 - unit.ackedSeq),
    lastEventAt: unit.lastEventAt,
    lastEventAgeS,
    compartments: unit.lastHello?.compartments ?? [],
    lockoutUntil: unit.lockoutUntil,
  };
}

export function commandView(c: StoredCommand): CommandView {
  const a = c.args;
  const about: Record<string, unknown> = {};
  if (c.name === 'reservation.upsert') {
    const r = a.reservation as Partial<ReservationWire> | undefined;
    Object.assign(about, { code: r?.code, kind: r?.kind, workOrder: r?.workOrder, version: a.version, compartmentId: r?.compartmentId });
  } else if (c.name === 'payment.status') {
    Object.assign(about, { status: a.status, amount: a.amount, currency: a.currency, version: a.version });
  } else if (c.name === 'reservation.cancel') {
    Object.assign(about, { version: a.version });
  } else if (c.name === 'help.update') {
    Object.assign(about, { callId: a.callId, state: a.state, by: a.by });
  } else if (c.name === 'lockout.lift') {
    Object.assign(about, { scope: a.scope });
  } else if (c.name === 'compartment.clear-quarantine') {
    Object.assign(about, { compartment: a.compartment, by: a.by });
  } else if (c.name === 'mechanic.request') {
    Object.assign(about, { requestId: a.requestId, tabletId: a.tabletId, purpose: a.purpose });
  }
  return {
    id: c.id,
    unitId: c.unitId,
    name: c.name,
    reservationId: c.reservationId,
    about,
    createdAt: c.createdAt,
    sentAt: c.sentAt,
    sendCount: c.sendCount,
    ok: c.ok,
    result: c.result,
    answeredAt: c.answeredAt,
  };
}

export function eventView(e: StoredEvent): EventView {
  return {
    unitId: e.unitId,
    seq: e.seq,
    type: e.type,
    at: e.at.wall,
    clockSynchronised: e.at.clockSynchronised,
    receivedAt: e.receivedAt,
    reservationId: str(e.payload.reservationId),
    compartment: num(e.payload.compartment),
  };
}

/** The plate as staff typed it, tidied: upper case, single spaces. */
export function displayPlate(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toUpperCase();
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}


function clockOf(hello: { wall: string; synchronised: boolean } | null, newest: StoredEvent['at'] | null): { wall: string; synchronised: boolean } | null {
  if (!hello) return null;
  if (!newest || Date.parse(newest.wall) < Date.parse(hello.wall)) return hello;
  return { wall: newest.wall, synchronised: newest.clockSynchronised };
}
