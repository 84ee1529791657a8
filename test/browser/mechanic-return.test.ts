/**
 * The mechanic journey, the other way: a finished car's key returned for pickup through the
 * locker's one-time QR (a tablet, the top screen, the simulator), then collected by the
 * customer with their PIN; the work order's timeline on the staff page and the tablet.
 */
import t from 'tap';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { ok, recordedEvents, until, withLocker } from '../helpers/locker.js';
import { enrolTablet, readQr } from '../helpers/mechanic-browser.js';

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
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'mechanic.opened'), 'a free compartment opened');
  t.equal(sim.pulseCount, pulses + 1, 'one pulse');
  const opened = (await recordedEvents(locker)).find((e) => e.type === 'mechanic.opened')?.payload;
  const compartment = Number(opened?.compartment);
  t.equal(compartment, 1, 'the locker chose the first free compartment');
  await until(() => locker.hardware.bank.doorState(compartment) === 'open', 'its door open');
  sim.closeDoor(compartment - 1);
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'key.returned'), 'key.returned');
  t.match(await locker.store.reservation('demo-pickup-not-ready'), { status: 'ready', compartmentId: compartment }, 'the pickup is ready in that compartment');
  // The back office tells the customer: the pickup message, with the order's phone link (issue 12).
  const sent = () => (locker.backOffice.service.messenger as unknown as { all(): { reservationId: string | null; subject: string; body: string; link: string | null }[] }).all();
  await until(() => sent().some((m) => m.reservationId === 'demo-pickup-not-ready' && m.subject.startsWith('Ready for pickup')), 'the pickup message');
  t.match(sent().find((m) => m.reservationId === 'demo-pickup-not-ready'), { link: /\/open\/[A-Za-z0-9_-]{43}$/, body: new RegExp(`compartment ${compartment} `) }, 'it names the compartment and carries the link');
  await order.locator('.key-icon img').waitFor();
  await staff.getByText('Key returned for pickup: Front desk · compartment 1', { exact: false }).first().waitFor({ state: 'attached' });
  t.pass('the staff timeline names the compartment and who returned it');
  await staff.locator('#tablets li', { hasText: 'Front desk' }).waitFor();
  await screenshot(staff, 'mechanic-staff-tablets');

  // The customer comes with the PIN the back office sent: the compartment opens.
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  const view = await ok(t, locker, { type: 'pin', pin: '567890' });
  t.match(view, { step: 'take-key', compartment }, 'the PIN opens the compartment the mechanic filled');
  t.equal(sim.pulseCount, pulses + 2);
  await until(() => locker.hardware.bank.doorState(compartment) === 'open', 'its door open');
  sim.closeDoor(compartment - 1);
  await until(() => locker.hardware.bank.doorState(compartment) === 'closed', 'its door closed');
  await ok(t, locker, { type: 'confirm' });
  await until(async () => (await recordedEvents(locker)).some((e) => e.type === 'key.collected'), 'key.collected');
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
