/**
 * Opening from the phone link in real Chromium (issue 12): the customer's phone is a page on
 * the back office's /open/<token>; it pays on its phone page first, then presses "Open
 * compartment 15": the simulator's lock is pulsed with no touch on the locker's screens. The
 * same link pressed again is sent to the locker and refused there (NONCE_USED), nothing pulsed.
 * Closing the door records the pickup and the page says so. Screenshots to docs/screens/.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { until, withLocker } from '../helpers/locker.js';

const PHONE = { width: 390, height: 844 };

t.setTimeout(180_000);
let browser: Browser;
t.before(async () => {
  browser = await launchBrowser(t);
});

t.test('the phone link: pay, open compartment 15 (one pulse, no touch on the locker), the replay refused, the key taken', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const api = (path: string) => fetch(new URL(`api/${path}`, locker.urls.backOffice), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  const issued = await api('reservations/demo-pickup-unpaid/open-link');
  t.equal(issued.status, 201);
  const { url } = (await issued.json()) as { url: string };
  t.match(url, /\/open\/[A-Za-z0-9_-]{43}$/, 'a 256-bit token in the link');

  const phone = await openPage(t, browser, url, PHONE);
  await phone.locator('#state[data-state="pay"]').waitFor();
  t.ok(await phone.locator('#actions').isHidden(), 'no Open button before paying');
  await screenshot(phone, 'open-1-pay-first');

  // Pay on the phone (the payment link the workshop sends by SMS).
  t.equal((await api('reservations/demo-pickup-unpaid/payment/send-link')).status, 200);
  const sms = (locker.backOffice.service.messenger as unknown as { all(): { channel: string; link: string | null }[] }).all().find((m) => m.channel === 'sms' && m.link);
  const pay = await openPage(t, browser, sms!.link as string, PHONE);
  await pay.getByRole('button', { name: 'Approve' }).click();
  await pay.locator('#state[data-state="paid"]').waitFor();
  await until(async () => (await locker.store.reservation('demo-pickup-unpaid'))?.paymentStatus === 'paid', 'the locker holds paid');

  await phone.reload();
  await phone.locator('#state[data-state="ready"]').waitFor();
  t.equal(await phone.getByTestId('open-button').textContent(), 'Open compartment 15');
  await screenshot(phone, 'open-2-ready');
  const pulses = sim.pulseCount;
  await phone.getByTestId('open-button').click();
  await phone.locator('#state[data-state="opened"]').waitFor();
  await until(() => sim.pulseCount === pulses + 1, 'one pulse');
  await until(() => locker.hardware.bank.doorState(15) === 'open', 'door 15 open');
  await screenshot(phone, 'open-3-opened');

  // The same link again: the back office sends it, the locker refuses the used nonce.
  await phone.getByTestId('open-button').click();
  await phone.locator('#state[data-state="refused"][data-reason="NONCE_USED"]').waitFor();
  t.equal(sim.pulseCount, pulses + 1, 'the replay opened nothing');
  t.equal(await phone.locator('#actions').getAttribute('hidden'), '', 'no button after a used link');
  await screenshot(phone, 'open-4-replay-refused');

  // The customer takes the key and closes the door: the pickup is recorded.
  sim.closeDoor(14);
  await until(async () => (await locker.store.reservation('demo-pickup-unpaid'))?.status === 'collected', 'collected at the locker');
  await until(async () => {
    await phone.reload();
    return (await phone.locator('#state').getAttribute('data-state')) === 'collected';
  }, 'the page says collected');
  t.same([...scriptErrors(phone), ...scriptErrors(pay)], []);
});
