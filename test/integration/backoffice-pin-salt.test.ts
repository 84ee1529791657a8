/**
 * Issue 13 at the reference back office: a unit's published PIN salt (hello.pinHashing) is used
 * for every new reservation, and live ones made before it are rehashed at the hello, so the
 * locker finds every PIN by index.
 */
import t from 'tap';
import { indexOfHash, newUnitPinHashing, verifyPin } from '../../kiosk/core/pin.js';
import type { ReservationWire } from '../../kiosk/sync/messages.js';
import { FakeLocker, UNIT, hello, start, token, unitKeys } from '../helpers/fake-locker.js';

t.test("issue 13: the unit's published salt is used for new reservations, and live ones are rehashed at hello", async (t) => {
  const { bo } = await start(t);
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  const before = await bo.service.createReservation({ kind: 'dropoff', workOrder: 'WO-1', plate: 'AB 12345', driverName: 'Kari Nordmann' });
  const unit = newUnitPinHashing({ N: 2 ** 10, r: 8, p: 1 });
  t.equal(indexOfHash(before.pinHash, unit), null, 'before the hello: a legacy hash (random salt)');

  const locker = await FakeLocker.connect(bo.lockerUrl, await token(keys));
  t.teardown(() => locker.close());
  await locker.hello(hello({ pinHashing: unit }));
  // Commands follow the welcome (an inventory page, the upserts): the newest upsert of `before` is the rehash.
  let rehashed: ReservationWire | null = null;
  for (let i = 0; i < 10 && rehashed === null; i += 1) {
    const frame = await locker.next();
    if (frame.type !== 'command' || frame['name'] !== 'reservation.upsert') continue;
    const { reservation } = frame['args'] as { reservation: ReservationWire };
    if (reservation.id === before.id && indexOfHash(reservation.pinHash, unit) !== null) rehashed = reservation;
  }
  t.ok(rehashed, 'rehashed with the unit salt, as a new version');
  t.equal(await verifyPin(before.pin, rehashed?.pinHash ?? ''), true, 'the same PIN');
  t.same(locker.invalid, [], 'every frame matched its schema');

  const after = await bo.service.createReservation({ kind: 'pickup', workOrder: 'WO-2', plate: 'CD 34567', driverName: 'Ingrid Berg' });
  t.not(indexOfHash(after.pinHash, unit), null, 'after the hello: hashed with the unit salt');
});
