/**
 * PIN entry on the bottom screen in real Chromium (issue 11): "I have a PIN" lets the PIN
 * decide the journey; a PIN for the other journey says so and offers the switch; an error
 * says what to do next and offers Call for help. Screenshots under docs/screens/.
 */
import t from 'tap';
import type { Browser } from 'playwright-core';
import { atStep, catalogue, openInEnglish, enterPin, errorText, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, screenshot, scriptErrors } from '../helpers/browser.js';
import { withLocker } from '../helpers/locker.js';

const en = catalogue('en');
const text = (key: string): string => {
  const value = en[key];
  if (value === undefined) throw new Error(`no catalogue key ${key}`);
  return value;
};

let browser: Browser;
t.before(async () => {
  browser = await launchBrowser(t);
});


t.test('"I have a PIN": the pickup PIN opens its compartment without choosing first', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, text('welcome.havePin'));
  await atStep(page, 'identify');
  await enterPin(page, '345678');
  await atStep(page, 'take-key');
  t.match(await page.locator('main').textContent(), /16/);
  t.same(scriptErrors(page), []);
});

t.test('a pickup PIN after "Drop off": "This PIN is for picking up", and one tap switches', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, text('welcome.dropoff'));
  await atStep(page, 'identify');
  await enterPin(page, '345678');
  await page.locator('[data-offer="switch"]').waitFor();
  t.match(await errorText(page), text('otherJourney.pickup'));
  t.notMatch(await errorText(page), /tries? left/, 'not counted as a wrong PIN');
  t.ok(await page.locator('[data-offer="call-help"]').isVisible(), 'Call for help is offered too');
  await screenshot(page, 'pin-other-journey');
  await tap(page, text('otherJourney.switchPickup'));
  await atStep(page, 'take-key');
  t.same(scriptErrors(page), []);
});

t.test('a not-ready pickup: the message, the next step and Call for help', async (t) => {
  const locker = await withLocker(t);
  const page = await openInEnglish(t, browser, locker.urls.bottom);
  await tap(page, text('welcome.havePin'));
  await atStep(page, 'identify');
  await enterPin(page, '567890');
  await page.locator('[data-offer="call-help"]').waitFor();
  t.match(await errorText(page), text('error.NOT_READY'));
  t.match(await page.locator('main .error-block').first().textContent(), text('next.NOT_READY'), 'what to do next, beside it');
  await screenshot(page, 'pin-not-ready');
  await tap(page, text('common.callHelp'));
  await page.waitForFunction(`document.body.textContent.includes(${JSON.stringify(text('common.helpCalled'))})`);
  t.same(scriptErrors(page), []);
});
