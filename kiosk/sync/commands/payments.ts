/**
 * payment.status (docs/protocol.md, "Payments"). A payment is versioned like a reservation, and
 * bound to the reservation's amount so that a status meant for another invoice never opens a
 * door:
 * - when the reservation's own version states an amount due, every payment.status must carry
 *   exactly that amount and currency (AMOUNT_MISMATCH otherwise);
 * - a `paid` payment keeps its amount: the next version for another amount is AMOUNT_MISMATCH
 *   until a `refunded` or `cancelled` (of the paid amount) has been applied;
 * - otherwise (pending, cancelled, refunded, or nothing yet) a newer version may carry a new
 *   amount, and the locker holds that one.
 * - a `paid` for a reservation that requires payment while the locker holds no amount for it
 *   (the reservation states none and no earlier payment version gave one) is refused,
 *   CONFLICT with payment.refused `amount-unknown`: the locker cannot tell what was paid for,
 *   so it opens nothing; the back office states `amountDue`, or sends the amount first.
 * A refusal that could have opened a door (a stale `paid`, any amount mismatch) also writes a
 * `payment.refused` event, so the back office sees the attempt.
 *
 * The provider's states (requested, authorised, failed, expired) are kept as the payment's
 * detail (store/payment-details.ts, with the payment page's link); the gate status the pickup
 * decides on stays one of pending, paid, cancelled, refunded: only `paid` opens.
 */
import { journeyTxOf } from '../../store/journey-store.js';
import * as paymentDetails from '../../store/payment-details.js';
import { reservations, timeline } from '../../store/repositories.js';
import type { PaymentStatus } from '../../core/types.js';
import type { Tx } from '../../store/db.js';
import * as store from '../command-store.js';
import type { CommandArgs, PaymentStateWire } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';
import { requireReservation } from './shared.js';

/** The gate status each provider state stands for: only a captured payment (paid) opens. */
export const GATE_STATUS: Record<PaymentStateWire, PaymentStatus> = {
  pending: 'pending',
  requested: 'pending',
  authorised: 'pending',
  paid: 'paid',
  failed: 'cancelled',
  cancelled: 'cancelled',
  expired: 'cancelled',
  refunded: 'refunded',
};

async function paymentStatus(ctx: CommandContext, payment: CommandArgs['payment.status']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const r = await requireReservation(tx, payment.reservationId);
  const refused = (reason: 'stale' | 'amount-mismatch' | 'amount-unknown') => (t: Tx) =>
    journeyTxOf(t, ctx.ports.stamps)
      .event('payment.refused', { reservationId: r.id, version: payment.version, status: payment.status, reason, heldVersion: r.paymentVersion })
      .then(() => undefined);
  if (payment.version <= r.paymentVersion) {
    // A late or replayed "paid" is worth an alarm; a late "pending" is ordinary.
    if (payment.status === 'paid') await refused('stale')(tx);
    return { applied: false, reason: 'stale', version: r.paymentVersion };
  }
  const due = await store.amountDue(tx, r.id);
  if (due !== null && (payment.amount !== due.amount || payment.currency !== due.currency)) {
    throw new CommandFailure('AMOUNT_MISMATCH', `the payment is not for the amount reservation ${r.id} states as due`, refused('amount-mismatch'));
  }
  if (payment.status === 'paid' && r.paymentRequired && due === null && r.paymentAmount === null) {
    throw new CommandFailure('CONFLICT', `reservation ${r.id} has no amount this locker holds: state amountDue (or send the payment's amount) before paid`, refused('amount-unknown'));
  }
  if (r.paymentStatus === 'paid' && (payment.amount !== r.paymentAmount || payment.currency !== r.paymentCurrency)) {
    throw new CommandFailure('AMOUNT_MISMATCH', `reservation ${r.id} is paid for another amount: refund or cancel that payment first`, refused('amount-mismatch'));
  }
  const gate = GATE_STATUS[payment.status];
  await reservations.update(
    tx,
    r.id,
    { paymentStatus: gate, paymentAmount: payment.amount, paymentCurrency: payment.currency, paymentVersion: payment.version },
    now,
  );
  await paymentDetails.set(tx, r.id, { state: payment.status, link: payment.link ?? null, method: payment.method ?? null, receiptChannel: payment.receiptChannel ?? null, version: payment.version }, now);
  await timeline.append(tx, r.id, `payment-${payment.status}`, { version: payment.version }, now);
  ctx.afterCommit(() => ctx.ports.reservationChanged(r.id, 'payment'));
  return { applied: true, version: payment.version, status: payment.status };
}

/** receipt.link: shown on the top screen while that reservation's customer is there; nothing is kept. */
async function receiptLink(ctx: CommandContext, args: CommandArgs['receipt.link']): Promise<Record<string, unknown>> {
  await requireReservation(ctx.tx, args.reservationId);
  const receipts = ctx.ports.receipts;
  const shown = receipts?.accepts(args.reservationId) ?? false;
  if (receipts && shown) ctx.afterCommit(() => receipts.show(args.reservationId, args.link));
  return { shown };
}

export const paymentCommands: CommandFamily<'payment.status' | 'receipt.link'> = {
  'payment.status': paymentStatus,
  'receipt.link': receiptLink,
};
