/**
 * Ways around the payment (issue 12): a stale, replayed or wrong-amount "paid" over the
 * back-office link, and a "paid" sent to the screens' server (HTTP and its WebSocket) instead.
 * Each must open nothing (lock pulses counted on the simulator) while a customer waits at the
 * payment step; those the protocol names write payment.refused.
 */
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import type { CommandMessage, ResultMessage } from '../../kiosk/sync/messages.js';
import { act, ok, recordedEvents, until, withLocker, type TestLocker } from '../helpers/locker.js';

const UNPAID = 'demo-pickup-unpaid'; // payment version 1 (pending), 249000 NOK due

function paid(id: string, version: number, amount = 249000, currency = 'NOK'): CommandMessage {
  return { v: 1, type: 'command', id, name: 'payment.status', args: { reservationId: UNPAID, status: 'paid', amount, currency, version } };
}

async function waiting(t: Test, locker: TestLocker): Promise<void> {
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  t.match(await ok(t, locker, { type: 'pin', pin: '456789' }), { step: 'payment' });
  // The customer's own payment page was asked for and made: a version 2 (requested) is held.
  await until(async () => (await locker.store.reservation(UNPAID))?.paymentVersion === 2, 'the payment page version');
}

async function apply(locker: TestLocker, command: CommandMessage): Promise<ResultMessage> {
  const result = await locker.sync.commands.apply(command);
  await locker.journeys.settled();
  return result;
}

const refusals = async (locker: TestLocker) => (await recordedEvents(locker)).filter((e) => e.type === 'payment.refused').map((e) => e.payload);

t.test('over the back-office link: stale, replayed and wrong-amount "paid" open nothing and raise payment.refused', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  await waiting(t, locker);
  const pulses = sim.pulseCount;

  t.match(await apply(locker, paid('stale-1', 1)), { ok: true, result: { applied: false, reason: 'stale', version: 2 } }, 'an older version');
  t.match(await apply(locker, paid('stale-2', 2)), { ok: true, result: { applied: false, reason: 'stale' } }, 'the version held, replayed under a new id');
  t.match(await apply(locker, paid('wrong-amount', 3, 100)), { ok: false, error: { code: 'AMOUNT_MISMATCH' } }, 'another amount');
  t.match(await apply(locker, paid('wrong-currency', 3, 249000, 'EUR')), { ok: false, error: { code: 'AMOUNT_MISMATCH' } }, 'another currency');
  t.match(await apply(locker, paid('wrong-amount', 3, 100)), { ok: false, error: { code: 'AMOUNT_MISMATCH' } }, 'the same command replayed: its first answer, nothing else');

  t.equal(sim.pulseCount, pulses, '0 opens');
  t.match(locker.journeys.view(), { step: 'payment', payment: { status: 'pending' } });
  t.match(await locker.store.reservation(UNPAID), { paymentStatus: 'pending', paymentVersion: 2 });
  t.match(await refusals(locker), [
    { reservationId: UNPAID, version: 1, status: 'paid', reason: 'stale', heldVersion: 2 },
    { reservationId: UNPAID, version: 2, status: 'paid', reason: 'stale', heldVersion: 2 },
    { reservationId: UNPAID, version: 3, status: 'paid', reason: 'amount-mismatch', heldVersion: 2 },
    { reservationId: UNPAID, version: 3, status: 'paid', reason: 'amount-mismatch', heldVersion: 2 },
  ], 'one event per refusal; the replayed id wrote none');

  // The real one still works: the gate was never the problem.
  t.match(await apply(locker, paid('real', 3)), { ok: true, result: { applied: true, status: 'paid' } });
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened for the real payment');
  t.equal(sim.pulseCount, pulses + 1);
});

t.test('"paid" sent to the screens\' server (HTTP or WebSocket) instead of the back-office link: refused, 0 opens', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  await waiting(t, locker);
  const pulses = sim.pulseCount;
  const forged: Record<string, unknown>[] = [
    { type: 'paid' },
    { type: 'payment', status: 'paid' },
    { type: 'payment.status', reservationId: UNPAID, status: 'paid', amount: 249000, currency: 'NOK', version: 99 },
    { type: 'command', name: 'payment.status', args: { reservationId: UNPAID, status: 'paid', amount: 249000, currency: 'NOK', version: 99 } },
  ];
  for (const body of forged) {
    const reply = await act(locker, body);
    t.equal(reply.status, 400, `POST /api/session ${JSON.stringify(body).slice(0, 40)}: 400`);
    t.equal(reply.error?.code, 'BAD_ACTION');
  }
  // The old "I have paid" asks; it never says paid.
  t.equal((await act(locker, { type: 'confirm' })).error?.code, 'PAYMENT_PENDING');

  const socket = new WebSocket(`${locker.server.url.replace('http', 'ws')}/ws?screen=bottom`);
  t.teardown(() => socket.terminate());
  const replies: Record<string, unknown>[] = [];
  socket.on('message', (data) => replies.push(JSON.parse(String(data)) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  for (const body of forged) socket.send(JSON.stringify({ v: 1, id: 'x', ...body }));
  await until(() => replies.filter((r) => r['type'] === 'error').length === forged.length, 'an error for each frame');
  t.ok(replies.filter((r) => r['type'] === 'error').every((r) => (r['error'] as { code?: string }).code === 'BAD_ACTION'));
  await locker.journeys.settled();

  t.equal(sim.pulseCount, pulses, '0 opens');
  t.match(locker.journeys.view(), { step: 'payment', payment: { status: 'pending' } });
  t.match(await locker.store.reservation(UNPAID), { paymentStatus: 'pending', paymentVersion: 2 }, 'nothing changed');
});
