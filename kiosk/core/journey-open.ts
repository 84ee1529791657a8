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
  const doorOpenedBefore = s.doorOpened;
  // The number on both screens when the pulse starts, not after it ends (300 ms later, once
  // the outcome is written): the customer looks for the door that is opening now.
  const onPulse = (compartment: number): void => {
    s.compartment = compartment;
    ctx.changed();
  };
  let opened = false;
  for (let attempt = 1; attempt <= MAX_COMPARTMENT_TRIES && !opened; attempt += 1) {
    const result =
      s.journey === 'dropoff'
        ? await ctx.o.actuator.openNewFor(reservation, s.id, actor, onPulse)
        : await ctx.o.actuator.openReservedFor(reservation, s.id, actor, onPulse);
    if (result.ok) {
      s.compartment = result.compartment;
      s.doorOpened = true;
      opened = true;
    }
    if (!result.ok) s.compartment = null; // not the door to look for any more
    if (!result.ok && (!result.anotherMayOpen || s.journey === 'pickup')) {
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
  // A door event of the compartment that failed to open (seen while its number was shown) is not this session's door.
  s.doorOpened = doorOpenedBefore;
  ctx.move('openFailed');
  ctx.error = { code: 'OPEN_FAILED' };
}
