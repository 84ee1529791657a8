/**
 * The top screen on its own, at the five screen sizes: each state it can be told (TopView) is
 * drawn without anything cut off and without serious or critical axe violations; a QR code is
 * shown as an image that can run no script, whatever its SVG string holds. The page's socket is
 * mocked (open and silent) so only the views given here are drawn.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Page } from 'playwright-core';
import type { TopView } from '../../kiosk/core/session-view.js';
import { launchBrowser, SCREENS_DIR, scriptErrors, openPage } from '../helpers/browser.js';
import { axeViolations, layoutProblems } from '../helpers/layout.js';
import { withLocker } from '../helpers/locker.js';

const SIZES = [
  { width: 800, height: 480 },
  { width: 1024, height: 600 },
  { width: 1280, height: 800 },
  { width: 1080, height: 1920 },
  { width: 600, height: 1024 },
];

const QR_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 21 21"><path d="M0 0h7v7H0zM14 0h7v7h-7zM0 14h7v7H0zM9 9h3v3H9z"/></svg>';
const base: TopView = { step: 'welcome', journey: null, lang: 'en', compartment: null, progress: null, qr: null, helpCall: 'none', link: 'online', outOfOrder: false };
const STATES: Record<string, TopView> = {
  welcome: base,
  identify: { ...base, step: 'identify', journey: 'dropoff', progress: { index: 1, count: 4 } },
  'place-key': { ...base, step: 'place-key', journey: 'dropoff', progress: { index: 3, count: 4 }, compartment: 12 },
  'payment-qr': { ...base, step: 'payment', journey: 'pickup', progress: { index: 2, count: 4 }, qr: { svg: QR_SVG, captionKey: 'qr.payment' } },
  'help-called': { ...base, step: 'failed', journey: 'dropoff', progress: null, helpCall: 'requested' },
  'out-of-order': { ...base, outOfOrder: true },
};

async function show(page: Page, view: TopView): Promise<void> {
  await page.evaluate((v) => (window as unknown as { __keylocker: { render: (v: unknown) => Promise<void> } }).__keylocker.render(v), view);
  await page.waitForFunction(`document.body.dataset.step === ${JSON.stringify(view.outOfOrder ? 'out-of-order' : view.step)}`);
}

t.test('the top screen at every size, every state', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  const page = await openPage(t, browser, 'about:blank', SIZES[0]);
  await page.routeWebSocket(/\/ws\?screen=top/, () => { /* open and silent: no view but ours */ });
  await page.route(/\/api\/top$/, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{}' }));
  await page.goto(locker.urls.top);
  await page.waitForFunction('document.body.dataset.step === "welcome"');

  for (const size of SIZES) {
    await page.setViewportSize(size);
    const dir = join(SCREENS_DIR, `${size.width}x${size.height}`);
    await mkdir(dir, { recursive: true });
    for (const [name, view] of Object.entries(STATES)) {
      await show(page, view);
      t.same(await layoutProblems(page, '.number, .qr-img, .strip li, .sub, .how li, .help-call'), [], `top ${name} at ${size.width}x${size.height}: nothing cut off`);
      await page.screenshot({ path: join(dir, `top-${name}.png`) });
      if (size === SIZES[2]) t.same(await axeViolations(page), [], `top ${name}: no serious or critical axe violation`);
    }
  }
  t.match(await page.locator('body').textContent(), /Out of order/, 'out of order is said in words');
  t.same(scriptErrors(page), []);
});

t.test('a QR code is an image: its SVG runs no script and cannot break out into the page', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  const page = await openPage(t, browser, 'about:blank', { width: 1280, height: 800 });
  await page.routeWebSocket(/\/ws\?screen=top/, () => {});
  await page.route(/\/api\/top$/, (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{}' }));
  await page.goto(locker.urls.top);
  await page.waitForFunction('document.body.dataset.step === "welcome"');
  const scriptsBefore = await page.locator('script').count();

  const hostile = '<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=2</script>'
    + '<foreignObject><img xmlns="http://www.w3.org/1999/xhtml" src="x" onerror="window.__pwned=3"/></foreignObject>'
    + '<rect width="10" height="10"/></svg>"><img src=x onerror="window.__pwned=4"><script>window.__pwned=5</script>';
  await show(page, { ...base, step: 'payment', journey: 'pickup', qr: { svg: hostile, captionKey: 'not.a.caption' } });
  const img = page.locator('figure.qr img.qr-img');
  await img.waitFor();
  t.equal(await page.locator('figure.qr img').count(), 1, 'one image, nothing else from the string');
  t.match(await img.getAttribute('src'), /^data:image\/svg\+xml;charset=utf-8,%3Csvg/, 'the SVG is the image\'s data, encoded');
  t.equal(await page.locator('script').count(), scriptsBefore, 'no script element was added');
  t.equal(await page.locator('foreignObject, svg rect').count(), 0, 'none of its elements are in the page');
  t.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'none of its script ran');
  t.equal(await page.locator('figure.qr figcaption').textContent(), 'Scan the code with your phone', 'an unknown caption key falls back to the plain caption');
});
