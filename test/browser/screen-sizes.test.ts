/**
 * Every journey on the five screens a locker really has: 800x480, 1024x600, 1280x800
 * landscape, 1080x1920 and 600x1024 portrait. One browser, one page per size, and the pages
 * all show the same locker: the locker has one customer session, so each server step is shown
 * by every page at once and checked on each. What is local to a page (typing on the keypad or
 * keyboard, the remark and phone editors, the language chooser) is done on every page. Who
 * sends the journey's actions rotates across the sizes.
 *
 * At each step and size, the layout check (test/helpers/layout.ts) measures that no
 * interactive element is covered, clipped, outside the viewport or under 60 px; axe-core
 * checks each screen (at 1024x600) for serious or critical violations. Screenshots of the
 * main steps go to docs/screens/<size>/; SCREENSHOTS=all takes one of every step.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Browser, Page } from 'playwright-core';
import { atStep, keyboard, keypad, tap, waitForError } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, SCREENS_DIR, scriptErrors } from '../helpers/browser.js';
import { axeViolations, layoutProblems } from '../helpers/layout.js';
import { startTestLocker, until } from '../helpers/locker.js';
import type { Locker } from '../../kiosk/locker.js';

const catalogue = (lang: string): Record<string, string> =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'ui', 'i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
const en = catalogue('en');
const say = (key: string): string => {
  const text = en[key];
  if (text === undefined) throw new Error(`no catalogue key ${key}`);
  return text;
};

const SIZES = [
  { width: 800, height: 480 },
  { width: 1024, height: 600 },
  { width: 1280, height: 800 },
  { width: 1080, height: 1920 },
  { width: 600, height: 1024 },
] as const;
type Size = (typeof SIZES)[number];
const sizeName = (s: Size): string => `${s.width}x${s.height}`;

interface Screen {
  size: Size;
  page: Page;
}

/** What the walk found: layout problems per step and size, axe findings per step. */
const axeReport: Record<string, string[]> = {};
let browser: Browser;
let screens: Screen[] = [];

async function shot(page: Page, size: Size, name: string): Promise<void> {
  const dir = join(SCREENS_DIR, sizeName(size));
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

/**
 * Wait until every page shows `step` (and `ready`, a predicate in the page, holds), then check
 * the layout on each; axe on one of them (a different size each time); screenshots if asked.
 */
async function checkAll(t: Test, name: string, step: string, options: { ready?: string; pages?: Screen[]; screenshot?: boolean } = {}): Promise<void> {
  const targets = options.pages ?? screens;
  const started = Date.now();
  let lap = started;
  const laps: string[] = [];
  const note = (what: string) => { const now = Date.now(); laps.push(`${what} ${now - lap}`); lap = now; };
  // axe-core is large to load on a slow machine: one page (1024x600) checks every screen.
  const axeAt = targets.find((s) => s.size === SIZES[1]) ?? targets[0];
  await Promise.all(targets.map(async ({ page }) => {
    await atStep(page, step);
    if (options.ready) await page.waitForFunction(options.ready);
  }));
  note('ready');
  const found = await Promise.all(targets.map((screen) => layoutProblems(screen.page)));
  targets.forEach((screen, i) => t.same(found[i], [], `${name} at ${sizeName(screen.size)}: nothing covered, clipped or outside the screen`));
  note('layout');
  if (options.screenshot || process.env.SCREENSHOTS === 'all') await Promise.all(targets.map((screen) => shot(screen.page, screen.size, name)));
  note('shots');
  for (const screen of targets) {
    if (screen === axeAt) {
      const violations = await axeViolations(screen.page);
      axeReport[name] = violations.map((v) => `${v.id} (${v.impact}): ${v.targets.join(' ')}`);
      t.same(axeReport[name], [], `${name} at ${sizeName(screen.size)}: no serious or critical axe violation`);
      note('axe');
    }
  }
  note('checks');
  if (process.env.SCREENS_TIMING) t.comment(`${name}: ${Date.now() - started} ms (${laps.join(', ')}) since start ${Date.now() - T0}`);
}
const T0 = Date.now();

const textIs = (selector: string, text: string): string =>
  `document.querySelector(${JSON.stringify(selector)})?.textContent.includes(${JSON.stringify(text)})`;

async function lockerIn(root: string, name: string, overrides: Record<string, unknown> = {}): Promise<Locker> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const locker = await startTestLocker(dir, { defaultLanguage: 'en', ...overrides });
  t.teardown(() => locker.stop());
  return locker;
}

