/**
 * The mechanic journey in two Chromium pages: a tablet (enrolled with a code from the staff
 * page) asks for a dropped-off key; the locker's top screen shows a one-time QR; the test reads
 * it from a screenshot (jsQR over the PNG) and presents it as the tablet's camera would (the
 * tablet's typed fallback); the compartment opens on the simulator. The same code again, or
 * from a second tablet, is refused and no door opens.
 */
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { ok, recordedEvents, until, withLocker } from '../helpers/locker.js';

/** jsqr is CommonJS: under ESM its function is the module itself (its types say `default`). */
type Decode = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: Decode }).default ?? jsQRModule) as unknown as Decode;

/** The QR on the top screen, read from a screenshot as a camera would see it. */
async function readQr(top: Page): Promise<string> {
  await top.locator('.qr-img').waitFor({ state: 'visible' });
  await top.waitForFunction('document.querySelector(".qr-img")?.complete === true');
  const png = PNG.sync.read(await top.screenshot());
  return jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)?.data ?? '';
}

async function enrolTablet(t: Test, tablet: Page, staff: Page, name: string): Promise<void> {
  await staff.getByRole('button', { name: 'New enrolment code' }).click();
  await staff.locator('#enrol-code-shown .code').waitFor();
  const code = ((await staff.locator('#enrol-code-shown .code').textContent()) ?? '').replace(/\s/g, '');
  t.match(code, /^\d{8}$/, 'the staff page shows an enrolment code');
  await tablet.locator('#enrol-code').fill(code);
  await tablet.locator('#enrol-name').fill(name);
  await tablet.getByRole('button', { name: 'Enrol' }).click();
  await tablet.locator('#work').waitFor({ state: 'visible' });
}

t.test('tablet asks, the top screen shows the QR, the scan opens the compartment once, for that tablet only', async (t) => {
  const browser = await launchBrowser(t);
  // "Thank you" short: the QR waits while a customer is still on the bottom screen.
  const locker = await withLocker(t, { session: { doneMs: 1500 } });
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');

  // A customer drops the key of WO-1001 off (compartment 1).
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: null, remark: null });
  await ok(t, locker, { type: 'confirm' });
  sim.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'the door closed');
  await ok(t, locker, { type: 'confirm' });

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
  await until(() => sim.pulseCount === pulses + 1, 'the compartment opened on the simulator', 15_000);
  await until(() => locker.hardware.bank.doorState(1) === 'open', 'door 1 open', 5_000);
  await tablet.locator('li.request .state', { hasText: 'compartment 1 opened' }).waitFor();
  await screenshot(tablet, 'mechanic-tablet-opened');
  await top.waitForFunction('document.querySelector(".qr-img") === null', undefined, { timeout: 10_000 });
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
  await until(async () => (await recordedEvents(locker)).filter((e) => e.type === 'mechanic.refused').length >= 2, 'two refusals', 15_000);
  const refusals = (await recordedEvents(locker)).filter((e) => e.type === 'mechanic.refused').map((e) => e.payload.reason);
  t.same(refusals, ['REPLAYED', 'WRONG_TABLET'], 'the same code again: REPLAYED; from a second tablet: WRONG_TABLET');
  t.equal(sim.pulseCount, pulses + 1, 'no other door opened');

  // The mechanic takes the key and closes the door: the compartment is free, the key retrieved.
  sim.closeDoor(0);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'key.retrieved'), 'key.retrieved', 10_000);
  t.match(await locker.store.compartment(1), { state: 'free' }, 'compartment 1 is free again');
  // The work order's timeline on the tablet: dropped in compartment 1, collected by Bay 3.
  await order.locator('.milestones li.done[data-stage="collected-by-mechanic"]', { hasText: 'Bay 3' }).waitFor();
  t.match(await order.locator('.milestones li[data-stage="key-dropped"]').textContent(), /Key dropped.*compartment 1/, 'the tablet shows the key dropped in compartment 1');
  t.equal(await order.locator('.milestones li.todo[data-stage="collected-by-customer"]').count(), 1, 'and what has not happened yet');
  await screenshot(tablet, 'mechanic-tablet-timeline');
  t.same(scriptErrors(tablet), [], 'no script error on the tablet');
  t.same(scriptErrors(top), [], 'no script error on the top screen');
});

