/**
 * The journeys in real Chromium, tapped the way a customer taps them. The drop-off journey
 * saves a screenshot of every step under docs/screens/ (shown in the README).
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { atStep, catalogue, chooseLanguage, openInEnglish, enterPin, errorText, keyboard, keypad, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { recordedEvents, until, withLocker } from '../helpers/locker.js';

const en = catalogue('en');

// Eight journeys in real Chromium: minutes on a shared machine under load (tap's default is 120 s).
t.setTimeout(300_000);

let browser: Browser;
t.before(async () => {
  browser = await launchBrowser(t);
});


t.test('PIN drop-off, every step on screen, top screen shows the compartment', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  const top = await openPage(t, browser, locker.urls.top, { width: 1280, height: 720 });
  await screenshot(page, 'dropoff-1-welcome');
  await tap(page, en['welcome.dropoff'] as string);
  await atStep(page, 'identify');
  await keypad(page, '123');
  await screenshot(page, 'dropoff-2-pin');
  await keypad(page, '456');
  await tap(page, 'OK');
  await atStep(page, 'details');
  t.match(await page.locator('main').textContent(), /Kari Nordmann/);
  await tap(page, en['details.addRemark'] as string);
  await keyboard(page, 'WINTER TYRES');
  await tap(page, en['details.save'] as string);
  await page.getByText('WINTER TYRES').first().waitFor();
  await screenshot(page, 'dropoff-3-details');
  await tap(page, en['details.confirm'] as string);
  await atStep(page, 'place-key');
  t.match(await page.locator('main').textContent(), /compartment 1/);
  await top.waitForFunction('document.body.textContent.includes("1")');
  await screenshot(page, 'dropoff-4-place-key');
  await screenshot(top, 'dropoff-4-top-screen');
  await tap(page, en['common.confirm'] as string);
  await page.waitForFunction(`document.querySelector("main p.error")?.textContent.includes(${JSON.stringify(en['error.DOOR_OPEN'])})`);
  t.match(await errorText(page), en['error.DOOR_OPEN'] as string, 'Confirm with the door still open is refused on screen');
  locker.hardware.sim?.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'door closed');
  await page.waitForFunction('!document.querySelector("main p.error:not(.empty)")');
  await tap(page, en['common.confirm'] as string);
  await atStep(page, 'done');
  await screenshot(page, 'dropoff-5-done');
  const deposited = (await recordedEvents(locker)).find((e) => e.type === 'key.deposited');
  t.match(deposited?.payload, { compartment: 1, remark: 'WINTER TYRES' });
  t.same(scriptErrors(page), []);
  t.same(scriptErrors(top), []);
});

t.test('plate lookup, then the PIN, then the drop-off', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, en['welcome.dropoff'] as string);
  await atStep(page, 'identify');
  await tap(page, en['identify.usePlate'] as string);
  await page.locator('.keyboard').waitFor();
  await keyboard(page, 'AB12345');
  await screenshot(page, 'lookup-1-plate');
  await tap(page, 'OK');
  await atStep(page, 'lookup-result');
  t.match(await page.locator('main').textContent(), /k\*\*\*@example\.com/);
  await screenshot(page, 'lookup-2-result');
  await tap(page, en['lookup.send'] as string);
  await atStep(page, 'lookup-sent');
  await tap(page, en['lookupSent.enterPin'] as string);
  await atStep(page, 'identify');
  await enterPin(page, '123456');
  await atStep(page, 'details');
  await tap(page, en['details.confirm'] as string);
  await atStep(page, 'place-key');
  t.ok((await recordedEvents(locker)).some((e) => e.type === 'pin.delivery-requested'));
  t.same(scriptErrors(page), []);
});

t.test('phone lookup shows the masked number', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, en['welcome.dropoff'] as string);
  await atStep(page, 'identify');
  await tap(page, en['identify.usePhone'] as string);
  await page.locator('.keypad .key-extra').waitFor();
  await keypad(page, '98765432');
  await tap(page, 'OK');
  await atStep(page, 'lookup-result');
  t.match(await page.locator('main').textContent(), /\+47 \*\*\* \*\* 432/);
  t.notMatch(await page.locator('main').textContent(), /Ola|Hansen|EL 98765/, 'nothing about who it is');
});

t.test('five wrong PINs: the lockout message with a countdown', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, en['welcome.dropoff'] as string);
  await atStep(page, 'identify');
  for (let i = 1; i <= 4; i += 1) {
    await enterPin(page, `00000${i}`);
    await page.waitForFunction(`document.querySelector("main p.error")?.textContent.includes(${JSON.stringify(en['error.PIN_WRONG'])})`);
  }
  await enterPin(page, '000005');
  await atStep(page, 'locked-out');
  t.match(await page.locator('main').textContent(), new RegExp(en['lockedOut.title'] as string));
  await screenshot(page, 'lockout');
});

t.test('abandon after the door opened: asked first, then "close door 1", then the compartment is quarantined', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, en['welcome.dropoff'] as string);
  await atStep(page, 'identify');
  await enterPin(page, '234567');
  await atStep(page, 'details');
  await tap(page, en['details.confirm'] as string);
  await atStep(page, 'place-key');
  await page.getByRole('button', { name: en['common.abandon'] as string }).first().click();
  await page.getByText(en['abandon.title'] as string).waitFor();
  await screenshot(page, 'abandon-confirm');
  await tap(page, en['abandon.yes'] as string);
  // The door is still open: the customer is asked to take the key back and close it first.
  await atStep(page, 'close-door');
  locker.hardware.sim?.closeDoor(0);
  await atStep(page, 'welcome');
  // The simulator has no item sensor: what is inside is unknown, so the compartment waits for staff.
  t.match(await locker.store.compartment(1), { state: 'quarantined' });
  const sim = await openPage(t, browser, locker.urls.sim as string, { width: 1440, height: 900 });
  await sim.getByText('quarantined', { exact: false }).first().waitFor();
  await screenshot(sim, 'simulator');
});

t.test('pickup: paid opens the door; unpaid shows the payment step and nothing opens', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, en['welcome.pickup'] as string);
  await atStep(page, 'identify');
  await enterPin(page, '345678');
  await atStep(page, 'take-key');
  t.match(await page.locator('main').textContent(), /compartment 16/);
  locker.hardware.sim?.closeDoor(15);
  await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door closed');
  await tap(page, en['takeKey.done'] as string);
  // A paid pickup is offered a receipt (issue 12).
  await atStep(page, 'receipt');
  await tap(page, en['receipt.none'] as string);
  await atStep(page, 'done');
  await tap(page, en['done.finish'] as string);
  await atStep(page, 'welcome');
  // The next customer starts in the locker's language again.
  await page.waitForFunction(`document.body.textContent.includes(${JSON.stringify(catalogue('nb')['welcome.pickup'])})`);
  await chooseLanguage(page, 'English');

  const pulses = locker.hardware.sim?.pulseCount;
  await tap(page, en['welcome.pickup'] as string);
  await atStep(page, 'identify');
  await enterPin(page, '456789');
  await atStep(page, 'payment');
  t.match(await page.locator('main').textContent(), /2[\s\u00a0\u202f,.]?490/);
  await screenshot(page, 'pickup-payment');
  // "Check payment" asks the back office to look again (issue 12: it was "I have paid").
  await tap(page, en['payment.checkNow'] as string);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'payment.check-requested'), 'the check reached the outbox');
  t.equal(locker.hardware.sim?.pulseCount, pulses, 'no lock was pulsed');
});

t.test('idle: the warning, then back to the welcome screen', async (t) => {
  // The warning shows from 1 s after the last touch until the session ends: 7 s (it was 2 s) for
  // the test to reach the identify step, see the warning and take its screenshot on a loaded
  // machine, where a step missed before the timeout is waited for in vain.
  const locker = await withLocker(t, { session: { idleTimeoutMs: 8000, idleWarningMs: 7000 } });
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, en['welcome.dropoff'] as string);
  await atStep(page, 'identify');
  await page.locator('.idle-warning, [data-countdown="idle"]').first().waitFor();
  await screenshot(page, 'idle-warning');
  await atStep(page, 'welcome');
  t.pass('warned, then back to welcome');
});

t.test('each language: the welcome screen speaks it', async (t) => {
  const locker = await withLocker(t);
  const page = await openPage(t, browser, locker.urls.bottom);
  await atStep(page, 'welcome');
  const names: Record<string, string> = { nb: 'Norsk', sv: 'Svenska', fr: 'Français', en: 'English' };
  for (const lang of ['sv', 'fr', 'en', 'nb']) {
    await chooseLanguage(page, names[lang] as string);
    const title = catalogue(lang)['welcome.dropoff'] as string;
    await page.waitForFunction(`document.body.textContent.includes(${JSON.stringify(title)})`);
    t.pass(`${lang}: "${title}"`);
    await screenshot(page, `welcome-${lang}`);
  }
  t.same(scriptErrors(page), []);
});