// The walk is long on a shared 2-core machine under load; unloaded it takes well under a minute.
t.setTimeout(480_000);

let main: Locker;
// The lockout and idle walks need lockers of their own; they start while the others run.
let lockoutLocker: Promise<Locker>;
let idleLocker: Promise<Locker>;

t.before(async () => {
  const root = t.testdir();
  lockoutLocker = lockerIn(root, 'lockout');
  // The warning shows from 1 s after the tap until the session ends: the five pages must reach
  // it and be laid out, shot and axe-checked within that window (5 s was short on a loaded
  // machine: a page that arrives after the timeout waits for the identify step in vain).
  idleLocker = lockerIn(root, 'idle', { session: { idleTimeoutMs: 16_000, idleWarningMs: 15_000 } });
  // A locker that fails to start fails the test that awaits it, not the process.
  lockoutLocker.catch(() => {});
  idleLocker.catch(() => {});
  [browser, main] = await Promise.all([launchBrowser(t), lockerIn(root, 'main')]);
  screens = await Promise.all(SIZES.map(async (size) => ({ size, page: await openPage(t, browser, main.urls.bottom, size) })));
  if (process.env.SCREENS_TIMING) t.comment(`before: ${Date.now() - T0} ms`);
});

const actor = (i: number): Screen => screens[i % screens.length] as Screen;

t.test('welcome and the language chooser', async (t) => {
  await checkAll(t, 'welcome', 'welcome', { screenshot: true });
  for (const { page } of screens) await page.locator('.bar .lang-btn').click();
  await Promise.all(screens.map(({ page }) => page.locator('.overlay.languages').waitFor()));
  await checkAll(t, 'language', 'welcome', { ready: 'document.querySelector(".overlay.languages")' });
  for (const { page } of screens) await page.locator('.overlay.languages .btn.primary').click();

  // The locker's service does not answer a tap: the error says so, with what to do.
  for (const { page } of screens) {
    await page.route(/\/api\/session$/, (route) => (route.request().method() === 'POST' ? route.abort() : route.fallback()));
    await tap(page, say('welcome.dropoff'));
  }
  await checkAll(t, 'welcome-offline', 'welcome', { ready: textIs('main p.error', say('error.OFFLINE')) });
  for (const { page } of screens) await page.unroute(/\/api\/session$/);
});

