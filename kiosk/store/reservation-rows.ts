/**
 * A reservation as the `reservations` table holds it, and back: its row, its columns (who owns
 * which) and the values an INSERT binds (store/reservations.ts writes them).
 */
import type { PaymentStatus, Reservation, ReservationKind, ReservationStatus } from '../core/types.js';
import type { SqlValue } from './db.js';
import { parseJsonStringArray } from './json-columns.js';

/** A `reservations` row as SELECT * gives it. */
export interface ReservationRow {
  id: string;
  code: string;
  kind: ReservationKind;
  work_order: string;
  plate: string;
  plate_display: string;
  driver_name: string;
  phones: string;
  email: string | null;
  appointment_date: string;
  appointment_time: string | null;
  pin_hash: string;
  pin_index: string | null;
  status: ReservationStatus;
  compartment_id: number | null;
  remark: string | null;
  payment_required: number;
  payment_status: PaymentStatus;
  payment_amount: number | null;
  payment_currency: string | null;
  payment_version: number;
  version: number;
  failed_pin_attempts: number;
  pin_locked_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A row read back as the core's Reservation. */
export function toReservation(row: ReservationRow): Reservation {
  return {
    id: row.id,
    code: row.code,
    kind: row.kind,
    workOrder: row.work_order,
    plate: row.plate,
    plateDisplay: row.plate_display,
    driverName: row.driver_name,
    phones: parseJsonStringArray(row.phones, `reservations.phones of ${row.id}`),
    email: row.email,
    appointmentDate: row.appointment_date,
    appointmentTime: row.appointment_time,
    pinHash: row.pin_hash,
    pinIndex: row.pin_index,
    status: row.status,
    compartmentId: row.compartment_id,
    remark: row.remark,
    paymentRequired: row.payment_required === 1,
    paymentStatus: row.payment_status,
    paymentAmount: row.payment_amount,
    paymentCurrency: row.payment_currency,
    paymentVersion: row.payment_version,
    version: row.version,
    failedPinAttempts: row.failed_pin_attempts,
    pinLockedAt: row.pin_locked_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Columns the back office owns: an upsert of a newer version overwrites exactly these. */
export const BOOKING_COLUMNS = [
  'code', 'kind', 'work_order', 'plate', 'plate_display', 'driver_name', 'phones', 'email',
  'appointment_date', 'appointment_time', 'pin_hash', 'pin_index', 'payment_required', 'payment_amount',
  'payment_currency', 'version', 'updated_at',
] as const;

/** Columns the locker owns: written by an insert, afterwards only through `update`. */
export const LOCAL_COLUMNS = [
  'id', 'status', 'compartment_id', 'remark', 'payment_status', 'payment_version',
  'failed_pin_attempts', 'pin_locked_at', 'created_at',
] as const;

export type Column = (typeof BOOKING_COLUMNS)[number] | (typeof LOCAL_COLUMNS)[number];

/** The reservation as named parameters (`$column`) of an INSERT or UPDATE. */
export function toParams(r: Reservation): Record<`$${Column}`, SqlValue> {
  return {
    $id: r.id,
    $code: r.code,
    $kind: r.kind,
    $work_order: r.workOrder,
    $plate: r.plate,
    $plate_display: r.plateDisplay,
    $driver_name: r.driverName,
    $phones: JSON.stringify(r.phones),
    $email: r.email,
    $appointment_date: r.appointmentDate,
    $appointment_time: r.appointmentTime,
    $pin_hash: r.pinHash,
    $pin_index: r.pinIndex,
    $status: r.status,
    $compartment_id: r.compartmentId,
    $remark: r.remark,
    $payment_required: r.paymentRequired ? 1 : 0,
    $payment_status: r.paymentStatus,
    $payment_amount: r.paymentAmount,
    $payment_currency: r.paymentCurrency,
    $payment_version: r.paymentVersion,
    $version: r.version,
    $failed_pin_attempts: r.failedPinAttempts,
    $pin_locked_at: r.pinLockedAt,
    $created_at: r.createdAt,
    $updated_at: r.updatedAt,
  };
}

/** Every column an INSERT writes, in the order rowValues gives them. */
export const ALL_COLUMNS: readonly Column[] = [...LOCAL_COLUMNS, ...BOOKING_COLUMNS];

/** A reservation's values in ALL_COLUMNS' order, as toParams gives them. */
export function rowValues(r: Reservation): SqlValue[] {
  return [
    r.id,
    r.status,
    r.compartmentId,
    r.remark,
    r.paymentStatus,
    r.paymentVersion,
    r.failedPinAttempts,
    r.pinLockedAt,
    r.createdAt,
    r.code,
    r.kind,
    r.workOrder,
    r.plate,
    r.plateDisplay,
    r.driverName,
    JSON.stringify(r.phones),
    r.email,
    r.appointmentDate,
    r.appointmentTime,
    r.pinHash,
    r.pinIndex,
    r.paymentRequired ? 1 : 0,
    r.paymentAmount,
    r.paymentCurrency,
    r.version,
    r.updatedAt,
  ];
}
