/**
 * The customer's steps at the bottom screen: identify (PIN, plate or phone lookup, lockout),
 * the journey switch, drop-off details, the payment step's outcome, help. Each acts on the
 * session's JourneyContext; doors open through journey-open.ts.
 */
import { randomUUID } from 'node:crypto';
import { DomainError, isDomainError } from '../errors.js';
import { cleanText } from './actions.js';
import { finish, end } from './journey-endings.js';
import type { JourneyContext } from './journey-context.js';
import { openFor } from './journey-open.js';
import { normalisePhone } from './normalise.js';
import type { Session } from './session.js';
import { mayChooseJourney } from './session-machine.js';
import type { IdentifyMode } from './session-view.js';
import type { Reservation } from './types.js';

export async function setIdentifyMode(ctx: JourneyContext, mode: IdentifyMode): Promise<void> {
  const s = ctx.requireSession();
  if (s.step === 'locked-out') await leaveLockout(ctx, s);
  if (s.step !== 'identify') {
    ctx.move('retryIdentify');
  }
  s.identifyMode = mode;
}

export async function back(ctx: JourneyContext): Promise<void> {
  const s = ctx.requireSession();
  if (s.step === 'locked-out') return leaveLockout(ctx, s);
  if (s.step === 'identify' && s.identifyMode !== 'pin') {
    s.identifyMode = 'pin';
    return;
  }
  ctx.move('retryIdentify');
}

export async function enterPin(ctx: JourneyContext, pin: string): Promise<void> {
  const s = ctx.requireStep('identify');
  let verdict;
  try {
    verdict = await ctx.identify.checkPin(s, pin);
  } catch (error) {
    // Two bookings share this PIN: the plate decides (the keyboard comes up with the message).
    if (isDomainError(error) && error.code === 'PIN_AMBIGUOUS') s.identifyMode = 'plate';
    throw error;
  }
  if (verdict.kind === 'locked') return lockOut(ctx, verdict.lockedForMs);
  if (verdict.kind === 'otherJourney') {
    s.switchOffer = verdict.reservation.id;
    throw new DomainError('PIN_OTHER_JOURNEY', `this PIN is for ${verdict.reservation.kind}`, { journey: verdict.reservation.kind });
  }
  await identified(ctx, s, verdict.reservation);
}

/** "This PIN is for picking up": the customer takes the offer; the PIN is not asked again. */
export async function switchJourney(ctx: JourneyContext): Promise<void> {
  const s = ctx.requireStep('identify');
  const offered = s.switchOffer;
  if (offered === null) throw new DomainError('BAD_ACTION', 'no other journey is on offer');
  s.switchOffer = null;
  const reservation = await ctx.identify.confirmSwitch(offered);
  await identified(ctx, s, reservation);
}

async function identified(ctx: JourneyContext, s: Session, reservation: Reservation): Promise<void> {
  // The PIN decides the journey ("I have a PIN", or a switch the customer accepted).
  if (s.journey !== reservation.kind) {
    if (!mayChooseJourney(s.step)) throw new DomainError('BAD_ACTION', `the journey cannot change at ${s.step}`);
    s.journey = reservation.kind;
  }
  s.reservationId = reservation.id;
  ctx.reservation = reservation;
  ctx.log.info({ session: s.id, reservation: reservation.id, journey: s.journey }, 'customer identified');
  const opensNow = s.journey === 'pickup' && !(reservation.paymentRequired && reservation.paymentStatus !== 'paid');
  // A pickup that opens now writes nothing before the door's intent (one commit before the
  // pulse); its "identified" line follows the pulse.
  if (!opensNow) await ctx.o.store.transaction((tx) => tx.timeline(reservation.id, 'identified', { session: s.id }));
  if (s.journey === 'dropoff') {
    ctx.move('identified');
    return;
  }
  if (!opensNow) {
    ctx.move('paymentNeeded');
    await ctx.payment.enter(reservation);
    return;
  }
  ctx.move('identified');
  s.compartment = reservation.compartmentId;
  await openFor(ctx, s, reservation, { identifiedNow: true });
}

/** "Try again" on the lockout screen: allowed as soon as the lockout is over (its time, or staff lifted it). */
async function leaveLockout(ctx: JourneyContext, s: Session): Promise<void> {
  const left = await ctx.o.pins.lockedFor(ctx.o.wallClock());
  if (left !== null) throw new DomainError('LOCKED_OUT', 'wait until the lockout ends', { retryAfterS: Math.ceil(left / 1000) });
  ctx.move('retryIdentify');
}

