/**
 * The back office and the locker together, in real Chromium: staff create a reservation on
 * the staff page, the customer drops the key at the locker, the staff page shows it arrived.
 */
import t from 'tap';
import { atStep, chooseLanguage, enterPin, keyboard, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { until, withLocker } from '../helpers/locker.js';

t.test('staff create a drop-off; the customer drops the key; staff see it in, with the remark', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  const staffUrl = locker.urls.backOffice;
  if (!staffUrl) throw new Error('no reference back office');

  const staff = await openPage(t, browser, staffUrl, { width: 1440, height: 900 });
  const form = staff.locator('form#create');
  await form.locator('input[name="workOrder"]').fill('WO-7777');
  await form.locator('input[name="plate"]').fill('BT 55501');
  await form.locator('input[name="driverName"]').fill('Siri Strand');
  await form.locator('input[name="phone"]').fill('+47 955 55 501');
  await form.locator('button[type="submit"]').click();
  const card = staff.locator('.card', { hasText: 'WO-7777' });
  await card.waitFor();
  const pin = ((await card.locator('.pin').textContent()) ?? '').trim();
  t.match(pin, /^\d{6}$/, 'the staff page shows the new PIN (demo only)');

  // The reservation reaches the locker over the link.
  await until(async () => (await locker.db.get("SELECT 1 AS one FROM reservations WHERE work_order = 'WO-7777'")) !== undefined, 'the reservation on the locker');

  const bottom = await openPage(t, browser, `${locker.urls.bottom}?lang=en`);
  await atStep(bottom, 'welcome');
  await chooseLanguage(bottom, 'English');
  await tap(bottom, 'Drop off a key');
  await atStep(bottom, 'identify');
  await enterPin(bottom, pin);
  await atStep(bottom, 'details');
  await tap(bottom, 'Add a remark');
  await keyboard(bottom, 'BRAKES SQUEAK');
  await tap(bottom, 'Save');
  await bottom.getByText('BRAKES SQUEAK').first().waitFor();
  await tap(bottom, 'Confirm');
  await atStep(bottom, 'place-key');
  const compartment = locker.journeys.view().compartment;
  if (compartment === null) throw new Error('no compartment open');
  locker.hardware.sim?.closeDoor(compartment - 1);
  await until(() => locker.hardware.bank.doorState(compartment) === 'closed', 'door closed');
  await tap(bottom, 'Confirm');
  await atStep(bottom, 'done');

  await card.getByText('BRAKES SQUEAK').waitFor();
  t.match(await card.textContent(), /Remark from the customer: BRAKES SQUEAK/);
  t.match(await card.locator('.status').textContent(), /key in|deposited/i, 'the key is shown as in the locker');
  await screenshot(staff, 'backoffice-staff');
  t.same(scriptErrors(staff), []);
  t.same(scriptErrors(bottom), []);
});
