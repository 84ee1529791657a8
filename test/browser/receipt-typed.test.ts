/**
 * The receipt step's typed number in real Chromium (issue 12): after a paid pickup the customer
 * taps "SMS to another number", types it on the keypad and sends; the receipt goes there
 * (the back office's messenger), the screen moves on. And by e-mail to the order's own address
 * (SMS and QR are walked in payments.test.ts). Screenshots to docs/screens/.
 */
import t, { type Test } from 'tap';
import type { Browser } from 'playwright-core';
import { atStep, chooseLanguage, enterPin, keypad, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { until, withLocker } from '../helpers/locker.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const en = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'ui', 'i18n', 'en.json'), 'utf8')) as Record<string, string>;

t.setTimeout(180_000);
let browser: Browser;
t.before(async () => {
  browser = await launchBrowser(t);
});

/** A paid pickup (the demo's, compartment 16) taken, at the receipt step. */
async function atReceipt(t: Test) {
  const locker = await withLocker(t);
  const sim = locker.hardware.sim!;
  const bottom = await openPage(t, browser, locker.urls.bottom);
  await atStep(bottom, 'welcome');
  await chooseLanguage(bottom, 'English');
  await tap(bottom, en['welcome.pickup'] as string);
  await atStep(bottom, 'identify');
  await enterPin(bottom, '345678'); // the paid demo pickup, compartment 16
  await atStep(bottom, 'take-key');
  sim.closeDoor(15);
  await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door 16 closed');
  await tap(bottom, en['takeKey.done'] as string);
  await atStep(bottom, 'receipt');
  return { locker, bottom };
}

t.test('receipt by SMS to a typed number', async (t) => {
  const { locker, bottom } = await atReceipt(t);
  await screenshot(bottom, 'receipt-1-choose');
  await bottom.locator('[data-receipt="other-sms"]').click();
  await bottom.waitForFunction(`document.body.textContent.includes(${JSON.stringify(en['receipt.typeNumber'])})`);
  await keypad(bottom, '98765432');
  await screenshot(bottom, 'receipt-3-other-number');
  await bottom.locator('[data-receipt="send"]').click();
  await bottom.waitForFunction('["done", "welcome"].includes(document.body.dataset.step)');
  const sent = () => (locker.backOffice.service.messenger as unknown as { all(): { channel: string; to: string }[] }).all();
  await until(() => sent().some((m) => m.channel === 'sms' && m.to === '+4798765432'), 'the SMS to the typed number');
  t.notOk(sent().some((m) => m.to === '+4790011223'), "not to the order's own number");
  t.same(scriptErrors(bottom), []);
});

t.test("receipt by e-mail to the order's own address (the channel the payments walk does not take)", async (t) => {
  const { locker, bottom } = await atReceipt(t);
  const email = bottom.locator('[data-receipt="email"]');
  t.match(await email.textContent(), /E-mail to \w\*\*\*@/, 'the order’s address, masked');
  await email.click();
  await bottom.waitForFunction('["done", "welcome"].includes(document.body.dataset.step)');
  const sent = () => (locker.backOffice.service.messenger as unknown as { all(): { channel: string; subject: string; body: string }[] }).all();
  await until(() => sent().some((m) => m.channel === 'email' && m.subject.startsWith('Receipt')), 'the e-mail receipt');
  t.match(sent().find((m) => m.channel === 'email' && m.subject.startsWith('Receipt')), { body: /paid/ });
  const outbox = (await (await fetch(`${locker.urls.backOffice}api/outbox`)).json()) as { messages: { channel: string; toMasked: string }[] };
  t.match(outbox.messages.find((m) => m.channel === 'email'), { toMasked: /^\w\*\*\*@/ }, 'the staff outbox shows it masked');
  t.same(scriptErrors(bottom), []);
});
