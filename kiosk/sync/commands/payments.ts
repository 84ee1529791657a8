/** payment.status (docs/protocol.md, "Payments"). */
import { reservations, timeline } from '../../store/repositories.js';
import type { CommandArgs } from '../messages.js';
import { CommandFailure, type CommandContext, type CommandFamily } from './context.js';
import { requireReservation } from './shared.js';

async function paymentStatus(ctx: CommandContext, payment: CommandArgs['payment.status']): Promise<Record<string, unknown>> {
  const { tx, now } = ctx;
  const r = await requireReservation(tx, payment.reservationId);
  if (payment.version <= r.paymentVersion) return { applied: false, reason: 'stale', version: r.paymentVersion };
  // Once the locker holds an amount, a status is only valid for that amount: a payment for
  // another invoice must never open the door.
  if (r.paymentAmount !== null && (payment.amount !== r.paymentAmount || (r.paymentCurrency !== null && payment.currency !== r.paymentCurrency))) {
    throw new CommandFailure('AMOUNT_MISMATCH', `the payment is not for the amount reservation ${r.id} holds`);
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
