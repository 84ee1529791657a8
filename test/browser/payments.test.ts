/**
 * Paying at the locker in real Chromium (issue 12): the customer at the bottom screen, the top
 * screen's QR read from a screenshot (jsQR, as a phone camera would), and the customer's phone
 * as a second page on the back office's /pay/<id>. The door opens on the simulator with no
 * touch on the locker. Screenshots of each new screen go to docs/screens/.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import t, { type Test } from 'tap';
import type { Browser, Page } from 'playwright-core';
import { atStep, chooseLanguage, enterPin, keypad, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { until, withLocker, type TestLocker } from '../helpers/locker.js';

type Decode = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: Decode }).default ?? jsQRModule) as unknown as Decode;
const en = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'ui', 'i18n', 'en.json'), 'utf8')) as Record<string, string>;
const PHONE = { width: 390, height: 844 };

t.setTimeout(300_000);
let browser: Browser;
t.before(async () => {
  browser = await launchBrowser(t);
});

async function readQr(top: Page): Promise<string> {
  await top.locator('.qr-img').waitFor({ state: 'visible' });
  await top.waitForFunction('document.querySelector(".qr-img")?.complete === true');
  const png = PNG.sync.read(await top.screenshot());
  return jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)?.data ?? '';
}

/** The English bottom screen at the payment step of the unpaid demo pickup (PIN 456789, 2490 NOK). */
async function atPayment(t: Test, locker: TestLocker): Promise<{ bottom: Page; top: Page }> {
  const bottom = await openPage(t, browser, locker.urls.bottom);
  const top = await openPage(t, browser, locker.urls.top, { width: 1280, height: 720 });
  await atStep(bottom, 'welcome');
  await chooseLanguage(bottom, 'English');
  await tap(bottom, en['welcome.pickup'] as string);
  await atStep(bottom, 'identify');
  await enterPin(bottom, '456789');
  await atStep(bottom, 'payment');
  return { bottom, top };
}

async function phoneApproves(t: Test, link: string, answer: 'Approve' | 'Refuse', shot?: string): Promise<Page> {
  const phone = await openPage(t, browser, link, PHONE);
  await phone.locator('#actions:not([hidden])').waitFor();
  t.match(await phone.locator('#amount').textContent(), /2[\s\u00a0\u202f,.]?490/, 'the phone shows the amount');
  if (shot) await screenshot(phone, shot);
  await phone.getByRole('button', { name: answer }).click();
  await phone.locator(`#state[data-state="${answer === 'Approve' ? 'paid' : 'failed'}"]`).waitFor();
  return phone;
}

t.test('pay by the QR on the top screen: the phone opens the page, approves, and the door opens with no touch on the locker', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const { bottom, top } = await atPayment(t, locker);
  await bottom.locator('main .amount-box').waitFor();
  await bottom.waitForFunction(`document.body.textContent.includes(${JSON.stringify(en['payment.scanTop'])})`);
  const link = await readQr(top);
  t.match(link, /^http:\/\/127\.0\.0\.1:\d+\/pay\/pay-/, 'the QR carries the payment page');
  await screenshot(bottom, 'pay-1-payment');
  await screenshot(top, 'pay-1-top-qr');
  const pulses = sim.pulseCount;

  const phone = await phoneApproves(t, link, 'Approve', 'pay-2-phone');
  await screenshot(phone, 'pay-2-phone-paid');
  await atStep(bottom, 'take-key');
  t.equal(sim.pulseCount, pulses + 1, 'the door opened by itself: one pulse');
  t.match(await bottom.locator('main').textContent(), /compartment 15/);

  // Take the key: the receipt step (a paid pickup), QR on the top screen.
  sim.closeDoor(14);
  await until(() => locker.hardware.bank.doorState(15) === 'closed', 'door 15 closed');
  await tap(bottom, en['takeKey.done'] as string);
  await atStep(bottom, 'receipt');
  await screenshot(bottom, 'receipt-1-choose');
  await bottom.locator('[data-receipt="qr"]').click();
  await bottom.waitForFunction(`document.body.textContent.includes(${JSON.stringify(en['receipt.qrShown'])})`);
  const receipt = await readQr(top);
  t.match(receipt, /\/receipt\/rc-/, 'the receipt QR');
  await screenshot(bottom, 'receipt-2-qr');
  await screenshot(top, 'receipt-2-top-qr');
  const phoneReceipt = await openPage(t, browser, receipt, PHONE);
  t.match(await phoneReceipt.locator('body').textContent(), /Receipt WO-0991: 2490\.00 NOK paid/);
  t.same([...scriptErrors(bottom), ...scriptErrors(top), ...scriptErrors(phone)], []);
});

