/**
 * A database with a little of everything, written by the real code over two boots: a drop-off
 * finished, a pickup collected, a pickup waiting, a drop-off abandoned after its door opened,
 * a forced door, door closings, some events acknowledged. Every invariant holds on it; the
 * checker's tests break it one rule at a time.
 */
import { outbox } from '../../kiosk/store/repositories.js';
import { addReadyPickup, addReservation, bootLocker, closeDoor } from './store-fixture.js';

export const HEALTHY = {
  deposited: 'r-deposited', // drop-off finished in compartment 1
  abandoned: 'r-abandoned', // drop-off abandoned after its door opened: compartment 2 quarantined
  booked: 'r-booked', // drop-off not yet started
  collected: 'p-collected', // pickup collected from compartment 16
  waiting: 'p-waiting', // pickup ready in compartment 15
  forcedCompartment: 10, // a free compartment whose door was forced: quarantined
} as const;

/** Builds it in `dir`; returns the file's path once the database is closed. */
export async function buildHealthyDb(dir: string): Promise<string> {
  const first = await bootLocker(dir);
  await addReservation(first, { id: HEALTHY.deposited });
  await addReservation(first, { id: HEALTHY.abandoned });
  await addReservation(first, { id: HEALTHY.booked });
  await addReadyPickup(first, HEALTHY.collected, 16);
  await addReadyPickup(first, HEALTHY.waiting, 15);

  const deposited = await first.store.reservation(HEALTHY.deposited);
  const opened = await first.actuator.openNewFor(deposited!, 'session-1', 'customer:session-1');
  if (!opened.ok) throw new Error('healthy db: drop-off did not open');
  await closeDoor(first, opened.compartment);
  await first.actuator.doorOpened(opened.compartment);
  await first.actuator.doorClosed(opened.compartment);
  await first.actuator.deposited(opened.compartment, HEALTHY.deposited, { addedPhone: null, remark: 'keys on the ring' });
  await first.store.transaction((tx) => tx.event('compartment.closed', { compartment: 3 }));
  await first.db.transaction((tx) => outbox.ackUpTo(tx, 3, new Date()));
  await first.stop();

  const second = await bootLocker(dir);
  const collected = await second.store.reservation(HEALTHY.collected);
  const pickup = await second.actuator.openReservedFor(collected!, 'session-2', 'customer:session-2');
  if (!pickup.ok) throw new Error('healthy db: pickup did not open');
  await closeDoor(second, 16);
  await second.actuator.collected(16, HEALTHY.collected);

  const abandoned = await second.store.reservation(HEALTHY.abandoned);
  const door = await second.actuator.openNewFor(abandoned!, 'session-3', 'customer:session-3');
  if (!door.ok) throw new Error('healthy db: second drop-off did not open');
  await second.actuator.abandonedAfterOpen(door.compartment, HEALTHY.abandoned, 'dropoff', 'abandoned');
  await second.actuator.forced(HEALTHY.forcedCompartment);
  for (const compartment of [4, 5, 6]) await second.store.transaction((tx) => tx.event('compartment.closed', { compartment }));
  await second.stop();
  return first.path;
}
