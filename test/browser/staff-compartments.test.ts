/**
 * The staff's compartment view (issue 10) in real Chromium against a test locker on the
 * simulator and the reference back office: 16 tiles with state, door and content; a quarantine
 * cleared with a reason (a refusal shown plainly on the tile). Remote open and its throttle:
 * staff-remote-open.test.ts.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { quarantineIn } from '../../kiosk/core/quarantine.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { dropOffFirstKey, until, withLocker } from '../helpers/locker.js';

const tile = (page: Page, id: number) => page.locator(`#compartments li.comp-tile[data-compartment="${id}"]`);

t.test('16 tiles with state, door and content; a quarantine cleared with a reason, a refusal shown on its tile', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t, { session: { doneMs: 1000 } });
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');

  // A customer drops the key of WO-1001 off: compartment 1 holds it.
  await dropOffFirstKey(t, locker);
  // Two compartments the locker set aside; door 10 is open (so its clear is refused).
  await locker.store.transaction((tx) => quarantineIn(tx, 9, null, 'open failed: JAMMED'));
  await locker.store.transaction((tx) => quarantineIn(tx, 10, null, 'forced open'));
  sim.forceDoor(9);
  await until(() => locker.hardware.bank.doorState(10) === 'open', 'door 10 open');

  const staff = await openPage(t, browser, locker.urls.backOffice, { width: 1280, height: 800 });
  await staff.locator('#staff-name').fill('Kari');
  await staff.locator('#staff-name').dispatchEvent('change');
  await t.resolves(tile(staff, 16).waitFor(), 'the tiles are drawn');
  t.equal(await staff.locator('#compartments li.comp-tile').count(), 16, '16 tiles');
  await tile(staff, 1).and(staff.locator('[data-state="occupied"]')).waitFor();
  t.match(await tile(staff, 1).textContent(), /Key inside.*Door closed.*WO-1001/s, 'compartment 1: key inside, door closed, its order');
  await tile(staff, 9).and(staff.locator('[data-state="quarantined"]')).waitFor();
  t.match(await tile(staff, 9).textContent(), /Quarantined.*open failed: JAMMED/s, 'compartment 9: quarantined, with why');
  await tile(staff, 10).and(staff.locator('[data-door="open"]')).waitFor();
  t.match(await tile(staff, 2).textContent(), /Free.*Door closed.*empty/s, 'compartment 2: free and empty');
  await screenshot(staff, 'staff-compartments');

  // Clear 9: a reason is required (nothing is sent without one).
  const commandsBefore = (await locker.backOffice.service.staffState()).commands.length;
  await tile(staff, 9).locator('[data-clear]').click();
  await staff.locator('#comp-submit').click();
  t.match(await staff.locator('#comp-error').textContent(), /Say what you found/, 'no reason: the page says so');
  t.equal((await locker.backOffice.service.staffState()).commands.length, commandsBefore, 'and sends nothing');
  await staff.locator('#comp-reason').fill('Looked inside: empty, the lock works');
  await staff.locator('#comp-submit').click();
  await tile(staff, 9).and(staff.locator('[data-state="free"]')).waitFor();
  t.equal((await locker.store.compartment(9))?.state, 'free', 'the locker put 9 back into service');

  // Clear 10 with its door open: refused by the locker, and the tile says why.
  await tile(staff, 10).locator('[data-clear]').click();
  await staff.locator('#comp-reason').fill('Looked inside');
  await staff.locator('#comp-submit').click();
  await staff.locator('[data-last-action="10"].bad', { hasText: 'door 10 is open: close it first' }).waitFor();
  t.equal((await locker.store.compartment(10))?.state, 'quarantined', 'still quarantined');

  // Readable at 1024x600 too: every tile within the page's width, none overlapping.
  await staff.setViewportSize({ width: 1024, height: 600 });
  const boxes = await staff.locator('#compartments li.comp-tile').evaluateAll((items) => items.map((item) => item.getBoundingClientRect().toJSON() as DOMRect));
  t.ok(boxes.every((b) => b.left >= 0 && b.right <= 1024 && b.width >= 150), `16 tiles fit 1024 px, each at least 150 px wide: ${JSON.stringify(boxes.map((b) => Math.round(b.width)))}`);
  t.same(scriptErrors(staff), []);
});