t.test('a key returned for pickup through the QR, then collected by the customer with their PIN', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');
  const staff = await openPage(t, browser, locker.urls.backOffice);
  const tablet = await openPage(t, browser, locker.urls.tablet, { width: 1024, height: 768 });
  await enrolTablet(t, tablet, staff, 'Front desk');
  const top = await openPage(t, browser, locker.urls.top, { width: 1280, height: 800 });

  // WO-0992's car is done: its pickup is booked, its key not in the locker yet.
  const order = tablet.locator('li.order[data-work-order="WO-0992"]');
  await order.getByRole('button', { name: 'Return key' }).click();
  const token = await readQr(top);
  t.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the QR decodes to a token');
  const pulses = sim.pulseCount;
  await tablet.locator('#scan-token').fill(token);
  await tablet.getByRole('button', { name: 'Send' }).click();
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'mechanic.opened'), 'a free compartment opened', 15_000);
  t.equal(sim.pulseCount, pulses + 1, 'one pulse');
  const opened = (await recordedEvents(locker)).find((e) => e.type === 'mechanic.opened')?.payload;
  const compartment = Number(opened?.compartment);
  t.equal(compartment, 1, 'the locker chose the first free compartment');
  await until(() => locker.hardware.bank.doorState(compartment) === 'open', 'its door open', 5_000);
  sim.closeDoor(compartment - 1);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'key.returned'), 'key.returned', 10_000);
  t.match(await locker.store.reservation('demo-pickup-not-ready'), { status: 'ready', compartmentId: compartment }, 'the pickup is ready in that compartment');
  await order.locator('.key-icon img').waitFor();
  await staff.getByText('Key returned for pickup: Front desk · compartment 1', { exact: false }).first().waitFor({ state: 'attached', timeout: 15_000 });
  t.pass('the staff timeline names the compartment and who returned it');
  await staff.locator('#tablets li', { hasText: 'Front desk' }).waitFor();
  await screenshot(staff, 'mechanic-staff-tablets');

  // The customer comes with the PIN the back office sent: the compartment opens.
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  const view = await ok(t, locker, { type: 'pin', pin: '567890' });
  t.match(view, { step: 'take-key', compartment }, 'the PIN opens the compartment the mechanic filled');
  t.equal(sim.pulseCount, pulses + 2);
  await until(() => locker.hardware.bank.doorState(compartment) === 'open', 'its door open', 5_000);
  sim.closeDoor(compartment - 1);
  await until(() => locker.hardware.bank.doorState(compartment) === 'closed', 'its door closed', 5_000);
  await ok(t, locker, { type: 'confirm' });
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'key.collected'), 'key.collected', 10_000);
  t.match(await locker.store.compartment(compartment), { state: 'free' }, 'the compartment is free again');
  // The timeline on the staff page and the tablet: returned by Front desk, collected by the customer.
  const card = staff.locator('article.card', { hasText: 'WO-0992' }).first();
  await card.locator('.milestones li.done[data-stage="collected-by-customer"]').waitFor();
  t.match(await card.locator('.milestones li[data-stage="returned"]').textContent(), /Returned for pickup.*Front desk · compartment 1/, 'the staff page: returned, by whom and where');
  await order.locator('.milestones li.done[data-stage="collected-by-customer"]').waitFor();
  t.pass('the tablet: collected by the customer');
  t.same(scriptErrors(tablet), [], 'no script error on the tablet');
  t.same(scriptErrors(staff), [], 'no script error on the staff page');
});
