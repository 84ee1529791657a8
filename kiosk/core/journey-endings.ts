/**
 * How a session ends: finishing at the door (then the receipt step or "thank you"), an
 * abandon with the door open, walking away, a cancelled reservation; a door opened and not
 * properly finished is settled (door-settlement.ts) before the screen goes back to welcome.
 */
import { DomainError } from '../errors.js';
import type { EndReason, JourneyContext } from './journey-context.js';
import { RECEIPT_STEP_MS, ReceiptStep } from './receipt-step.js';
import type { Session } from './session.js';
import { recordSettlement, settle, type Leaving, type Settlement } from './door-settlement.js';

export async function finish(ctx: JourneyContext, s: Session): Promise<void> {
  const compartment = s.compartment;
  const reservationId = s.reservationId;
  if (compartment === null || reservationId === null) throw new DomainError('BAD_ACTION', 'no compartment is open');
  const door = ctx.o.locks.doorState(compartment);
  if (door !== 'closed') throw new DomainError('DOOR_OPEN', 'close the door first');
  if (s.journey === 'dropoff') {
    await ctx.o.actuator.deposited(compartment, reservationId, { addedPhone: s.addedPhone, remark: s.remark });
  } else {
    await ctx.o.actuator.collected(compartment, reservationId);
  }
  ctx.log.info({ session: s.id, compartment, journey: s.journey }, 'journey finished');
  s.compartment = null;
  const paid = s.journey === 'pickup' ? await ctx.o.store.reservation(reservationId) : null;
  if (paid && ReceiptStep.offeredFor(paid)) {
    // A paid pickup: the receipt step, which moves on by itself.
    await ctx.payment.refresh(paid);
    ctx.reservation = paid;
    ctx.move('receiptOffered');
    ctx.scheduleStep(RECEIPT_STEP_MS, () => {
      if (ctx.session === s && s.step === 'receipt') {
        ctx.busy = ctx.busy.then(() => toDone(ctx, s)).then(() => ctx.changed()).catch(() => undefined);
      }
    });
    return;
  }
  toDone(ctx, s);
}

/** "Thank you", then back to welcome by itself. */
export function toDone(ctx: JourneyContext, s: Session): void {
  if (ctx.session !== s) return;
  ctx.move('finished');
  ctx.clearIdle();
  ctx.scheduleStep(ctx.o.doneMs, () => {
    if (ctx.session === s && s.step === 'done') void endQueued(ctx, 'finished');
  });
}

export async function chooseReceipt(ctx: JourneyContext, channel: 'sms' | 'email' | 'qr' | 'none', typed: string | null = null): Promise<void> {
  const s = ctx.requireStep('receipt');
  if (channel !== 'none') {
    const reservation = s.reservationId ? await ctx.o.store.reservation(s.reservationId) : null;
    if (!reservation) throw new DomainError('NOT_FOUND', 'the reservation is no longer valid');
    await ctx.receipt.request(reservation, channel, typed);
  }
  // A QR stays on this step (the top screen shows it) until the step's own timer moves on.
  if (channel !== 'qr') toDone(ctx, s);
}

/**
 * The customer confirmed the X. With the door of their compartment not seen closed, nothing
 * ends yet: "take your key back (leave the key in) and close door N"; the door closing (with
 * the item sensor, where fitted, agreeing) or the customer walking away ends it.
 */
export async function abandon(ctx: JourneyContext): Promise<void> {
  const s = ctx.requireSession();
  ctx.confirmAbandon = false;
  const atDoor = (s.step === 'place-key' || s.step === 'take-key') && s.compartment !== null;
  if (atDoor && ctx.o.locks.doorState(s.compartment as number) !== 'closed') {
    ctx.move('abandonOpen');
    ctx.log.info({ session: s.id, compartment: s.compartment }, 'abandoned with the door open: asking to close it');
    return;
  }
  return end(ctx, 'abandoned');
}

/** close-door: the door closed. It ends the session unless the item sensor shows the key where it should not be. */
export function closedAfterAbandon(ctx: JourneyContext, s: Session, compartment: number): void {
  const item = ctx.itemPresent(compartment);
  const asBefore = s.journey === 'dropoff' ? item !== true : item !== false;
  if (!asBefore) {
    ctx.log.info({ session: s.id, compartment }, 'door closed after abandon, but the item sensor disagrees: asking again');
    return;
  }
  void endQueued(ctx, 'abandoned');
}

/** What leaving now would record for the session's opened compartment; null when none was opened. */
export function settlementNow(ctx: JourneyContext, s: Session): Settlement | null {
  if (s.compartment === null || !s.doorOpened || !s.journey || !s.reservationId) return null;
  const leaving: Leaving = s.step === 'close-door' ? 'undo' : 'finish';
  return settle(s.journey, leaving, ctx.o.locks.doorState(s.compartment), ctx.itemPresent(s.compartment));
}

export function endQueued(ctx: JourneyContext, reason: EndReason): Promise<void> {
  const run = ctx.busy.then(async () => {
    await end(ctx, reason);
    ctx.changed();
  });
  ctx.busy = run.catch(() => undefined);
  return run;
}

/**
 * Back to welcome. A door that was opened in this session and not properly finished leaves
 * the compartment's content uncertain: it is quarantined and never handed to anyone else.
 */
export async function end(ctx: JourneyContext, reason: EndReason): Promise<void> {
  const s = ctx.session;
  ctx.clearTimers();
  ctx.confirmAbandon = false;
  ctx.idleWarning = null;
  ctx.helpOpen = false;
  ctx.error = null;
  if (!s) return;
  if (s.compartment !== null && s.doorOpened && s.reservationId && s.journey) {
    // Leaving at "place the key" / "take the key" finishes the step (a closed door tells the
    // truth); an abandon undoes it; either way only a truly unknown content is quarantined.
    const leaving: Leaving = s.step === 'close-door' || reason === 'abandoned' ? 'undo' : 'finish';
    const settlement = settle(s.journey, leaving, ctx.o.locks.doorState(s.compartment), ctx.itemPresent(s.compartment));
    const recorded = await recordSettlement(ctx.o.actuator, settlement, {
      compartment: s.compartment,
      reservationId: s.reservationId,
      journey: s.journey,
      reason,
      addedPhone: s.addedPhone,
      remark: s.remark,
    });
    ctx.log.info({ session: s.id, compartment: s.compartment, reason, leaving, settlement: recorded.kind }, 'session ended after its door opened');
  }
  if (s.reservationId && reason !== 'finished') {
    await ctx.o.store.transaction((tx) => tx.timeline(s.reservationId as string, 'session-ended', { reason, step: s.step }));
  }
  ctx.log.info({ session: s.id, reason, step: s.step }, 'session ended');
  ctx.session = null;
  ctx.reservation = null;
  ctx.payment.reset();
  ctx.receipt.sessionEnded();
  ctx.lang = ctx.o.defaultLanguage; // the next customer starts in the locker's language
  if (ctx.helpCall === 'taken') ctx.helpCall = 'none';
}
