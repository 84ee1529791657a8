/**
 * Paying at the locker end to end (issue 12), a real locker beside the reference back office
 * and its simulated provider: the payment page's link reaches the top screen, the phone
 * approves, the door opens with no touch; Vipps to a typed number; refused then paid; cancelled
 * by staff, locked, reopened; receipts by each channel. The phone's side is the back office's
 * own API, as /pay/<id> calls it (the browser test walks the pages).
 */
import t, { type Test } from 'tap';
import type { TestLocker } from '../helpers/locker.js';
import { outbox } from '../../kiosk/store/repositories.js';
import { act, leaveDone, ok, recordedEvents, until, withLocker } from '../helpers/locker.js';

const UNPAID = 'demo-pickup-unpaid'; // PIN 456789, compartment 15, 2490.00 NOK, phone +4790044556, lars@example.com

async function post(url: string, body: unknown = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  return (await (await fetch(url)).json()) as Record<string, unknown>;
}

/** The live payment page the back office made for the reservation, as the top screen's QR carries it. */
async function livePage(locker: TestLocker, what: string): Promise<string> {
  let link: string | null = null;
  await until(async () => {
    const current = await locker.backOffice.service.payments.latest(UNPAID);
    link = current?.state === 'requested' ? current.link : null;
    return link !== null && locker.journeys.view().payment?.link === true;
  }, what);
  return link as unknown as string;
}

async function atPayment(t: Test, locker: TestLocker): Promise<void> {
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  t.match(await ok(t, locker, { type: 'pin', pin: '456789' }), { step: 'payment', payment: { amount: 249000, currency: 'NOK', orderPhone: '+47 *** ** 556' } });
}

async function approve(locker: TestLocker, link: string, answer: 'approve' | 'refuse' = 'approve'): Promise<Record<string, unknown>> {
  const id = link.split('/').pop() as string;
  const reply = await post(`${locker.urls.backOffice}api/pay/${id}/${answer}`);
  return reply.body;
}

t.test('QR: the payment page reaches the top screen; the phone approves; the door opens with no touch', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  await atPayment(t, locker);
  const pulses = sim.pulseCount;
  const link = await livePage(locker, 'the payment page on the top screen');
  t.match(link, /^http:\/\/127\.0\.0\.1:\d+\/pay\/pay-[A-Za-z0-9_-]{16}$/);
  t.match(locker.journeys.topView().qr, { captionKey: 'qr.payment', svg: /^<svg/ }, 'the QR is rendered on the locker');
  t.match(locker.journeys.view().payment, { state: 'requested', status: 'pending' });
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'payment.requested'), [{ payload: { reservationId: UNPAID, method: 'link', phone: null } }], 'asked once');

  const page = await getJson(`${locker.urls.backOffice}api/pay/${link.split('/').pop()}`);
  t.match(page, { amount: 249000, currency: 'NOK', state: 'requested', workOrder: 'WO-0991' });
  t.equal(sim.pulseCount, pulses, 'nothing opened before the payment');
  await approve(locker, link);
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened by itself');
  t.equal(sim.pulseCount, pulses + 1, 'one pulse, no touch on the locker');
  t.match(locker.journeys.view(), { compartment: 15, payment: { status: 'paid', state: 'paid' } });
  t.equal(locker.journeys.topView().qr, null, 'the payment QR is gone once paid');
  const list = await getJson(`${locker.urls.backOffice}api/payments?state=paid`);
  t.match(list, { payments: [{ reservationId: UNPAID, state: 'paid', method: 'vipps', paidAt: /^\d{4}-/ }] }, 'staff see it paid, with its time and method');
});

