/**
 * Help calls answered per staff member (issue 10), in real Chromium: a customer calls for help
 * on the locker's bottom screen; two staff pages, each with its own staff name, show the call;
 * Ola ignores it (it leaves Ola's page only, Kari still sees it); Kari takes it (it leaves both
 * pages) and the locker's screen shows that help is on its way.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { atStep, chooseLanguage, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { until, withLocker } from '../helpers/locker.js';

async function staffPage(page: Page, name: string): Promise<void> {
  await page.locator('#staff-name').fill(name);
  await page.locator('#staff-name').press('Tab'); // the page keeps it (localStorage) on change
  await page.waitForFunction(`localStorage.getItem('staffName') === ${JSON.stringify(name)}`);
}

t.test('two staff pages: Ola ignores the call (Kari still sees it), Kari takes it (gone from both), the locker shows help is coming', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  // Two people, two browsers (their own localStorage): separate contexts.
  const ola = await openPage(t, browser, locker.urls.backOffice, { width: 1280, height: 800 });
  const kari = await openPage(t, browser, locker.urls.backOffice, { width: 1280, height: 800 });
  await staffPage(ola, 'Ola');
  await staffPage(kari, 'Kari');

  const bottom = await openPage(t, browser, `${locker.urls.bottom}?lang=en`);
  await atStep(bottom, 'welcome');
  await chooseLanguage(bottom, 'English');
  await tap(bottom, 'Drop off a key');
  await atStep(bottom, 'identify');
  await tap(bottom, 'Help');
  await bottom.locator('.overlay.help .call-btn').click();
  await bottom.locator('main .help-call.requested').waitFor();

  const callOn = (page: Page) => page.locator('#help li[data-help-call]');
  await callOn(ola).waitFor();
  await callOn(kari).waitFor();
  const callId = (await callOn(ola).getAttribute('data-help-call')) ?? '';
  t.match(callId, /\S/, 'both pages show the call');
  await ola.locator('#help-h').scrollIntoViewIfNeeded();
  await kari.locator('#help-h').scrollIntoViewIfNeeded();
  await screenshot(ola, 'staff-help-ola');
  await screenshot(kari, 'staff-help-kari');

  // Ola ignores it: gone from Ola's page, still on Kari's; the locker is not told.
  const commandsBefore = (await locker.backOffice.service.staffState()).commands.length;
  await ola.locator(`[data-ignore="${callId}"]`).click();
  await callOn(ola).waitFor({ state: 'detached' });
  t.equal(await ola.locator('#help .empty').textContent(), 'No help calls.', "Ola's page no longer lists it");
  await ola.reload();
  await ola.locator('#help .empty').waitFor();
  t.equal(await callOn(ola).count(), 0, 'not after a reload either (kept by the back office for Ola)');
  t.equal(await callOn(kari).count(), 1, "Kari's page still shows it");
  t.equal((await locker.backOffice.service.staffState()).commands.length, commandsBefore, 'ignoring sends nothing to the locker');
  t.equal(await bottom.locator('main .help-call.requested').count(), 1, 'the locker still says help was called');

  // Kari takes it: gone from both pages; the locker's screen says someone is coming.
  await kari.locator(`[data-take="${callId}"]`).click();
  await callOn(kari).waitFor({ state: 'detached' });
  await bottom.locator('main .help-call.taken').waitFor();
  t.match(await bottom.locator('main .help-call.taken').textContent(), /Someone has taken your call/, 'the locker shows the call is taken');
  t.equal(await callOn(ola).count(), 0, "not on Ola's page");
  t.equal(await callOn(kari).count(), 0, "not on Kari's page");
  await until(() => locker.journeys.view().helpCall === 'taken', 'the locker holds the call as taken');
  t.same(scriptErrors(ola), []);
  t.same(scriptErrors(kari), []);
  t.same(scriptErrors(bottom), []);
});