t.test('Vipps to a typed number: refused on the phone, then paid; the receipt by SMS shows in the staff outbox, masked', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const { bottom, top } = await atPayment(t, locker);
  const pulses = sim.pulseCount;
  await bottom.locator('[data-pay="other-number"]').click();
  await bottom.waitForFunction(`document.body.textContent.includes(${JSON.stringify(en['payment.vippsTitle'])})`);
  await keypad(bottom, '+4798765432');
  await screenshot(bottom, 'pay-3-vipps-number');
  await bottom.locator('[data-pay="send"]').click();
  await bottom.locator('.pay-pushed').waitFor();
  t.match(await bottom.locator('.pay-pushed').textContent(), /\+47 \*\*\* \*\* 432/, 'the number shown masked');
  await screenshot(bottom, 'pay-4-vipps-sent');

  // The phone's Vipps app gets the request (the simulated messenger's record stands for it).
  const pushTo = (to: string) =>
    (locker.backOffice.service.messenger as unknown as { all(): { channel: string; to: string; link: string | null }[] }).all().filter((m) => m.channel === 'vipps' && m.to === to);
  await until(() => pushTo('+4798765432').length === 1, 'the Vipps request to the typed number');
  await phoneApproves(t, pushTo('+4798765432')[0]!.link as string, 'Refuse');
  await bottom.locator('.pay-status[data-state="failed"]').waitFor();
  await screenshot(bottom, 'pay-5-refused');
  await screenshot(top, 'pay-5-top');
  t.equal(sim.pulseCount, pulses, 'nothing opened on a refusal');

  // Again, to the order's own number this time.
  await bottom.locator('[data-pay="vipps"]').click();
  await until(() => pushTo('+4790044556').length === 1, "the Vipps request to the order's number");
  await phoneApproves(t, pushTo('+4790044556')[0]!.link as string, 'Approve');
  await atStep(bottom, 'take-key');
  t.equal(sim.pulseCount, pulses + 1, 'one opening');

  sim.closeDoor(14);
  await until(() => locker.hardware.bank.doorState(15) === 'closed', 'door 15 closed');
  await tap(bottom, en['takeKey.done'] as string);
  await atStep(bottom, 'receipt');
  await bottom.locator('[data-receipt="sms"]').click();
  // "Thank you" (8 s) may already have gone back to the start on a loaded machine.
  await bottom.waitForFunction('["done", "welcome"].includes(document.body.dataset.step)');
  const staff = await openPage(t, browser, `${locker.urls.backOffice}#payments`);
  await staff.locator('#outbox li[data-channel="sms"]').waitFor();
  t.match(await staff.locator('#outbox').textContent(), /\+47 \*\*\* \*\* 556/, 'the staff page shows the SMS, masked');
  t.notMatch(await staff.locator('#outbox').textContent(), /90044556/);
  await staff.locator('#payments-list li[data-state="paid"]').first().waitFor();
  await staff.locator('#payments').scrollIntoViewIfNeeded();
  await screenshot(staff, 'backoffice-payments');
});

t.test('staff cancel the request: the screen says so and no page comes until staff reopen it; then paid', async (t) => {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const { bottom, top } = await atPayment(t, locker);
  await readQr(top);
  const staff = await openPage(t, browser, `${locker.urls.backOffice}#payments`);
  const row = staff.locator('#payments-list li[data-reservation="demo-pickup-unpaid"]').first();
  await row.locator('button[data-action="cancel"]').click();
  await bottom.locator('.pay-status[data-state="cancelled"]').waitFor();
  await screenshot(bottom, 'pay-6-cancelled');
  await staff.locator('#payments-list li[data-locked="true"]').first().waitFor();
  const pulses = sim.pulseCount;
  await staff.locator('#payments-list li[data-reservation="demo-pickup-unpaid"][data-locked="true"] button[data-action="reopen"]').first().click();
  await bottom.waitForFunction(`document.body.textContent.includes(${JSON.stringify(en['payment.scanTop'])})`);
  const link = await readQr(top);
  await phoneApproves(t, link, 'Approve');
  await atStep(bottom, 'take-key');
  t.equal(sim.pulseCount, pulses + 1);
});