t.test('Vipps push to a typed number: validated, sent to the back office only, masked everywhere it is shown', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  await atPayment(t, locker);
  await livePage(locker, 'the payment page');
  const refused = await act(locker, { type: 'payVipps', phone: '12' });
  t.equal(refused.error?.code, 'PHONE_INVALID', 'a number that is not one');
  t.equal((await recordedEvents(locker)).filter((e) => e.payload['method'] === 'vipps-push').length, 0, 'nothing sent for it');

  const view = await ok(t, locker, { type: 'payVipps', phone: '+46 70 123 45 67' });
  t.match(view.payment?.requested, { method: 'vipps-push', phoneMasked: '+46 *** ** 567' });
  t.notMatch(JSON.stringify(view), /701234567/, 'the screen never gets the number back in clear');
  t.match((await recordedEvents(locker)).filter((e) => e.payload['method'] === 'vipps-push'), [{ payload: { phone: '+46701234567', phoneMasked: '+46 *** ** 567' } }]);

  let push: { link: string | null } | undefined;
  await until(() => {
    push = (locker.backOffice.service.messenger as unknown as { all(): { channel: string; to: string; link: string | null }[] }).all().find((m) => m.channel === 'vipps' && m.to === '+46701234567');
    return push !== undefined;
  }, 'the Vipps request to the typed phone');
  const outbox = await getJson(`${locker.urls.backOffice}api/outbox`);
  t.match(outbox, { messages: [{ channel: 'vipps', toMasked: '+46 *** ** 567' }] }, 'the staff outbox shows it masked');
  t.notMatch(JSON.stringify(outbox), /701234567/);

  const pulses = sim.pulseCount;
  await approve(locker, push!.link as string);
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened');
  t.equal(sim.pulseCount, pulses + 1);
});

t.test('refused, then paid: the screen follows; a new page after Check payment; one opening', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  await atPayment(t, locker);
  const first = await livePage(locker, 'the first page');
  const pulses = sim.pulseCount;
  await approve(locker, first, 'refuse');
  await until(() => locker.journeys.view().payment?.state === 'failed', 'the screen shows the refusal');
  t.equal(locker.journeys.view().step, 'payment');
  t.equal(locker.journeys.topView().qr, null, 'the dead page is no QR');
  t.equal(sim.pulseCount, pulses, 'nothing opened');

  await ok(t, locker, { type: 'checkPayment' });
  t.ok((await recordedEvents(locker)).some((e) => e.type === 'payment.check-requested'), 'Check payment is an event');
  const second = await livePage(locker, 'a new page');
  t.not(second, first, 'a new payment page');
  t.match(await approve(locker, first), { error: { code: 'CONFLICT' } }, 'the refused page cannot be approved later');
  await approve(locker, second);
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened');
  t.equal(sim.pulseCount, pulses + 1);
});

t.test('staff cancel: the screen says so and no page is made until staff reopen; then paid', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const api = `${locker.urls.backOffice}api/reservations/${UNPAID}/payment`;
  await atPayment(t, locker);
  await livePage(locker, 'the page');
  const pulses = sim.pulseCount;
  t.match(await post(`${api}/cancel`), { status: 200, body: { payment: { state: 'cancelled' } } });
  await until(() => locker.journeys.view().payment?.state === 'cancelled', 'the screen shows cancelled');
  t.match(await getJson(`${locker.urls.backOffice}api/payments`), { locked: [UNPAID] }, 'locked as mobile payment');

  await ok(t, locker, { type: 'checkPayment' });
  const events = (await recordedEvents(locker)).filter((e) => e.type === 'payment.requested').length;
  await until(async () => (await outbox.pendingCount(locker.db)) === 0, 'the back office took the events');
  t.match(await locker.backOffice.service.payments.latest(UNPAID), { state: 'cancelled' }, 'a locked order gets no new page');
  t.equal(locker.journeys.view().payment?.link, false);

  t.match(await post(`${api}/reopen`), { status: 200, body: { payment: { state: 'requested' } } });
  const reopened = await livePage(locker, 'the page after reopening');
  t.ok(events >= 2, 'the locker asked again');
  await approve(locker, reopened);
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened');
  t.equal(sim.pulseCount, pulses + 1);
  t.match(await post(`${api}/refund`), { status: 200, body: { payment: { state: 'refunded' } } }, 'staff may refund');
});

