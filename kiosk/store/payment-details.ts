import type { Queryable, Tx } from './db.js';

/**
 * A payment's detail beside the reservation's gate status (migration 8): the provider's state,
 * the payment page's link (the top screen's QR) and the method's name. Replaced by every
 * applied payment version; it never decides whether a door opens (reservations.payment_status
 * does).
 */
export type PaymentState = 'pending' | 'requested' | 'authorised' | 'paid' | 'failed' | 'cancelled' | 'refunded' | 'expired';

export interface PaymentDetails {
  state: PaymentState;
  link: string | null;
  method: string | null;
  /** The customer's last receipt channel, as the back office remembers it. */
  receiptChannel: 'sms' | 'email' | 'qr' | null;
  version: number;
}

export async function get(q: Queryable, reservationId: string): Promise<PaymentDetails | null> {
  const row = await q.get<{ state: PaymentState; link: string | null; method: string | null; receipt_channel: PaymentDetails['receiptChannel']; version: number }>(
    'SELECT state, link, method, receipt_channel, version FROM payment_details WHERE reservation_id = ?',
    [reservationId],
  );
  return row ? { state: row.state, link: row.link, method: row.method, receiptChannel: row.receipt_channel, version: row.version } : null;
}

export async function set(tx: Tx, reservationId: string, details: PaymentDetails, now: Date): Promise<void> {
  await tx.run(
    `INSERT INTO payment_details (reservation_id, state, link, method, receipt_channel, version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (reservation_id) DO UPDATE SET state = excluded.state, link = excluded.link, method = excluded.method,
       receipt_channel = excluded.receipt_channel, version = excluded.version, updated_at = excluded.updated_at`,
    [reservationId, details.state, details.link, details.method, details.receiptChannel, details.version, now.toISOString()],
  );
}