t.test('drop-off by PIN, with a remark and a phone number typed on screen', async (t) => {
  const { page } = actor(0);
  await tap(page, say('welcome.dropoff'));
  // Every page types on its own keypad (local until OK).
  await Promise.all(screens.map(async (s) => { await atStep(s.page, 'identify'); await keypad(s.page, '123'); }));
  await checkAll(t, 'pin', 'identify', { ready: 'document.querySelectorAll(".dot.on").length === 3', screenshot: true });
  await keypad(page, '456');
  await tap(page, say('common.ok'));
  await checkAll(t, 'details', 'details', { ready: textIs('main', 'Kari Nordmann'), screenshot: true });

  for (const s of screens) await tap(s.page, say('details.addPhone'));
  await Promise.all(screens.map(async (s) => { await s.page.locator('.phone-entry').waitFor(); await keypad(s.page, '+4670'); }));
  await checkAll(t, 'phone', 'details', { ready: 'document.querySelector(".phone-entry")' });
  await tap(page, say('details.save'));
  await waitForError(page, say('error.PHONE_INVALID'));
  await checkAll(t, 'phone-error', 'details', { ready: textIs('main p.error', say('error.PHONE_INVALID')) });
  for (const s of screens) await tap(s.page, say('common.cancel'));

  for (const s of screens) await tap(s.page, say('details.addRemark'));
  // The customer's page types the whole remark; the others a little (typing is slow to drive).
  await Promise.all(screens.map(async (s) => { await s.page.locator('.keyboard').waitFor(); await keyboard(s.page, s.page === page ? 'WINTER TYRES.' : 'TYRES.'); }));
  await checkAll(t, 'remark', 'details', { ready: textIs('.remark-entry', 'TYRES.'), screenshot: true });
  for (const s of screens) if (s.page !== page) await tap(s.page, say('common.cancel'));
  await tap(page, say('details.save'));
  await checkAll(t, 'details-with-remark', 'details', { ready: `${textIs('main', 'WINTER TYRES.')} && !document.querySelector(".keyboard")` });

  await tap(page, say('details.confirm'));
  await checkAll(t, 'place-key', 'place-key', { ready: textIs('.door.open', say('door.openPlace')), screenshot: true });
  t.equal(await page.locator('.door.open[role="alert"]').count(), 0, 'the open door is an instruction, not an alert');
  await tap(page, say('common.confirm'));
  await waitForError(page, say('error.DOOR_OPEN'));
  await checkAll(t, 'place-key-door-open', 'place-key', { ready: textIs('main p.error', say('error.DOOR_OPEN')), screenshot: true });
  t.match(await page.locator('main [role="alert"]').first().textContent(), say('error.DOOR_OPEN'), 'Confirm with the door open is the alert');
  const compartment = main.journeys.view().compartment ?? 0;
  main.hardware.sim?.closeDoor(compartment - 1);
  await checkAll(t, 'place-key-closed', 'place-key', { ready: textIs('.door.closed', say('door.closedPlace')) });
  await tap(page, say('common.confirm'));
  await checkAll(t, 'done', 'done');
  await tap(page, say('done.finish'));
  await Promise.all(screens.map((s) => atStep(s.page, 'welcome')));
});

t.test('drop-off by plate lookup, remark typed on the keyboard, abandoned with the door open', async (t) => {
  const { page } = actor(1);
  await tap(page, say('welcome.dropoff'));
  await atStep(page, 'identify');
  await tap(page, say('identify.usePlate'));
  await Promise.all(screens.map(async (s) => { await s.page.locator('.plate-entry').waitFor(); await keyboard(s.page, 'E-'); }));
  await tap(page, say('common.ok'));
  await waitForError(page, say('error.PLATE_INVALID'));
  await checkAll(t, 'plate-error', 'identify', { ready: textIs('main p.error', say('error.PLATE_INVALID')), screenshot: true });
  await Promise.all(screens.map(async (s) => keyboard(s.page, s.page === page ? 'L98765' : 'L9')));
  await checkAll(t, 'plate', 'identify', { ready: textIs('.plate-entry', 'E-L9') });
  await tap(page, say('common.ok'));
  await checkAll(t, 'lookup-result', 'lookup-result', { ready: textIs('main', '+47 *** ** 432') });
  await tap(page, say('lookup.send'));
  await checkAll(t, 'lookup-sent', 'lookup-sent');
  await tap(page, say('lookupSent.enterPin'));
  await atStep(page, 'identify');
  await keypad(page, '234567');
  await tap(page, say('common.ok'));
  await atStep(page, 'details');
  await tap(page, say('details.addRemark'));
  await keyboard(page, 'KEY ON THE RING');
  await tap(page, say('details.save'));
  await page.getByText('KEY ON THE RING').first().waitFor();
  await tap(page, say('details.confirm'));
  await checkAll(t, 'place-key-2', 'place-key', { ready: textIs('.door.open', say('door.openPlace')) });
  // This customer changes their mind with the door open: the door comes first (issue 7).
  await page.locator('.bar .x-btn').click();
  await checkAll(t, 'abandon-door-open', 'place-key', { ready: textIs('.overlay.abandon', say('abandon.textPlace')) });
  await tap(page, say('abandon.yes'));
  await checkAll(t, 'close-door', 'close-door', { ready: textIs('.door.open', say('door.openClose')), screenshot: true });
  const compartment = main.journeys.view().compartment ?? 0;
  main.hardware.sim?.closeDoor(compartment - 1);
  await Promise.all(screens.map((s) => atStep(s.page, 'welcome')));
});

