/**
 * payment.status (docs/protocol.md, "Payments"): versioned like reservations, bound to the
 * reservation's amount so that a status meant for another invoice never opens a door, and not
 * frozen at the first amount: the amount may change while nothing is paid, and after a refund or
 * a cancelled payment.
 */
import t from 'tap';
import { reservations } from '../../kiosk/store/repositories.js';
import type { CommandArgs, Money } from '../../kiosk/sync/messages.js';
import { commandFixture as fixture, wire } from '../helpers/command-fixture.js';

type Status = CommandArgs['payment.status']['status'];
const pay = (version: number, status: Status, amount = 189000, currency = 'NOK'): CommandArgs['payment.status'] => ({ reservationId: 'p-1', status, amount, currency, version });
const pickup = (version: number, amountDue?: Money | null) =>
  ({ reservation: wire({ id: 'p-1', code: 'P-1', kind: 'pickup', paymentRequired: true, ...(amountDue !== undefined ? { amountDue } : {}) }), version }) satisfies CommandArgs['reservation.upsert'];

t.test('a reservation that states no amount: the payment carries it, and it may change until paid', async (t) => {
  const f = await fixture(t);
  await f.run('u', 'reservation.upsert', pickup(1));
  t.match(await f.run('p1', 'payment.status', pay(1, 'pending')), { ok: true, result: { applied: true, version: 1, status: 'pending' } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'pending', paymentAmount: 189000, paymentCurrency: 'NOK', paymentVersion: 1 });

  // Pending: a new version may carry a new amount (the invoice changed).
  t.match(await f.run('p2', 'payment.status', pay(2, 'pending', 199000)), { ok: true, result: { applied: true, version: 2 } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentAmount: 199000, paymentVersion: 2 }, 'the amount before it is paid is not frozen');
  t.match(await f.run('p3', 'payment.status', pay(3, 'paid', 199000)), { ok: true, result: { applied: true, status: 'paid' } });

  // Paid: the amount is fixed until the payment is refunded or cancelled.
  t.match(await f.run('p4-other', 'payment.status', pay(4, 'paid', 189000)), { ok: false, error: { code: 'AMOUNT_MISMATCH', message: /paid for another amount/ } });
  t.match(await f.run('p4-eur', 'payment.status', pay(4, 'refunded', 199000, 'EUR')), { ok: false, error: { code: 'AMOUNT_MISMATCH' } }, 'another currency is another amount');
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'paid', paymentAmount: 199000, paymentVersion: 3 }, 'a mismatch changes nothing');
  t.match(await f.run('p2-late', 'payment.status', pay(2, 'cancelled')), { ok: true, result: { applied: false, reason: 'stale', version: 3 } }, 'an older version arriving late');

  t.match(await f.run('p5', 'payment.status', pay(5, 'refunded', 199000)), { ok: true, result: { applied: true, status: 'refunded' } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'refunded' }, 'refunded: the way is closed again');
  // After a refund a new invoice may come with a new amount.
  t.match(await f.run('p6', 'payment.status', pay(6, 'pending', 149000)), { ok: true, result: { applied: true } });
  t.match(await f.run('p7', 'payment.status', pay(7, 'paid', 149000)), { ok: true, result: { applied: true, status: 'paid' } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'paid', paymentAmount: 149000, paymentVersion: 7 });

  // A cancelled payment unfreezes the amount too.
  t.match(await f.run('p8', 'payment.status', pay(8, 'cancelled', 149000)), { ok: true, result: { applied: true } });
  t.match(await f.run('p9', 'payment.status', pay(9, 'pending', 99000)), { ok: true, result: { applied: true } });

  t.match(await f.run('p-none', 'payment.status', { ...pay(1, 'paid'), reservationId: 'ghost' }), { ok: false, error: { code: 'NOT_FOUND' } });
  t.ok(f.changes.some(([id, change]) => id === 'p-1' && change === 'payment'));
});

