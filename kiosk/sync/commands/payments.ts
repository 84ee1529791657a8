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
 */
import { reservations, timeline } from '../../store/repositories.js';
import * as store from '../command-store.js';
import type { CommandArgs } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';
import { requireReservation } from './shared.js';

async function paymentStatus(ctx: CommandContext, payment: CommandArgs['payment.status']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const r = await requireReservation(tx, payment.reservationId);
  if (payment.version <= r.paymentVersion) return { applied: false, reason: 'stale', version: r.paymentVersion };
  const due = await store.amountDue(tx, r.id);
  if (due !== null && (payment.amount !== due.amount || payment.currency !== due.currency)) {
    throw new CommandFailure('AMOUNT_MISMATCH', `the payment is not for the amount reservation ${r.id} states as due`);
  }
  if (r.paymentStatus === 'paid' && (payment.amount !== r.paymentAmount || payment.currency !== r.paymentCurrency)) {
    throw new CommandFailure('AMOUNT_MISMATCH', `reservation ${r.id} is paid for another amount: refund or cancel that payment first`);
  }
  await reservations.update(
    tx,
    r.id,
    { paymentStatus: payment.status, paymentAmount: payment.amount, paymentCurrency: payment.currency, paymentVersion: payment.version },
    now,
  );
  await timeline.append(tx, r.id, `payment-${payment.status}`, { version: payment.version }, now);
  ctx.afterCommit(() => ctx.ports.reservationChanged(r.id, 'payment'));
  return { applied: true, version: payment.version, status: payment.status };
}

export const paymentCommands: CommandFamily<'payment.status'> = {
  'payment.status': paymentStatus,
};