t.test('pickup: not ready says what to do next; paid opens; unpaid waits for the payment', async (t) => {
  const { page } = actor(2);
  await tap(page, say('welcome.pickup'));
  await atStep(page, 'identify');
  await keypad(page, '567890');
  await tap(page, say('common.ok'));
  await waitForError(page, say('error.NOT_READY'));
  await checkAll(t, 'not-ready', 'identify', { ready: `${textIs('main p.error', say('error.NOT_READY'))} && ${textIs('main .next', say('next.NOT_READY'))}`, screenshot: true });
  t.equal(await page.locator('main .error-block .call-btn').count(), 1, 'Call for help right beside the error');

  await keypad(page, '345678');
  await tap(page, say('common.ok'));
  await checkAll(t, 'take-key', 'take-key', { ready: textIs('.door.open', say('door.openTake')), screenshot: true });
  main.hardware.sim?.closeDoor(15);
  await until(() => main.hardware.bank.doorState(16) === 'closed', 'door closed');
  await page.waitForFunction('document.querySelector(".door.closed")');
  await tap(page, say('takeKey.done'));
  // A paid pickup: the receipt step (issue 12).
  await checkAll(t, 'receipt', 'receipt', { ready: textIs('main', say('receipt.title')), screenshot: true });
  await tap(page, say('receipt.none'));
  await atStep(page, 'done');
  await tap(page, say('done.finish'));
  await atStep(page, 'welcome');

  const payer = actor(3).page;
  await tap(payer, say('welcome.pickup'));
  await atStep(payer, 'identify');
  await keypad(payer, '456789');
  await tap(payer, say('common.ok'));
  // The payment page came from the back office: the QR is on the top screen (issue 12).
  await checkAll(t, 'payment', 'payment', { ready: textIs('main', say('payment.scanTop')), screenshot: true });
  // "Pay with Vipps" to another number: the number editor (this page's own state: each taps).
  for (const { page: each } of screens) await each.locator('[data-pay="other-number"]').click();
  await checkAll(t, 'payment-vipps-number', 'payment', { ready: textIs('main', say('payment.vippsTitle')), screenshot: true });
  for (const { page: each } of screens) if (each !== payer) await each.getByRole('button', { name: say('common.back'), exact: true }).click();
  await keypad(payer, '+4798765432');
  await payer.locator('[data-pay="send"]').click();
  await checkAll(t, 'payment-vipps-sent', 'payment', { ready: 'document.querySelector("main .pay-pushed")', screenshot: true });
});

t.test('abandon: asked first, then back to the start', async (t) => {
  const { page } = actor(3);
  await page.locator('.bar .x-btn').click();
  await checkAll(t, 'abandon', 'payment', { ready: 'document.querySelector(".overlay.abandon")' });
  await tap(page, say('abandon.yes'));
  await Promise.all(screens.map((s) => atStep(s.page, 'welcome')));
  t.pass('back to welcome');
});

t.test('help: the panel, the call, the banner never under the panel', async (t) => {
  const { page } = actor(4);
  await tap(page, say('welcome.dropoff'));
  await atStep(page, 'identify');
  await tap(page, say('common.help'));
  await checkAll(t, 'help', 'identify', { ready: 'document.querySelector(".overlay.help")' });
  await page.locator('.overlay.help .call-btn').click();
  await checkAll(t, 'help-called', 'identify', { ready: 'document.querySelector("main .help-call.requested") && !document.querySelector(".overlay")', screenshot: true });
  main.journeys.setHelpCall('taken');
  await checkAll(t, 'help-taken', 'identify', { ready: 'document.querySelector("main .help-call.taken")' });
  await tap(page, say('common.help'));
  await checkAll(t, 'help-again', 'identify', { ready: 'document.querySelector(".overlay.help .help-call.taken")' });
  await page.locator('.overlay.help .btn.primary').click();
  await page.locator('.bar .x-btn').click();
  await tap(page, say('abandon.yes'));
  await Promise.all(screens.map((s) => atStep(s.page, 'welcome')));
});

