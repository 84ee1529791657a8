/**
 * The mechanic journey in two Chromium pages: a tablet (enrolled with a code from the staff
 * page) asks for a dropped-off key; the locker's top screen shows a one-time QR; the test reads
 * it from a screenshot (jsQR over the PNG) and presents it as the tablet's camera would (the
 * tablet's typed fallback); the compartment opens on the simulator. The same code again, or
 * from a second tablet, is refused and no door opens. (A key returned for pickup:
 * mechanic-return.test.ts; one file each keeps each well inside the per-file time limit.)
 */
import t from 'tap';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { dropOffFirstKey, recordedEvents, until, withLocker } from '../helpers/locker.js';
import { enrolTablet, readQr } from '../helpers/mechanic-browser.js';

t.test('tablet asks, the top screen shows the QR, the scan opens the compartment once, for that tablet only', async (t) => {
  const browser = await launchBrowser(t);
  // "Thank you" short: the QR waits while a customer is still on the bottom screen.
  const locker = await withLocker(t, { session: { doneMs: 1500 } });
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');

  // A customer drops the key of WO-1001 off (compartment 1).
  await dropOffFirstKey(t, locker);

  // Staff make an enrolment code; the tablet enrols with it.
  const staff = await openPage(t, browser, locker.urls.backOffice);
  const tablet = await openPage(t, browser, locker.urls.tablet, { width: 1024, height: 768 });
  await enrolTablet(t, tablet, staff, 'Bay 3');
  const order = tablet.locator('li.order[data-work-order="WO-1001"]');
  await order.locator('.key-icon img[alt="key in the locker"]').waitFor();
  const flags = await tablet.locator('li.order').evaluateAll((items) => items.map((item) => item.classList.contains('in-locker')));
  t.ok(flags.length >= 3 && flags.indexOf(false) > 0 && flags.lastIndexOf(true) < flags.indexOf(false), `orders whose key is in the locker (with a key icon) come first: ${JSON.stringify(flags)}`);
  await screenshot(tablet, 'mechanic-tablet-list');

  // The tablet asks; the top screen shows the QR.
  const top = await openPage(t, browser, locker.urls.top, { width: 1280, height: 800 });
  await order.getByRole('button', { name: 'Scan QR' }).click();
  const token = await readQr(top);
  await screenshot(top, 'mechanic-top-qr');
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the QR on the top screen decodes to a token');

  // Presented as the tablet's camera would: its text into the tablet's fallback field.
  const pulses = sim.pulseCount;
  await tablet.locator('#scan-token').fill(token);
  await tablet.getByRole('button', { name: 'Send' }).click();
  await until(() => sim.pulseCount === pulses + 1, 'the compartment opened on the simulator');
  await until(() => locker.hardware.bank.doorState(1) === 'open', 'door 1 open');
  await tablet.locator('li.request .state', { hasText: 'compartment 1 opened' }).waitFor();
  await screenshot(tablet, 'mechanic-tablet-opened');
  await top.waitForFunction('document.querySelector(".qr-img") === null');
  t.pass('the QR left the top screen once used');

  // The same code again from the same tablet, then from a second tablet: refused, no pulse.
  const credential = await tablet.evaluate(() => localStorage.getItem('keylocker.tablet.credential'));
  const requestId = (await tablet.locator('li.request').first().getAttribute('data-request')) ?? '';
  const scan = async (bearer: string | null) =>
    fetch(new URL('/api/mechanic/scan', locker.urls.backOffice), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${bearer ?? ''}` },
      body: JSON.stringify({ requestId, token }),
    });
  t.equal((await scan(credential)).status, 202, 'the back office forwards the repeat');
  const codeTwo = (await (await fetch(new URL('/api/tablets/enrolment-code', locker.urls.backOffice), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).json()) as { code: string };
  const second = (await (await fetch(new URL('/api/tablets/enrol', locker.urls.backOffice), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: codeTwo.code, name: 'Bay 4' }) })).json()) as { credential: string };
  t.equal((await scan(second.credential)).status, 202, 'and the second tablet\u2019s');
  await until(async () => (await recordedEvents(locker)).filter((e) => e.type === 'mechanic.refused').length >= 2, 'two refusals');
  const refusals = (await recordedEvents(locker)).filter((e) => e.type === 'mechanic.refused').map((e) => e.payload.reason);
  t.same(refusals, ['REPLAYED', 'WRONG_TABLET'], 'the same code again: REPLAYED; from a second tablet: WRONG_TABLET');
  t.equal(sim.pulseCount, pulses + 1, 'no other door opened');

  // The mechanic takes the key and closes the door: the compartment is free, the key retrieved.
  sim.closeDoor(0);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'key.retrieved'), 'key.retrieved');
  t.match(await locker.store.compartment(1), { state: 'free' }, 'compartment 1 is free again');
  // The work order's timeline on the tablet: dropped in compartment 1, collected by Bay 3.
  await order.locator('.milestones li.done[data-stage="collected-by-mechanic"]', { hasText: 'Bay 3' }).waitFor();
  t.match(await order.locator('.milestones li[data-stage="key-dropped"]').textContent(), /Key dropped.*compartment 1/, 'the tablet shows the key dropped in compartment 1');
  t.equal(await order.locator('.milestones li.todo[data-stage="collected-by-customer"]').count(), 1, 'and what has not happened yet');
  await screenshot(tablet, 'mechanic-tablet-timeline');
  t.same(scriptErrors(tablet), [], 'no script error on the tablet');
  t.same(scriptErrors(top), [], 'no script error on the top screen');
});
