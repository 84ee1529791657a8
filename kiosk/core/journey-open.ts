/**
 * Opening a compartment for the customer at the screen: the one place a session's door is
 * pulsed (drop-off allocates one, pickup opens the reserved one), with its retry rule and the
 * commit that follows the pulse.
 */
import type { JourneyContext } from './journey-context.js';
import type { Session } from './session.js';
import type { Reservation } from './types.js';

const MAX_COMPARTMENT_TRIES = 2;

/** Open the compartment for this journey: allocate (drop-off) or the reserved one (pickup). */
export async function openFor(ctx: JourneyContext, s: Session, reservation: Reservation, options: { identifiedNow?: boolean } = {}): Promise<void> {
  ctx.changed(); // show "opening" while the lock works
  const actor = `customer:${s.id}`;
  let opened = false;
  for (let attempt = 1; attempt <= MAX_COMPARTMENT_TRIES && !opened; attempt += 1) {
    const result =
      s.journey === 'dropoff'
        ? await ctx.o.actuator.openNewFor(reservation, s.id, actor)
        : await ctx.o.actuator.openReservedFor(reservation, s.id, actor);
    if (result.ok) {
      s.compartment = result.compartment;
      s.doorOpened = true;
      opened = true;
    } else if (!result.anotherMayOpen || s.journey === 'pickup') {
      // Another compartment only after a lock that jammed with its board answering: after a
      // board that did not answer (before or after the pulse), the next would meet the same.
      break;
    }
  }
  // After the pulse: a door opened for this customer is the only thing that ends a PIN streak.
  if (opened || options.identifiedNow) {
    const now = ctx.o.wallClock();
    await ctx.o.store.transaction(async (tx) => {
      if (options.identifiedNow) await tx.timeline(reservation.id, 'identified', { session: s.id });
      if (opened) await ctx.o.pins.doorOpened(tx, reservation.id, now);
    });
  }
  if (opened) {
    ctx.move('opened');
    return;
  }
  s.compartment = null;
  ctx.move('openFailed');
  ctx.error = { code: 'OPEN_FAILED' };
}