t.test('receipts: SMS and e-mail through the messenger (masked on the staff page), QR on the top screen, the last choice remembered', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const messages = () => (locker.backOffice.service.messenger as unknown as { all(): { channel: string; to: string; link: string | null; body: string }[] }).all();
  await atPayment(t, locker);
  await approve(locker, await livePage(locker, 'the page'));
  await until(() => locker.journeys.view().step === 'take-key', 'the door opened');
  sim.closeDoor(14);
  await until(() => locker.hardware.bank.doorState(15) === 'closed', 'door 15 closed');
  t.match(await ok(t, locker, { type: 'confirm' }), { step: 'receipt', receipt: { sms: '+47 *** ** 556', email: 'l***@example.com', preferred: null } });
  t.equal((await ok(t, locker, { type: 'receipt', channel: 'sms' })).step, 'done');
  await until(() => messages().some((m) => m.channel === 'sms' && m.to === '+4790044556'), 'the SMS receipt');
  const sms = messages().find((m) => m.channel === 'sms');
  t.match(sms, { body: /WO-0991: 2490\.00 NOK paid/, link: /\/receipt\/rc-/ });
  const text = await (await fetch(sms!.link as string)).text();
  t.match(text, /Receipt WO-0991/, 'the receipt page (kept 30 days by the back office)');
  t.match(await getJson(`${locker.urls.backOffice}api/outbox`), { messages: [{ channel: 'sms', toMasked: '+47 *** ** 556' }] });
  await leaveDone(t, locker);

  // The last choice travels back with the customer's next payment status.
  await post(`${locker.urls.backOffice}api/reservations/${UNPAID}/payment/refund`);
  await until(async () => (await locker.db.get<{ receipt_channel: string }>("SELECT receipt_channel FROM payment_details WHERE reservation_id = ?", [UNPAID]))?.receipt_channel === 'sms', 'the remembered channel at the locker');

  // Another customer (paid at home): e-mail, then a QR.
  const paidPickup = async () => {
    await ok(t, locker, { type: 'start', journey: 'pickup' });
    await ok(t, locker, { type: 'pin', pin: '345678' });
    sim.closeDoor(15);
    await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door 16 closed');
    return ok(t, locker, { type: 'confirm' });
  };
  t.equal((await paidPickup()).step, 'receipt');
  await ok(t, locker, { type: 'receipt', channel: 'qr' });
  await until(() => locker.journeys.topView().qr?.captionKey === 'qr.receipt', 'the receipt QR on the top screen');
  t.match(locker.journeys.view(), { step: 'receipt', receipt: { asked: 'qr' } });
  t.equal(messages().filter((m) => m.channel === 'email').length, 0, 'a QR sends nothing');
  // And an e-mail too, while the step is still up.
  t.equal((await ok(t, locker, { type: 'receipt', channel: 'email' })).step, 'done');
  await until(() => messages().some((m) => m.channel === 'email' && m.to === 'ingrid@example.com'), 'the e-mail receipt');
  t.match(await getJson(`${locker.urls.backOffice}api/outbox`), { messages: [{ channel: 'email', toMasked: 'i***@example.com', body: /WO-0990: 1890\.00 NOK paid/ }] });
});

t.test('customer club at the payment step: a consent event (once per change), recorded by the back office on the order', async (t) => {
  const locker = await withLocker(t);
  await atPayment(t, locker);
  t.match((await ok(t, locker, { type: 'clubConsent', consent: true })).payment, { clubConsent: true });
  await ok(t, locker, { type: 'clubConsent', consent: true }); // tapped twice: still one event
  t.match((await ok(t, locker, { type: 'clubConsent', consent: false })).payment, { clubConsent: false }, 'taken back');
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'customer.club-consent'), [
    { payload: { reservationId: UNPAID, method: 'vipps', consent: true } },
    { payload: { reservationId: UNPAID, method: 'vipps', consent: false } },
  ]);
  const clubLines = async () => ((await locker.backOffice.service.staffState()).reservations.find((r) => r.id === UNPAID)?.timeline ?? []).filter((e) => e.event === 'club-consent');
  await until(async () => (await clubLines()).length === 2, 'the back office recorded both');
  t.match(await clubLines(), [{ detail: { method: 'vipps', consent: true } }, { detail: { method: 'vipps', consent: false } }]);
  t.match(await act(locker, { type: 'clubConsent', consent: 'yes' } as Record<string, unknown>), { status: 400 }, 'bad input refused');
});

t.test('the club consent is offered at the payment step only', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  t.match(await act(locker, { type: 'clubConsent', consent: true }), { status: 400, error: { code: 'BAD_ACTION' } });
  t.same((await recordedEvents(locker)).filter((e) => e.type === 'customer.club-consent'), []);
});
