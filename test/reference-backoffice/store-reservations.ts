/** The master copy of the reservations a dealer system would hold, and each one's timeline. */
import type { Queryable, Tx } from '../../kiosk/store/db.js';
import { parseJson } from './store-rows.js';

// --- reservations (master copy) ---------------------------------------------------------

export type ReservationStatus = 'booked' | 'deposited' | 'retrieved' | 'ready' | 'collected' | 'cancelled';
export type PaymentStatus = 'none' | 'pending' | 'paid' | 'cancelled' | 'refunded';

export interface MasterReservation {
  id: string;
  unitId: string;
  code: string;
  kind: 'dropoff' | 'pickup';
  workOrder: string;
  plate: string;
  plateDisplay: string;
  driverName: string;
  phones: string[];
  email: string | null;
  appointmentDate: string;
  appointmentTime: string | null;
  /** The plain PIN: kept only so the demo staff page can show it. Never logged, never sent. */
  pin: string;
  pinHash: string;
  status: ReservationStatus;
  compartmentId: number | null;
  remark: string | null;
  /** A phone number the customer added at the locker when dropping off. */
  addedPhone: string | null;
  /** The locker reported too many wrong PINs; staff reset it. */
  pinLocked: boolean;
  paymentRequired: boolean;
  paymentStatus: PaymentStatus;
  paymentAmount: number | null;
  paymentCurrency: string | null;
  paymentVersion: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface ReservationRow {
  id: string;
  unit_id: string;
  code: string;
  kind: 'dropoff' | 'pickup';
  work_order: string;
  plate: string;
  plate_display: string;
  driver_name: string;
  phones: string;
  email: string | null;
  appointment_date: string;
  appointment_time: string | null;
  pin: string;
  pin_hash: string;
  status: ReservationStatus;
  compartment_id: number | null;
  remark: string | null;
  added_phone: string | null;
  pin_locked: number;
  payment_required: number;
  payment_status: PaymentStatus;
  payment_amount: number | null;
  payment_currency: string | null;
  payment_version: number;
  version: number;
  created_at: string;
  updated_at: string;
}

function toReservation(row: ReservationRow): MasterReservation {
  return {
    id: row.id,
    unitId: row.unit_id,
    code: row.code,
    kind: row.kind,
    workOrder: row.work_order,
    plate: row.plate,
    plateDisplay: row.plate_display,
    driverName: row.driver_name,
    phones: parseJson<string[]>(row.phones) ?? [],
    email: row.email,
    appointmentDate: row.appointment_date,
    appointmentTime: row.appointment_time,
    pin: row.pin,
    pinHash: row.pin_hash,
    status: row.status,
    compartmentId: row.compartment_id,
    remark: row.remark,
    addedPhone: row.added_phone,
    pinLocked: row.pin_locked === 1,
    paymentRequired: row.payment_required === 1,
    paymentStatus: row.payment_status,
    paymentAmount: row.payment_amount,
    paymentCurrency: row.payment_currency,
    paymentVersion: row.payment_version,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const reservations = {
  async insert(tx: Tx, r: MasterReservation): Promise<void> {
    await tx.run(
      `INSERT INTO reservations (id, unit_id, code, kind, work_order, plate, plate_display, driver_name, phones, email,
         appointment_date, appointment_time, pin, pin_hash, status, compartment_id, remark, added_phone, pin_locked,
         payment_required, payment_status, payment_amount, payment_currency, payment_version, version, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.id, r.unitId, r.code, r.kind, r.workOrder, r.plate, r.plateDisplay, r.driverName, JSON.stringify(r.phones), r.email,
        r.appointmentDate, r.appointmentTime, r.pin, r.pinHash, r.status, r.compartmentId, r.remark, r.addedPhone, r.pinLocked ? 1 : 0,
        r.paymentRequired ? 1 : 0, r.paymentStatus, r.paymentAmount, r.paymentCurrency, r.paymentVersion, r.version, r.createdAt, r.updatedAt,
      ],
    );
  },
  /** Writes every mutable field of `r` back (the caller read it in the same transaction). */
  async update(tx: Tx, r: MasterReservation): Promise<void> {
    await tx.run(
      `UPDATE reservations SET work_order = ?, plate = ?, plate_display = ?, driver_name = ?, phones = ?, email = ?,
         appointment_date = ?, appointment_time = ?, status = ?, compartment_id = ?, remark = ?, added_phone = ?,
         pin_locked = ?, payment_required = ?, payment_status = ?, payment_amount = ?, payment_currency = ?,
         payment_version = ?, version = ?, updated_at = ?
       WHERE id = ?`,
      [
        r.workOrder, r.plate, r.plateDisplay, r.driverName, JSON.stringify(r.phones), r.email,
        r.appointmentDate, r.appointmentTime, r.status, r.compartmentId, r.remark, r.addedPhone,
        r.pinLocked ? 1 : 0, r.paymentRequired ? 1 : 0, r.paymentStatus, r.paymentAmount, r.paymentCurrency,
        r.paymentVersion, r.version, r.updatedAt, r.id,
      ],
    );
  },
  async setPinHash(tx: Tx, id: string, pinHash: string): Promise<void> {
    await tx.run('UPDATE reservations SET pin_hash = ? WHERE id = ?', [pinHash, id]);
  },
  async get(q: Queryable, id: string): Promise<MasterReservation | null> {
    const row = await q.get<ReservationRow>('SELECT * FROM reservations WHERE id = ?', [id]);
    return row ? toReservation(row) : null;
  },
  async codeExists(q: Queryable, code: string): Promise<boolean> {
    return (await q.get('SELECT 1 AS one FROM reservations WHERE code = ?', [code])) !== undefined;
  },
  /**
   * Whether another active reservation (booked or ready: its PIN can still open a door) of the
   * unit has this PIN. The protocol asks a back office to keep PINs unique among those.
   */
  async activePinTaken(q: Queryable, unitId: string, pin: string, exceptId: string | null = null): Promise<boolean> {
    const row = await q.get(
      "SELECT 1 AS one FROM reservations WHERE unit_id = ? AND pin = ? AND status IN ('booked', 'ready') AND id IS NOT ? LIMIT 1",
      [unitId, pin, exceptId],
    );
    return row !== undefined;
  },
  /** Ids of the unit's reservations the locker reported locked after wrong PINs. */
  async pinLocked(q: Queryable, unitId: string): Promise<string[]> {
    const rows = await q.all<{ id: string }>('SELECT id FROM reservations WHERE unit_id = ? AND pin_locked = 1 ORDER BY id', [unitId]);
    return rows.map((row) => row.id);
  },
  /** A date's reservations (and any still open from earlier days), appointment order. */
  async listForDay(q: Queryable, date: string): Promise<MasterReservation[]> {
    const rows = await q.all<ReservationRow>(
      `SELECT * FROM reservations
       WHERE appointment_date = ? OR (appointment_date < ? AND status IN ('deposited', 'ready'))
       ORDER BY appointment_date, COALESCE(appointment_time, '99:99'), kind, code`,
      [date, date],
    );
    return rows.map(toReservation);
  },
  /** Reservations the locker should hold: not finished, from `fromDate` on. */
  async listLive(q: Queryable, unitId: string, fromDate: string): Promise<MasterReservation[]> {
    const rows = await q.all<ReservationRow>(
      `SELECT * FROM reservations WHERE unit_id = ? AND status IN ('booked', 'deposited', 'ready')
         AND (appointment_date >= ? OR status IN ('deposited', 'ready'))
       ORDER BY created_at, id`,
      [unitId, fromDate],
    );
    return rows.map(toReservation);
  },
  async count(q: Queryable): Promise<number> {
    return (await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM reservations'))?.n ?? 0;
  },
};

// --- timeline ---------------------------------------------------------------------------

export interface TimelineEntry {
  at: string;
  event: string;
  detail: Record<string, unknown>;
}

export const timeline = {
  async add(tx: Tx, reservationId: string, event: string, detail: Record<string, unknown>, at: Date | string): Promise<void> {
    await tx.run('INSERT INTO timeline (reservation_id, at, event, detail) VALUES (?, ?, ?, ?)', [
      reservationId,
      typeof at === 'string' ? at : at.toISOString(),
      event,
      JSON.stringify(detail),
    ]);
  },
  async forReservations(q: Queryable, ids: readonly string[]): Promise<Map<string, TimelineEntry[]>> {
    const result = new Map<string, TimelineEntry[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return result;
    const rows = await q.all<{ reservation_id: string; at: string; event: string; detail: string }>(
      `SELECT reservation_id, at, event, detail FROM timeline
       WHERE reservation_id IN (${ids.map(() => '?').join(', ')}) ORDER BY id`,
      ids,
    );
    for (const row of rows) {
      result.get(row.reservation_id)?.push({
        at: row.at,
        event: row.event,
        detail: parseJson<Record<string, unknown>>(row.detail) ?? {},
      });
    }
    return result;
  },
};
