/**
 * Remote open from the staff page (issue 10), in real Chromium against a test locker on the
 * simulator and the reference back office: an open with a reason opens the compartment on the
 * simulator; the 5th remote open within a minute is refused by the locker (its throttle,
 * kiosk/core/open-throttle.ts), nothing is pulsed, and its alarm shows on the staff page.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { recordedEvents, until, withLocker } from '../helpers/locker.js';

const tile = (page: Page, id: number) => page.locator(`#compartments li.comp-tile[data-compartment="${id}"]`);

async function remoteOpen(page: Page, id: number, reason: string): Promise<void> {
  await tile(page, id).locator('[data-remote-open]').click();
  await page.locator('#comp-reason').fill(reason);
  await page.locator('#comp-submit').click();
  await page.locator('#comp-action').waitFor({ state: 'hidden' });
}

t.test('remote open with a reason opens the door; the 5th in a minute is refused and the alarm shows', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');
  const staff = await openPage(t, browser, locker.urls.backOffice, { width: 1280, height: 800 });
  await staff.locator('#staff-name').fill('Kari');
  await staff.locator('#staff-name').press('Tab');
  await tile(staff, 16).waitFor();

  // An open without the staff member's name is not sent: the locker records who opened it.
  await staff.locator('#staff-name').fill('');
  await staff.locator('#staff-name').press('Tab');
  await tile(staff, 2).locator('[data-remote-open]').click();
  await staff.locator('#comp-reason').fill('no name');
  await staff.locator('#comp-submit').click();
  t.match(await staff.locator('#comp-error').textContent(), /Type your name/, 'no name: the page says so');
  await staff.locator('#comp-cancel').click();
  await staff.locator('#staff-name').fill('Kari');
  await staff.locator('#staff-name').press('Tab');

  // Remote open of 2..5: each opens its door on the simulator.
  for (const id of [2, 3, 4, 5]) {
    const pulses = sim.pulseCount;
    await remoteOpen(staff, id, `customer forgot something in ${id}`);
    await until(() => sim.pulseCount > pulses && locker.hardware.bank.doorState(id) === 'open', `door ${id} opened on the simulator`);
    await tile(staff, id).and(staff.locator('[data-door="open"]')).waitFor();
  }
  // The 5th within the minute: refused by the locker, nothing pulsed, the alarm on the page.
  const pulses = sim.pulseCount;
  await remoteOpen(staff, 6, 'one more');
  await staff.locator('.alarm[data-alarm="alarm.remote-open-throttled"]').waitFor();
  t.match(await staff.locator('.alarm').first().textContent(), /More than 4 remote opens in 60 s: compartment 6 was not opened.*Kari/s, 'the alarm says what happened');
  await staff.locator('[data-last-action="6"].bad', { hasText: 'too many remote opens' }).waitFor();
  t.equal(sim.pulseCount, pulses, 'no pulse for the 5th');
  t.equal(locker.hardware.bank.doorState(6), 'closed');
  const events = (await recordedEvents(locker)).map((e) => e.type);
  t.equal(events.filter((type) => type === 'compartment.remote-open-done').length, 4, 'four remote opens done');
  t.ok(events.includes('alarm.remote-open-throttled'), 'the locker raised the alarm');
  await screenshot(staff, 'staff-compartments-alarm');

  t.same(scriptErrors(staff), []);
});
