/**
 * The workshop's side of paying at the locker and of e-receipts (docs/protocol.md, "Payments",
 * "Receipts"): it answers the locker's payment.requested / payment.check-requested /
 * receipt.requested events, follows the provider (payment-provider.ts) and sends each change to
 * the locker as a newer `payment.status` version, with the payment page's link while it lives.
 *
 * Staff: cancel a request (the order is then locked as "mobile payment" until reopened), reopen
 * (a new payment page), refund, check with the provider, mark paid by hand after checking the
 * workshop's Vipps number (method vipps-manual). Each payment is recorded under its method's
 * name, with the time it was paid, for accounting.
 *
 * Its tables are its own (payments-store.ts, beside store.ts's), so the rest of the back office
 * is unchanged by them.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../kiosk/logging.js';
import type { Db, Queryable, Tx } from '../../kiosk/store/db.js';
import { maskEmail, maskPhone } from '../../kiosk/core/mask.js';
import type { CommandArgs, PaymentStateWire } from '../../kiosk/sync/messages.js';
import { BackOfficeError } from './errors.js';
import type { Messenger } from './messenger.js';
import type { PaymentProvider, ProviderPayment } from './payment-provider.js';
import { GATE, PAYMENTS_SCHEMA as SCHEMA, RECEIPT_DAYS, toRecord, WIRE_STATE, type PaymentRecord, type PaymentRow } from './payments-store.js';
import { reservations, timeline, type MasterReservation, type StoredEvent } from './store.js';

export { RECEIPT_DAYS, type PaymentRecord } from './payments-store.js';

export interface PaymentDeskOptions {
  db: Db;
  provider: PaymentProvider;
  messenger: Messenger;
  logger: Logger;
  now: () => Date;
  /** Stores a payment.status / receipt.link command for the unit in the caller's transaction. */
  queue: <N extends 'payment.status' | 'receipt.link'>(tx: Tx, command: { unitId: string; name: N; args: CommandArgs[N]; reservationId: string | null }, now: Date) => Promise<string>;
  /** After a commit that queued commands for the unit. */
  committed: (unitId: string) => void;
}

export interface PaymentsView {
  payments: (PaymentRecord & { plate: string; locked: boolean })[];
  locked: string[];
}

export class PaymentDesk {
  readonly #o: PaymentDeskOptions;
  #publicUrl = 'http://127.0.0.1';
  #ready: Promise<void> | null = null;
  #schemaMade = false;

  constructor(options: PaymentDeskOptions) {
    this.#o = options;
  }

  /** Where phones reach this back office (the payment and receipt pages' links). */
  setPublicUrl(url: string): void {
    this.#publicUrl = url.replace(/\/$/, '');
  }

