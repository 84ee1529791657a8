/**
 * The payment and receipt steps' timers on a fake clock (issue 12): a payment in progress keeps
 * the session (each payment status starts the payment step's idle time again) but one that never
 * resolves still ends it; the receipt step moves on by itself after 30 s while its QR stays on
 * the top screen for 60 s, past the end of the session.
 */
import t from 'tap';
import * as paymentDetails from '../../kiosk/store/payment-details.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { doorJourneys, PICKUP_COMPARTMENT, PICKUP_PIN, type DoorRig } from '../helpers/door-journeys.js';

const PAYMENT_MS = 300_000;
const fakeQr = async (text: string) => `<svg data-link="${text}"></svg>`;

/** The back office's next payment status, as kiosk/sync/commands/payments.ts applies it. */
async function status(rig: DoorRig, version: number, state: 'requested' | 'authorised' | 'paid', link: string | null = null): Promise<void> {
  const now = new Date(1_800_000_000_000 + rig.clock.now());
  await rig.db.transaction(async (tx) => {
    await reservations.update(tx, 'pick', { paymentStatus: state === 'paid' ? 'paid' : 'pending', paymentVersion: version }, now);
    await paymentDetails.set(tx, 'pick', { state, link, method: 'vipps', receiptChannel: null, version }, now);
  });
  rig.journeys.reservationChanged('pick', 'payment');
  await rig.journeys.settled();
}

t.test('a payment in progress keeps the session; one that never resolves still ends it', async (t) => {
  const rig = await doorJourneys(t, { pickup: { paymentRequired: true }, journeys: { renderQr: fakeQr } });
  await rig.act({ type: 'start', journey: 'pickup' });
  t.match(await rig.act({ type: 'pin', pin: PICKUP_PIN }), { step: 'payment' });
  t.match((await rig.events()).map((e) => e.type), ['payment.requested'], 'the payment page was asked for');

  await rig.advance(250_000);
  await status(rig, 1, 'requested', 'https://verksted.example.no/pay/pay-1');
  t.match(rig.journeys.topView().qr, { captionKey: 'qr.payment', svg: /pay-1/ });
  await rig.advance(250_000); // 500 s in: past the 300 s limit counted from the start
  t.equal(rig.journeys.view().step, 'payment', 'the status at 250 s started the idle time again');
  await status(rig, 2, 'authorised');
  await rig.advance(PAYMENT_MS - 20_000);
  t.equal(rig.journeys.view().step, 'payment', 'still waiting, 280 s after the last status');
  await rig.advance(25_000);
  t.equal(rig.journeys.view().step, 'welcome', 'no status for 300 s: the session ended anyway');
  t.equal(rig.journeys.topView().qr, null, 'and its QR went with it');
});

t.test('receipt: the step moves on after 30 s; the QR stays on the top screen for 60 s; only for the customer who asked', async (t) => {
  const rig = await doorJourneys(t, { pickup: { paymentRequired: true }, journeys: { renderQr: fakeQr, doneMs: 8000 } });
  await status(rig, 1, 'paid');
  await rig.act({ type: 'start', journey: 'pickup' });
  t.match(await rig.act({ type: 'pin', pin: PICKUP_PIN }), { step: 'take-key', compartment: PICKUP_COMPARTMENT });
  rig.sim.closeDoor(PICKUP_COMPARTMENT - 1);
  await rig.settle();
  const view = await rig.act({ type: 'confirm' });
  t.match(view, { step: 'receipt', receipt: { sms: '+47 *** ** 567', email: 'k***@example.com', asked: null } }, 'offered after a paid pickup, masked');

  t.equal(rig.journeys.receiptLinkAccepted('pick'), false, 'no link is taken before the customer asks');
  t.match(await rig.act({ type: 'receipt', channel: 'qr' }), { step: 'receipt', receipt: { asked: 'qr' } });
  t.match((await rig.events()).filter((e) => e.type === 'receipt.requested').map((e) => e.payload), [{ reservationId: 'pick', channel: 'qr', destinationMasked: null }]);
  t.equal(rig.journeys.receiptLinkAccepted('other'), false, "another reservation's link is not shown");
  t.equal(rig.journeys.receiptLinkAccepted('pick'), true);
  rig.journeys.showReceiptLink('pick', 'https://verksted.example.no/receipt/rc-1');
  await rig.advance(10);
  t.match(rig.journeys.topView().qr, { captionKey: 'qr.receipt', svg: /rc-1/ });

  await rig.advance(25_000);
  t.equal(rig.journeys.view().step, 'receipt', 'still on the receipt step at 25 s');
  await rig.advance(6_000);
  t.equal(rig.journeys.view().step, 'done', 'moved on by itself at 30 s');
  await rig.advance(9_000);
  t.equal(rig.journeys.view().step, 'welcome', 'and back to the start');
  t.match(rig.journeys.topView().qr, { captionKey: 'qr.receipt' }, 'the QR outlives the session');
  await rig.advance(25_000);
  t.equal(rig.journeys.topView().qr, null, 'gone 60 s after it came');
  t.equal(rig.journeys.receiptLinkAccepted('pick'), false, 'a late link is not shown to the next customer');
});

t.test('receipt by SMS or e-mail ends the step at once; the destination leaves only masked', async (t) => {
  for (const channel of ['sms', 'email'] as const) {
    const rig = await doorJourneys(t, { pickup: { paymentRequired: true } });
    await status(rig, 1, 'paid');
    await rig.act({ type: 'start', journey: 'pickup' });
    await rig.act({ type: 'pin', pin: PICKUP_PIN });
    rig.sim.closeDoor(PICKUP_COMPARTMENT - 1);
    await rig.settle();
    t.equal((await rig.act({ type: 'confirm' })).step, 'receipt');
    t.equal((await rig.act({ type: 'receipt', channel })).step, 'done', `${channel}: done`);
    const [event] = (await rig.events()).filter((e) => e.type === 'receipt.requested');
    t.same(event?.payload, { reservationId: 'pick', channel, destination: null, destinationMasked: channel === 'sms' ? '+47 *** ** 567' : 'k***@example.com' });
  }
});

t.test('an unpaid pickup (no payment needed) is not offered a receipt', async (t) => {
  const rig = await doorJourneys(t);
  await rig.act({ type: 'start', journey: 'pickup' });
  await rig.act({ type: 'pin', pin: PICKUP_PIN });
  rig.sim.closeDoor(PICKUP_COMPARTMENT - 1);
  await rig.settle();
  t.equal((await rig.act({ type: 'confirm' })).step, 'done');
  t.equal((await rig.act({ type: 'receipt', channel: 'sms' }).catch((error: { code?: string }) => error.code)), 'BAD_ACTION');
});