t.test('a reservation that states its amount due: every payment must be for it; a new version may change it while unpaid', async (t) => {
  const f = await fixture(t);
  t.match(await f.run('u1', 'reservation.upsert', pickup(1, { amount: 249000, currency: 'NOK' })), { ok: true, result: { applied: true } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentAmount: 249000, paymentCurrency: 'NOK', paymentStatus: 'none' }, 'the screen can show the amount before any payment');

  t.match(await f.run('p1-wrong', 'payment.status', pay(1, 'paid', 100)), { ok: false, error: { code: 'AMOUNT_MISMATCH', message: /states as due/ } }, 'a paid for another invoice never opens the door');
  t.match(await f.run('p1-pending-wrong', 'payment.status', pay(1, 'pending', 100)), { ok: false, error: { code: 'AMOUNT_MISMATCH' } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'none', paymentVersion: 0 });
  t.match(await f.run('p1', 'payment.status', pay(1, 'pending', 249000)), { ok: true, result: { applied: true } });

  // The invoice changes before it is paid: a new reservation version with a new amount.
  t.match(await f.run('u2', 'reservation.upsert', pickup(2, { amount: 259000, currency: 'NOK' })), { ok: true, result: { applied: true, version: 2 } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentAmount: 259000, paymentStatus: 'pending' });
  t.match(await f.run('p2-old', 'payment.status', pay(2, 'paid', 249000)), { ok: false, error: { code: 'AMOUNT_MISMATCH' } }, 'paid for the old amount');
  t.match(await f.run('p2', 'payment.status', pay(2, 'paid', 259000)), { ok: true, result: { applied: true, status: 'paid' } });

  // Paid: the amount due cannot change under it.
  t.match(await f.run('u3', 'reservation.upsert', pickup(3, { amount: 269000, currency: 'NOK' })), { ok: false, error: { code: 'CONFLICT', message: /paid for another amount/ } });
  t.match(await reservations.getById(f.db, 'p-1'), { version: 2, paymentStatus: 'paid', paymentAmount: 259000 }, 'the whole upsert was refused');
  t.match(await f.run('u3-same', 'reservation.upsert', pickup(3, { amount: 259000, currency: 'NOK' })), { ok: true, result: { applied: true, version: 3 } }, 'the same amount is fine');

  // Refund, then the new amount.
  t.match(await f.run('p3', 'payment.status', pay(3, 'refunded', 259000)), { ok: true, result: { applied: true } });
  t.match(await f.run('u4', 'reservation.upsert', pickup(4, { amount: 269000, currency: 'NOK' })), { ok: true, result: { applied: true } });
  t.match(await f.run('p4', 'payment.status', pay(4, 'paid', 269000)), { ok: true, result: { applied: true, status: 'paid' } });

  // A version that states no amount any more leaves the amount the locker holds as it is.
  await f.run('p5', 'payment.status', pay(5, 'refunded', 269000));
  t.match(await f.run('u5', 'reservation.upsert', pickup(5, null)), { ok: true, result: { applied: true } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentAmount: 269000 });
  t.match(await f.run('p6', 'payment.status', pay(6, 'pending', 1000)), { ok: true, result: { applied: true } }, 'no amount stated: the payment carries it');
});

t.test('a newer booking version keeps the payment state the locker holds', async (t) => {
  const f = await fixture(t);
  await f.run('u1', 'reservation.upsert', pickup(1));
  // The amount first (no amount due stated: a paid alone would be amount-unknown), then paid.
  await f.run('p1', 'payment.status', pay(1, 'pending'));
  await f.run('p2', 'payment.status', pay(2, 'paid'));
  await f.run('u2', 'reservation.upsert', { reservation: wire({ id: 'p-1', code: 'P-1', kind: 'pickup', paymentRequired: true, driverName: 'New Name' }), version: 2 });
  t.match(await reservations.getById(f.db, 'p-1'), { driverName: 'New Name', paymentAmount: 189000, paymentCurrency: 'NOK', paymentStatus: 'paid', paymentVersion: 2 });
});

t.test('a paid while the locker holds no amount for a reservation that requires payment: CONFLICT, payment.refused amount-unknown, nothing changes', async (t) => {
  const f = await fixture(t);
  await f.run('u', 'reservation.upsert', pickup(1));
  t.match(await f.run('p1', 'payment.status', pay(1, 'paid')), { ok: false, error: { code: 'CONFLICT', message: /no amount/ } });
  t.match(await reservations.getById(f.db, 'p-1'), { paymentStatus: 'none', paymentAmount: null, paymentVersion: 0 }, 'not paid');
  const refused = await f.db.all<{ payload: string }>("SELECT payload FROM outbox WHERE type = 'payment.refused'");
  t.match(refused.map((r) => JSON.parse(r.payload) as unknown), [{ reservationId: 'p-1', version: 1, status: 'paid', reason: 'amount-unknown' }]);
  // With the amount stated first (a pending version), the same paid applies.
  t.match(await f.run('p2', 'payment.status', pay(2, 'pending')), { ok: true, result: { applied: true } });
  t.match(await f.run('p3', 'payment.status', pay(3, 'paid')), { ok: true, result: { applied: true, status: 'paid' } });
  // And with the amount due on the reservation, a first paid applies.
  await f.run('u2', 'reservation.upsert', { reservation: wire({ id: 'p-2', code: 'P-2', kind: 'pickup', paymentRequired: true, amountDue: { amount: 189000, currency: 'NOK' } }), version: 1 });
  t.match(await f.run('q1', 'payment.status', { ...pay(1, 'paid'), reservationId: 'p-2' }), { ok: true, result: { applied: true, status: 'paid' } });
});