t.test('a lock board down: out of order on every screen, with Call for help', async (t) => {
  main.hardware.sim?.setOffline(true);
  await checkAll(t, 'out-of-order', 'out-of-order', { screenshot: true });
  t.equal(await actor(0).page.locator('main .call-btn').count(), 1, 'Call for help in the body');
  main.hardware.sim?.setOffline(false);
  await Promise.all(screens.map((s) => atStep(s.page, 'welcome')));
});

t.test('wrong PINs: tries left, then the lockout with Call for help', async (t) => {
  const lockout = await lockoutLocker;
  await Promise.all(screens.map(async (s) => { await s.page.goto(lockout.urls.bottom); await atStep(s.page, 'welcome'); }));
  const { page } = actor(0);
  await tap(page, say('welcome.dropoff'));
  await atStep(page, 'identify');
  await tap(page, say('identify.usePlate'));
  await page.locator('.plate-entry').waitFor();
  await keyboard(page, 'AB12345');
  await tap(page, say('common.ok'));
  await atStep(page, 'lookup-result');
  await tap(page, say('lookup.send'));
  await atStep(page, 'lookup-sent');
  await tap(page, say('lookupSent.enterPin'));
  await atStep(page, 'identify');
  const tries = (count: number) => `document.querySelector("main .error-block")?.textContent.includes(${JSON.stringify(say('error.attemptsLeftOther').replace('{count}', String(count)))})`;
  // Tries left are shown before the last two only (issue 11): the first wrong PINs say "wrong".
  for (let i = 1; i <= 3; i += 1) {
    await keypad(page, '000000');
    // Each answer before the next PIN: the same "wrong" line stays on screen in between.
    await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/session') && r.request().method() === 'POST'), tap(page, say('common.ok'))]);
    if (i < 3) {
      await page.waitForFunction(`document.querySelector("main .error-block")?.textContent.includes(${JSON.stringify(say('error.PIN_WRONG'))})`);
      if (i === 1) await checkAll(t, 'pin-wrong', 'identify', { ready: `document.querySelector("main .error-block:not(.empty)")` });
    } else await page.waitForFunction(tries(2));
  }
  await checkAll(t, 'pin-two-tries-left', 'identify', { ready: `document.querySelector("main .tries") && ${tries(2)}`, screenshot: true });
  await keypad(page, '000000');
  await tap(page, say('common.ok'));
  await page.waitForFunction(`document.querySelector("main .tries")?.textContent.includes(${JSON.stringify(say('error.attemptsLeftOne').replace('{count}', '1'))})`);
  await keypad(page, '000000');
  await tap(page, say('common.ok'));
  await checkAll(t, 'locked-out', 'locked-out', { ready: 'document.querySelector("main .call-btn")', screenshot: true });
  await page.locator('.bar .x-btn').click();
  await tap(page, say('abandon.yes'));
  await atStep(page, 'welcome');
});

t.test('idle: the warning over the step, then back to the start', async (t) => {
  const idle = await idleLocker;
  await Promise.all(screens.map(async (s) => { await s.page.goto(idle.urls.bottom); await atStep(s.page, 'welcome'); }));
  const { page } = actor(1);
  await tap(page, say('welcome.dropoff'));
  await checkAll(t, 'idle-warning', 'identify', { ready: 'document.querySelector(".overlay.idle")', screenshot: true });
  await Promise.all(screens.map((s) => atStep(s.page, 'welcome')));
});

t.test('the locker itself down: every screen says out of order', async (t) => {
  await (await idleLocker).stop();
  await checkAll(t, 'locker-down', 'out-of-order');
  t.equal(await actor(0).page.locator('main .call-btn').count(), 0, 'no Call for help that could not reach anyone');
});

t.test('no script errors on any page', async (t) => {
  for (const s of screens) {
    const errors = scriptErrors(s.page).filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|ERR_FAILED|Failed to fetch/.test(e));
    t.same(errors, [], `${sizeName(s.size)}: no script errors`);
  }
  t.comment(`axe: ${JSON.stringify(axeReport)}`);
});