function lockOut(ctx: JourneyContext, ms: number): void {
  const s = ctx.requireSession();
  s.retryAfterS = Math.ceil(ms / 1000);
  ctx.move('lockedOut');
  ctx.error = { code: 'LOCKED_OUT', retryAfterS: s.retryAfterS };
  ctx.clearIdle();
  ctx.scheduleStep(ms, () => {
    if (ctx.session === s && s.step === 'locked-out') {
      ctx.move('retryIdentify');
      ctx.error = null;
      ctx.changed();
    }
  });
}

export async function lookup(ctx: JourneyContext, by: 'plate' | 'phone', value: string): Promise<void> {
  const s = ctx.requireStep('identify');
  const { matches, destinations } = await ctx.identify.lookup(s, by, value);
  s.lookupMatches = matches;
  s.destinations = destinations;
  ctx.move('lookedUp');
}

export async function sendPin(ctx: JourneyContext): Promise<void> {
  const s = ctx.requireStep('lookup-result');
  await ctx.identify.requestPinDelivery(s);
  ctx.move('pinSent');
  s.identifyMode = 'pin';
}

export function details(ctx: JourneyContext, phone: string | null, remark: string | null): void {
  const s = ctx.requireStep('details');
  if (phone !== null) {
    const normalised = normalisePhone(phone, ctx.o.defaultCountry);
    if (!normalised.ok) throw new DomainError('PHONE_INVALID', 'that does not look like a mobile number');
    s.addedPhone = normalised.e164;
  } else {
    s.addedPhone = null;
  }
  const text = remark === null ? '' : cleanText(remark);
  s.remark = text === '' ? null : text;
}

export async function confirm(ctx: JourneyContext): Promise<void> {
  const s = ctx.requireSession();
  switch (s.step) {
    case 'details':
      return confirmDetails(ctx, s);
    case 'payment':
      return confirmPayment(ctx, s);
    case 'place-key':
    case 'take-key':
      return finish(ctx, s);
    case 'done':
    case 'failed':
    case 'receipt': // "Finish" without a receipt
      return end(ctx, 'finished');
    default:
      throw new DomainError('BAD_ACTION', `nothing to confirm at ${s.step}`);
  }
}

async function confirmDetails(ctx: JourneyContext, s: Session): Promise<void> {
  const reservation = await ctx.freshReservation(s);
  if (reservation.status !== 'booked') throw new DomainError('ALREADY_USED', 'the key was already dropped off');
  ctx.move('confirmDetails');
  await openFor(ctx, s, reservation);
}

/** A payment status arrived while the customer waits at the payment step: paid opens the door; any other status is shown. */
export async function paymentChanged(ctx: JourneyContext, s: Session): Promise<void> {
  if (ctx.session !== s || s.step !== 'payment') return;
  try {
    const reservation = await ctx.freshReservation(s);
    // Each payment status starts the payment step's idle time again (bounded: none comes, it ends).
    ctx.armIdle();
    await ctx.payment.refresh(reservation);
    if (reservation.paymentStatus === 'paid') await confirmPayment(ctx, s);
  } catch (error) {
    if (!isDomainError(error)) throw error;
    ctx.error = { code: error.code, ...error.params };
  }
  ctx.changed();
}

async function confirmPayment(ctx: JourneyContext, s: Session): Promise<void> {
  const reservation = await ctx.freshReservation(s);
  if (reservation.paymentRequired && reservation.paymentStatus !== 'paid') {
    throw new DomainError(reservation.paymentStatus === 'pending' ? 'PAYMENT_PENDING' : 'PAYMENT_REQUIRED', 'payment is needed before the door opens');
  }
  ctx.move('paid');
  s.compartment = reservation.compartmentId;
  await openFor(ctx, s, reservation);
}

export async function callHelp(ctx: JourneyContext): Promise<void> {
  if (ctx.helpCall === 'requested' && ctx.helpCallId) return; // one call at a time
  const s = ctx.session;
  const callId = randomUUID();
  await ctx.o.store.transaction((tx) =>
    tx.event('help.requested', { callId, step: s?.step ?? 'welcome', journey: s?.journey ?? null, compartment: s?.compartment ?? null }),
  );
  ctx.helpCallId = callId;
  ctx.helpCall = 'requested';
  ctx.helpOpen = false; // the panel must not hide the "help is called" banner
  ctx.log.info({ session: s?.id ?? null, callId }, 'help requested');
}
