/**
 * The payment desk's own tables and rows (payments.ts): payments with their provider state,
 * method and paid time; orders locked as "mobile payment"; receipts (kept RECEIPT_DAYS); each
 * customer's last receipt channel. Made with CREATE TABLE IF NOT EXISTS beside store.ts's
 * schema, so the rest of the back office is unchanged by them.
 */
import type { PaymentStateWire } from '../../kiosk/sync/messages.js';
import type { ProviderState } from './payment-provider.js';
import type { PaymentStatus } from './store.js';

/** The locker's wire state for each provider state. */
export const WIRE_STATE: Record<ProviderState, PaymentStateWire> = {
  created: 'requested',
  authorised: 'authorised',
  captured: 'paid',
  refused: 'failed',
  cancelled: 'cancelled',
  refunded: 'refunded',
  expired: 'expired',
};

/** The master copy's gate status (store.ts) for each wire state. */
export const GATE: Record<PaymentStateWire, PaymentStatus> = {
  pending: 'pending',
  requested: 'pending',
  authorised: 'pending',
  paid: 'paid',
  failed: 'cancelled',
  cancelled: 'cancelled',
  expired: 'cancelled',
  refunded: 'refunded',
};

/** Receipts are kept this long, then deleted (the locker never keeps one). */
export const RECEIPT_DAYS = 30;

export const PAYMENTS_SCHEMA = `
CREATE TABLE IF NOT EXISTS payments (
  id             TEXT PRIMARY KEY,
  reservation_id TEXT NOT NULL,
  unit_id        TEXT NOT NULL,
  provider_id    TEXT,
  method         TEXT NOT NULL,
  state          TEXT NOT NULL,
  amount         INTEGER NOT NULL,
  currency       TEXT NOT NULL,
  link           TEXT,
  phone_masked   TEXT,
  created_at     TEXT NOT NULL,
  paid_at        TEXT,
  updated_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_reservation ON payments (reservation_id, created_at);
CREATE TABLE IF NOT EXISTS payment_locks (
  reservation_id TEXT PRIMARY KEY,
  locked_at      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
  id                 TEXT PRIMARY KEY,
  reservation_id     TEXT NOT NULL,
  channel            TEXT NOT NULL,
  destination_masked TEXT,
  body               TEXT NOT NULL,
  created_at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS receipt_preferences (
  customer_key TEXT PRIMARY KEY,
  channel      TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
`;

export interface PaymentRecord {
  id: string;
  reservationId: string;
  unitId: string;
  providerId: string | null;
  /** vipps (link or push), vipps-manual (staff checked the workshop's number). */
  method: string;
  state: PaymentStateWire;
  amount: number;
  currency: string;
  link: string | null;
  phoneMasked: string | null;
  createdAt: string;
  paidAt: string | null;
  updatedAt: string;
}

export interface PaymentRow {
  id: string;
  reservation_id: string;
  unit_id: string;
  provider_id: string | null;
  method: string;
  state: PaymentStateWire;
  amount: number;
  currency: string;
  link: string | null;
  phone_masked: string | null;
  created_at: string;
  paid_at: string | null;
  updated_at: string;
}

export function toRecord(row: PaymentRow): PaymentRecord {
  return {
    id: row.id,
    reservationId: row.reservation_id,
    unitId: row.unit_id,
    providerId: row.provider_id,
    method: row.method,
    state: row.state,
    amount: row.amount,
    currency: row.currency,
    link: row.link,
    phoneMasked: row.phone_masked,
    createdAt: row.created_at,
    paidAt: row.paid_at,
    updatedAt: row.updated_at,
  };
}