  ready(): Promise<void> {
    this.#ready ??= this.#o.db.exec(SCHEMA).then(() => {
      this.#schemaMade = true;
    });
    return this.#ready;
  }

  // --- the locker's events --------------------------------------------------------------

  /** One event from the locker, in its transaction; returns how many commands it queued. */
  async onEvent(tx: Tx, event: StoredEvent, r: MasterReservation): Promise<number> {
    // Inside the event's transaction: the tables are made there when ready() has not run yet.
    if (!this.#schemaMade) {
      await tx.exec(SCHEMA);
      this.#schemaMade = true;
    }
    const p = event.payload;
    const now = this.#o.now();
    switch (event.type) {
      case 'payment.requested': {
        if (!r.paymentRequired || r.paymentStatus === 'paid' || r.paymentAmount === null || r.paymentCurrency === null) return 0;
        if (await this.#isLocked(tx, r.id)) {
          await timeline.add(tx, r.id, 'payment.request-refused', { reason: 'locked as mobile payment' }, now);
          return 0;
        }
        const push = p['method'] === 'vipps-push';
        const typed = typeof p['phone'] === 'string' ? p['phone'] : null;
        const phone = push ? (typed ?? r.phones[0] ?? null) : null;
        if (push && phone === null) return 0;
        if (!push) {
          // A page still alive is sent again rather than a second one made.
          const current = await this.current(tx, r.id);
          if (current && current.link && current.state === 'requested') return this.#publish(tx, r, current, current.state, now);
        }
        return this.#create(tx, r, push ? 'vipps-push' : 'link', phone, now);
      }
      case 'payment.check-requested': {
        const current = await this.current(tx, r.id);
        return current ? this.#sync(tx, r, current, now) : 0;
      }
      case 'receipt.requested':
        return this.#receipt(tx, r, String(p['channel']), typeof p['destination'] === 'string' ? p['destination'] : null, now);
      case 'customer.club-consent':
        // Recorded on the order; the club's own sign-up (Vipps login) is the workshop's system's.
        await timeline.add(tx, r.id, 'club-consent', { method: p['method'], consent: p['consent'] === true }, now);
        return 0;
      default:
        return 0;
    }
  }

  // --- the customer's phone (/pay/<id>) -------------------------------------------------

  /** The phone page's view: amount, workshop order, state; null for an unknown page. */
  async page(providerId: string): Promise<{ amount: number; currency: string; state: PaymentStateWire; workOrder: string } | null> {
    await this.ready();
    const record = await this.#byProviderId(this.#o.db, providerId);
    if (!record) return null;
    const r = await reservations.get(this.#o.db, record.reservationId);
    return { amount: record.amount, currency: record.currency, state: record.state, workOrder: r?.workOrder ?? '' };
  }

  /** The provider says the customer approved or refused (its webhook): authorised is captured at once. */
  async providerChanged(payment: ProviderPayment): Promise<void> {
    await this.ready();
    let unitId: string | null = null;
    let captured: ProviderPayment | null = null;
    await this.#o.db.transaction(async (tx) => {
      const record = await this.#byProviderId(tx, payment.id);
      const r = record ? await reservations.get(tx, record.reservationId) : null;
      if (!record || !r) return;
      unitId = r.unitId;
      const next = await this.#publish(tx, r, record, WIRE_STATE[payment.state], this.#o.now());
      if (next > 0 && payment.state === 'authorised') captured = payment;
    });
    if (unitId) this.#o.committed(unitId);
    // The workshop captures on authorisation (the key is handed over now, not shipped later).
    if (captured) await this.#capture((captured as ProviderPayment).id);
  }

  // --- staff ----------------------------------------------------------------------------

  /** Cancel the open request; the order is locked as "mobile payment" until reopened. */
  async cancel(reservationId: string): Promise<PaymentRecord> {
    return this.#staff(reservationId, async (tx, r, current, now) => {
      if (!current || !['requested', 'authorised', 'pending'].includes(current.state)) throw new BackOfficeError('CONFLICT', 'no open payment request to cancel');
      if (current.providerId) await this.#o.provider.cancel(current.providerId);
      await tx.run('INSERT INTO payment_locks (reservation_id, locked_at) VALUES (?, ?) ON CONFLICT DO NOTHING', [r.id, now.toISOString()]);
      await this.#publish(tx, r, current, 'cancelled', now);
    });
  }

  /** Staff send the payment link by SMS to the order's phone (a new page; the locker gets it too). */
  async sendLink(reservationId: string): Promise<PaymentRecord> {
    return this.#staff(reservationId, async (tx, r, current, now) => {
      if (r.paymentStatus === 'paid') throw new BackOfficeError('CONFLICT', 'the payment is already paid');
      if (await this.#isLocked(tx, r.id)) throw new BackOfficeError('CONFLICT', 'locked as mobile payment: reopen it first');
      const phone = r.phones[0];
      if (phone === undefined) throw new BackOfficeError('CONFLICT', 'the order has no mobile number');
      const live = current?.state === 'requested' && current.link ? current : null;
      if (!live) await this.#create(tx, r, 'link', null, now);
      const page = (await this.current(tx, r.id)) as PaymentRecord;
      await this.#o.messenger.send({ channel: 'sms', to: phone, subject: 'Payment link', body: `Pay ${formatMoney(page.amount, page.currency)} for ${r.workOrder}`, link: page.link, reservationId: r.id });
    });
  }

  /** Reopen a cancelled order: unlocked, and a new payment page for the locker's screen. */
  async reopen(reservationId: string): Promise<PaymentRecord> {
    return this.#staff(reservationId, async (tx, r, _current, now) => {
      if (!(await this.#isLocked(tx, r.id))) throw new BackOfficeError('CONFLICT', 'this order is not locked');
      await tx.run('DELETE FROM payment_locks WHERE reservation_id = ?', [r.id]);
      await this.#create(tx, r, 'link', null, now);
    });
  }

  async refund(reservationId: string): Promise<PaymentRecord> {
    return this.#staff(reservationId, async (tx, r, current, now) => {
      if (!current || current.state !== 'paid') throw new BackOfficeError('CONFLICT', 'only a paid payment can be refunded');
      if (current.providerId) await this.#o.provider.refund(current.providerId);
      await this.#publish(tx, r, current, 'refunded', now);
    });
  }

  /** Ask the provider how the payment stands; a change goes to the locker. */
  async check(reservationId: string): Promise<PaymentRecord> {
    return this.#staff(reservationId, async (tx, r, current, now) => {
      if (!current) throw new BackOfficeError('CONFLICT', 'no payment to check');
      await this.#sync(tx, r, current, now);
    });
  }

  /** The customer paid to the workshop's Vipps number and staff checked it: paid, method vipps-manual. */
  async markPaidManually(reservationId: string): Promise<PaymentRecord> {
    return this.#staff(reservationId, async (tx, r, current, now) => {
      if (r.paymentStatus === 'paid') throw new BackOfficeError('CONFLICT', 'the payment is already paid');
      if (current?.providerId && ['requested', 'authorised'].includes(current.state)) await this.#o.provider.cancel(current.providerId).catch(() => undefined);
      const record = await this.#insert(tx, r, { providerId: null, method: 'vipps-manual', link: null, phoneMasked: null }, now);
      await tx.run('DELETE FROM payment_locks WHERE reservation_id = ?', [r.id]);
      await this.#publish(tx, r, record, 'paid', now);
    });
  }

  /** The staff page's list: newest first, filtered by state (paid) and the day created. */
  async list(filter: { state?: string | undefined; date?: string | undefined } = {}): Promise<PaymentsView> {
    await this.ready();
    const rows = await this.#o.db.all<PaymentRow & { plate_display: string }>(
      `SELECT p.*, r.plate_display FROM payments p JOIN reservations r ON r.id = p.reservation_id
       WHERE (? IS NULL OR p.state = ?) AND (? IS NULL OR substr(p.created_at, 1, 10) = ?)
       ORDER BY p.created_at DESC LIMIT 200`,
      [filter.state ?? null, filter.state ?? null, filter.date ?? null, filter.date ?? null],
    );
    const locked = (await this.#o.db.all<{ reservation_id: string }>('SELECT reservation_id FROM payment_locks')).map((row) => row.reservation_id);
    return { payments: rows.map((row) => ({ ...toRecord(row), plate: row.plate_display, locked: locked.includes(row.reservation_id) })), locked };
  }

  /** A receipt's page (the QR link): the text, while it is kept. */
  async receipt(id: string): Promise<{ body: string; createdAt: string } | null> {
    await this.ready();
    const row = await this.#o.db.get<{ body: string; created_at: string }>('SELECT body, created_at FROM receipts WHERE id = ?', [id]);
    return row ? { body: row.body, createdAt: row.created_at } : null;
  }

  /** The newest payment of a reservation, outside any transaction. */
  async latest(reservationId: string): Promise<PaymentRecord | null> {
    await this.ready();
    return this.current(this.#o.db, reservationId);
  }

  /** The newest payment of a reservation. */
  async current(q: Queryable, reservationId: string): Promise<PaymentRecord | null> {
    const row = await q.get<PaymentRow>('SELECT * FROM payments WHERE reservation_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1', [reservationId]);
    return row ? toRecord(row) : null;
  }

  // --- inside ---------------------------------------------------------------------------

  async #staff(reservationId: string, work: (tx: Tx, r: MasterReservation, current: PaymentRecord | null, now: Date) => Promise<void>): Promise<PaymentRecord> {
    await this.ready();
    const now = this.#o.now();
    const { unitId, record } = await this.#o.db.transaction(async (tx) => {
      const r = await reservations.get(tx, reservationId);
      if (!r) throw new BackOfficeError('NOT_FOUND', 'no such reservation');
      if (!r.paymentRequired) throw new BackOfficeError('CONFLICT', 'this reservation has no payment');
      await work(tx, r, await this.current(tx, r.id), now);
      const after = await this.current(tx, r.id);
      if (!after) throw new BackOfficeError('CONFLICT', 'no payment');
      return { unitId: r.unitId, record: after };
    });
    this.#o.committed(unitId);
    return record;
  }

  async #create(tx: Tx, r: MasterReservation, method: 'link' | 'vipps-push', phone: string | null, now: Date): Promise<number> {
    const amount = r.paymentAmount ?? 0;
    const currency = r.paymentCurrency ?? 'NOK';
    const made = await this.#o.provider.create({ reference: r.id, amount, currency, method, phone });
    const link = `${this.#publicUrl}/pay/${made.id}`;
    const record = await this.#insert(tx, r, { providerId: made.id, method: 'vipps', link, phoneMasked: phone ? maskPhone(phone) : null }, now);
    if (phone !== null) {
      // The Vipps app's push, as the simulated messenger records it; the link stands for the app.
      await this.#o.messenger.send({ channel: 'vipps', to: phone, subject: 'Payment request', body: `Approve ${formatMoney(amount, currency)} for ${r.workOrder}`, link, reservationId: r.id });
    }
    this.#o.logger.info({ reservationId: r.id, method }, 'payment created');
    return this.#publish(tx, r, record, 'requested', now);
  }

  async #insert(tx: Tx, r: MasterReservation, fields: { providerId: string | null; method: string; link: string | null; phoneMasked: string | null }, now: Date): Promise<PaymentRecord> {
    const id = `p-${randomBytes(8).toString('hex')}`;
    const at = now.toISOString();
    await tx.run(
      `INSERT INTO payments (id, reservation_id, unit_id, provider_id, method, state, amount, currency, link, phone_masked, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)`,
      [id, r.id, r.unitId, fields.providerId, fields.method, r.paymentAmount ?? 0, r.paymentCurrency ?? 'NOK', fields.link, fields.phoneMasked, at, at],
    );
    const row = await tx.get<PaymentRow>('SELECT * FROM payments WHERE id = ?', [id]);
    return toRecord(row as PaymentRow);
  }

  /** The provider's view of the current payment, sent on when it changed. */
  async #sync(tx: Tx, r: MasterReservation, current: PaymentRecord, now: Date): Promise<number> {
    if (!current.providerId) return 0;
    let seen = await this.#o.provider.status(current.providerId);
    // Approved while its notice was lost: captured now, as the notice would have had it.
    if (seen.state === 'authorised') seen = await this.#o.provider.capture(current.providerId);
    const state = WIRE_STATE[seen.state];
    return state === current.state ? 0 : this.#publish(tx, r, current, state, now);
  }

  /** A new state: recorded, and a newer payment.status version for the locker (the link while the page lives). */
  async #publish(tx: Tx, r: MasterReservation, record: PaymentRecord, state: PaymentStateWire, now: Date): Promise<number> {
    const at = now.toISOString();
    const paidAt = state === 'paid' ? at : record.paidAt;
    await tx.run('UPDATE payments SET state = ?, paid_at = ?, updated_at = ? WHERE id = ?', [state, paidAt, at, record.id]);
    const fresh = (await reservations.get(tx, r.id)) ?? r;
    const next: MasterReservation = { ...fresh, paymentStatus: GATE[state], paymentVersion: fresh.paymentVersion + 1, updatedAt: at };
    await reservations.update(tx, next);
    await timeline.add(tx, r.id, 'payment.set', { status: state, method: record.method, amount: record.amount, currency: record.currency, version: next.paymentVersion }, now);
    const live = state === 'requested' || state === 'authorised';
    await this.#o.queue(
      tx,
      {
        unitId: r.unitId,
        name: 'payment.status',
        args: {
          reservationId: r.id,
          status: state,
          amount: record.amount,
          currency: record.currency,
          version: next.paymentVersion,
          link: live ? record.link : null,
          method: record.method,
          receiptChannel: asReceiptChannel(await this.preferredReceipt(tx, r)),
        },
        reservationId: r.id,
      },
      now,
    );
    return 1;
  }

  async #capture(providerId: string): Promise<void> {
    const captured = await this.#o.provider.capture(providerId);
    await this.providerChanged(captured);
  }

  async #receipt(tx: Tx, r: MasterReservation, channel: string, typed: string | null, now: Date): Promise<number> {
    const record = await this.current(tx, r.id);
    // Paid here, or paid before (at home, on the invoice): the master copy says which amount.
    const paid =
      record?.state === 'paid'
        ? record
        : r.paymentStatus === 'paid' && r.paymentAmount !== null
          ? { amount: r.paymentAmount, currency: r.paymentCurrency ?? 'NOK', paidAt: null, method: 'invoice' }
          : null;
    if (!paid) return 0;
    await tx.run('DELETE FROM receipts WHERE created_at < ?', [new Date(now.getTime() - RECEIPT_DAYS * 86_400_000).toISOString()]);
    const id = `rc-${randomBytes(12).toString('base64url')}`;
    const body = `Receipt ${r.workOrder}: ${formatMoney(paid.amount, paid.currency)} paid ${paid.paidAt ?? ''} (${paid.method}).`;
    const link = `${this.#publicUrl}/receipt/${id}`;
    const phone = r.phones[0] ?? null;
    // The address the customer typed at the locker, else the order's own.
    const destination = channel === 'qr' ? null : (typed ?? (channel === 'sms' ? phone : channel === 'email' ? r.email : null));
    if (channel !== 'qr' && destination === null) return 0;
    const masked = destination === null ? null : channel === 'email' ? maskEmail(destination) : maskPhone(destination);
    await tx.run('INSERT INTO receipts (id, reservation_id, channel, destination_masked, body, created_at) VALUES (?, ?, ?, ?, ?, ?)', [id, r.id, channel, masked, body, now.toISOString()]);
    const key = customerKey(r);
    if (key) await tx.run('INSERT INTO receipt_preferences (customer_key, channel, updated_at) VALUES (?, ?, ?) ON CONFLICT (customer_key) DO UPDATE SET channel = excluded.channel, updated_at = excluded.updated_at', [key, channel, now.toISOString()]);
    await timeline.add(tx, r.id, 'receipt.sent', { channel, to: masked }, now);
    if (channel === 'qr') {
      await this.#o.queue(tx, { unitId: r.unitId, name: 'receipt.link', args: { reservationId: r.id, link }, reservationId: r.id }, now);
      return 1;
    }
    await this.#o.messenger.send({ channel: channel === 'sms' ? 'sms' : 'email', to: destination as string, subject: `Receipt ${r.workOrder}`, body, link, reservationId: r.id });
    return 0;
  }

  /** The channel this customer chose last time, or null. */
  async preferredReceipt(q: Queryable, r: MasterReservation): Promise<string | null> {
    const key = customerKey(r);
    if (!key) return null;
    return (await q.get<{ channel: string }>('SELECT channel FROM receipt_preferences WHERE customer_key = ?', [key]))?.channel ?? null;
  }

  async #isLocked(q: Queryable, reservationId: string): Promise<boolean> {
    return (await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM payment_locks WHERE reservation_id = ?', [reservationId]))?.n === 1;
  }

  async #byProviderId(q: Queryable, providerId: string): Promise<PaymentRecord | null> {
    const row = await q.get<PaymentRow>('SELECT * FROM payments WHERE provider_id = ?', [providerId]);
    return row ? toRecord(row) : null;
  }
}

function asReceiptChannel(channel: string | null): 'sms' | 'email' | 'qr' | null {
  return channel === 'sms' || channel === 'email' || channel === 'qr' ? channel : null;
}

/** A customer is their first phone, else their e-mail: receipts remember their last channel by it. */
function customerKey(r: MasterReservation): string | null {
  return r.phones[0] ?? r.email ?? null;
}

export function formatMoney(amount: number, currency: string): string {
  return `${(amount / 100).toFixed(2)} ${currency}`;
}
