/**
 * Issue 13, "tap to open in real Chromium": from the customer's touch to the lock's pulse, and
 * when the compartment's number is painted on both screens, in Debian's Chromium driven by
 * playwright-core (launched as the browser tests launch it, test/helpers/browser.ts).
 *
 * The locker: a test locker on the simulator (startTestLocker), in this process, with the
 * production pulse (locks.pulseMs 300). In-process because the pulse is read where it happens,
 * the lock bank's `pulseStarted` event, which nothing on the page can cause, and because the
 * resets between opens write the store directly. Its link to the back office is stopped once
 * the demo reservations are in, so the back office cannot undo a reset. The cost: the locker
 * shares one event loop with Playwright's client, which makes its figures a little worse.
 *
 * - Drop-off: welcome, PIN, details, then the measured tap on Confirm -> pulse.
 * - Pickup: welcome, the six digits, then the measured tap on OK (the UI has no auto-submit) -> pulse.
 * - Paint: an init script stamps, in each page, the first animation frame after the number
 *   appeared (bottom: the step's title with the number; top: the number box).
 * - Baseline, interleaved one per open: a bare page from a tiny server on 127.0.0.1:0 where a
 *   tap does fetch() and paints the reply: tap -> server received, tap -> paint.
 *
 * Clocks: every stamp is performance.timeOrigin + performance.now(), in the pages and here (both
 * anchored on the same system clock). The touch is the page's own pointerdown event time.
 * Reset between opens (door closed, session ended, rows re-issued) is outside every timing.
 *
 * `npx tsx test/bench/tap-to-open.ts` runs it alone (TAP_OPENS=N to change the 40 opens).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { SessionAction } from '../../kiosk/core/session-view.js';
import { compartments } from '../../kiosk/store/repositories.js';
import { atStep, catalogue, keypad, settled, tap } from '../helpers/bottom-screen.js';
import { CHROMIUM_ARGS, chromiumPath, DEFINE_NAME_HELPER, INSTALL_HINT } from '../helpers/browser.js';
import { act, startTestLocker, until, type TestLocker } from '../helpers/locker.js';
import { PI4_FACTOR, piEstimate, quantile, round } from './scale.js';

const OPENS = Number(process.env.TAP_OPENS ?? 40);
const PULSE_MS = 300; // the production default (kiosk/config/schema.ts)
const WAIT_MS = 15_000; // a safety bound for a broken build, never a measurement
const DROPOFF = { id: 'demo-dropoff-1', pin: '123456' };
const PICKUP = { id: 'demo-pickup-paid', pin: '345678', compartment: 16 };
const labels = catalogue('nb'); // the locker's default language: each session starts in it

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Runs in every page before its scripts. window.__bench.arm(pattern, selector) starts a sample:
 * the first pointerdown after it is the touch; the first animation frame after the text of
 * `selector` (or the body) matches `pattern` is the paint, with the number it captured.
 */
const STAMP_SCRIPT = `(() => {
  const at = () => performance.timeOrigin + performance.now();
  let want = null;
  let sample = { touch: null, paint: null, number: null };
  const check = () => {
    if (!want || sample.paint !== null || sample.number !== null) return;
    const node = want.selector ? document.querySelector(want.selector) : document.body;
    const match = node ? want.pattern.exec(node.textContent || '') : null;
    if (!match) return;
    sample.number = Number(match[1]);
    requestAnimationFrame(() => { sample.paint = at(); });
  };
  addEventListener('pointerdown', (event) => {
    if (want && sample.touch === null) sample.touch = performance.timeOrigin + event.timeStamp;
  }, { capture: true });
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
  window.__bench = {
    arm(pattern, selector) { want = { pattern: new RegExp(pattern), selector }; sample = { touch: null, paint: null, number: null }; check(); },
    read() { return sample; },
  };
})();`;

interface Stamps { touch: number | null; paint: number | null; number: number | null }

async function openPage(browser: Browser, url: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, hasTouch: true, reducedMotion: 'reduce', bypassCSP: true });
  await context.addInitScript(DEFINE_NAME_HELPER);
  await context.addInitScript(STAMP_SCRIPT);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(url);
  return page;
}

const arm = (page: Page, pattern: string, selector: string | null) =>
  page.evaluate(([p, s]) => (window as unknown as { __bench: { arm(p: string, s: string | null): void } }).__bench.arm(p, s), [pattern, selector] as const);

async function stamps(page: Page): Promise<Stamps> {
  await page.waitForFunction('window.__bench.read().paint !== null', undefined, { timeout: WAIT_MS });
  return page.evaluate(() => (window as unknown as { __bench: { read(): Stamps } }).__bench.read());
}

/** The step's title with its number, in the locker's language, as a pattern capturing the number. */
function titlePattern(...keys: string[]): string {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return keys.map((key) => escape(labels[key] as string).replace('\\{number\\}', '(\\d+)')).join('|').replace(/^/, '(?:').concat(')');
}

interface Sample { touchToPulse: number; touchToPaintBottom: number; touchToPaintTop: number; paintAfterPulseBottom: number; paintAfterPulseTop: number; bothPaintedBeforePulseEnd: boolean }

/** One measured open: arm both pages, the measured tap, the pulse, both paints. */
async function measuredOpen(locker: TestLocker, bottom: Page, top: Page, bottomPattern: string, press: () => Promise<void>): Promise<{ sample: Sample; compartment: number }> {
  await arm(bottom, bottomPattern, null);
  await arm(top, '^(\\d+)$', '.number-box .number');
  const pulse = new Promise<{ compartment: number; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no pulse')), WAIT_MS);
    locker.hardware.bank.events.once('pulseStarted', (compartment) => {
      clearTimeout(timer);
      resolve({ compartment, at: now() });
    });
  });
  await press();
  const pulsed = await pulse;
  const [b, t] = await Promise.all([stamps(bottom), stamps(top)]);
  if (b.touch === null || b.paint === null || t.paint === null) throw new Error('a stamp is missing');
  for (const shown of [b.number, t.number]) if (shown !== pulsed.compartment) throw new Error(`compartment ${shown} shown, ${pulsed.compartment} pulsed`);
  const pulseEnd = pulsed.at + PULSE_MS;
  return {
    compartment: pulsed.compartment,
    sample: {
      touchToPulse: pulsed.at - b.touch,
      touchToPaintBottom: b.paint - b.touch,
      touchToPaintTop: t.paint - b.touch,
      paintAfterPulseBottom: b.paint - pulsed.at,
      paintAfterPulseTop: t.paint - pulsed.at,
      bothPaintedBeforePulseEnd: b.paint <= pulseEnd && t.paint <= pulseEnd,
    },
  };
}

async function dropOff(locker: TestLocker, bottom: Page, top: Page): Promise<Sample> {
  await tap(bottom, labels['welcome.dropoff'] as string);
  await atStep(bottom, 'identify');
  await keypad(bottom, DROPOFF.pin);
  await tap(bottom, labels['common.ok'] as string);
  await atStep(bottom, 'details');
  await settled(bottom);
  const confirm = bottom.getByRole('button', { name: labels['details.confirm'] as string, exact: true }).first();
  const pulseEnded = nextPulseEnd(locker);
  const { sample, compartment } = await measuredOpen(locker, bottom, top, titlePattern('opening.title', 'placeKey.title'), () => confirm.click());
  // Reset, untimed: close the door, confirm, leave the done screen, re-issue the booking.
  await reached(locker, bottom, 'place-key');
  await pulseEnded;
  await closeDoor(locker, compartment);
  await step(locker, { type: 'confirm' }, 'done');
  await step(locker, { type: 'confirm' }, 'welcome');
  await atStep(bottom, 'welcome');
  await locker.db.transaction(async (tx) => {
    await tx.run("UPDATE reservations SET status = 'booked', compartment_id = NULL WHERE id = ?", [DROPOFF.id]);
    await compartments.setState(tx, compartment, { state: 'free' }, new Date());
  });
  return sample;
}

async function pickup(locker: TestLocker, bottom: Page, top: Page): Promise<Sample> {
  await tap(bottom, labels['welcome.pickup'] as string);
  await atStep(bottom, 'identify');
  await keypad(bottom, PICKUP.pin);
  await settled(bottom);
  const ok = bottom.getByRole('button', { name: labels['common.ok'] as string, exact: true }).first();
  const pulseEnded = nextPulseEnd(locker);
  const { sample, compartment } = await measuredOpen(locker, bottom, top, titlePattern('opening.title', 'takeKey.title'), () => ok.click());
  await reached(locker, bottom, 'take-key');
  await pulseEnded;
  await closeDoor(locker, compartment);
  await step(locker, { type: 'confirm' }, 'receipt'); // a paid pickup is offered a receipt
  await step(locker, { type: 'receipt', channel: 'none' }, 'done');
  await step(locker, { type: 'confirm' }, 'welcome');
  await atStep(bottom, 'welcome');
  await locker.db.transaction(async (tx) => {
    await tx.run("UPDATE reservations SET status = 'ready', compartment_id = ? WHERE id = ?", [PICKUP.compartment, PICKUP.id]);
    await compartments.setState(tx, PICKUP.compartment, { state: 'occupied', reservationId: PICKUP.id }, new Date());
  });
  return sample;
}

/** An untimed reset action through the session API; it must lead to `expected`. */
async function step(locker: TestLocker, action: SessionAction, expected: string): Promise<void> {
  let reply = await act(locker, action);
  // The bank saw the door close; the journey hears of it a moment later (an event): ask again.
  await until(async () => reply.error?.code !== 'DOOR_OPEN' || Boolean((reply = await act(locker, action)).view), 'the journey to see the door closed');
  if (reply.view?.step !== expected) throw new Error(`${action.type}: expected ${expected}, got ${reply.status} ${reply.view?.step ?? JSON.stringify(reply.error)}`);
}

/** The screen shows `step`; if not, says where the journey and the screen are instead. */
async function reached(locker: TestLocker, page: Page, step: string): Promise<void> {
  try {
    await atStep(page, step);
  } catch (error) {
    const shown = await page.evaluate(() => document.body.dataset.step).catch(() => '?');
    throw new Error(`expected ${step}: the journey is at ${locker.journeys.view().step}, the screen at ${shown}`, { cause: error });
  }
}

function nextPulseEnd(locker: TestLocker): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the pulse did not end')), WAIT_MS);
    locker.hardware.bank.events.once('pulseEnded', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function closeDoor(locker: TestLocker, compartment: number): Promise<void> {
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the bench locker runs on the simulator');
  await until(() => locker.hardware.bank.doorState(compartment) === 'open', `door ${compartment} open`);
  sim.closeDoor(compartment - 1);
  await until(() => locker.hardware.bank.doorState(compartment) === 'closed', `door ${compartment} closed`);
}

/** The baseline: a bare page where a tap fetch()es the server and paints its reply. */
async function bareTapServer(): Promise<{ url: string; received: number[]; server: Server }> {
  const received: number[] = [];
  const page = `<!doctype html><meta charset="utf-8"><body><button id="b" style="width:300px;height:120px">Open</button><h1 id="out"></h1>
<script>document.getElementById('b').addEventListener('click', async () => {
  const reply = await (await fetch('/tap', { method: 'POST' })).json();
  document.getElementById('out').textContent = 'compartment ' + reply.compartment;
});</script>`;
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/tap') {
      received.push(now());
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ compartment: received.length }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, received, server };
}

async function bareTap(page: Page, received: number[]): Promise<{ touchToServer: number; touchToPaint: number }> {
  await page.evaluate(() => { document.getElementById('out')!.textContent = ''; });
  await arm(page, `^compartment (${received.length + 1})$`, '#out');
  await page.locator('#b').click();
  const s = await stamps(page);
  const at = received.at(-1);
  if (s.touch === null || s.paint === null || at === undefined) throw new Error('a baseline stamp is missing');
  return { touchToServer: at - s.touch, touchToPaint: s.paint - s.touch };
}

function percentiles(values: readonly number[]): { p50: number; p95: number; max: number } {
  return { p50: round(quantile(values, 0.5)), p95: round(quantile(values, 0.95)), max: round(quantile(values, 1)) };
}

function summary(samples: readonly Sample[]) {
  return {
    touchToPulse: percentiles(samples.map((s) => s.touchToPulse)),
    touchToPaint: { bottom: percentiles(samples.map((s) => s.touchToPaintBottom)), top: percentiles(samples.map((s) => s.touchToPaintTop)) },
    paintMinusPulseStart: { bottom: percentiles(samples.map((s) => s.paintAfterPulseBottom)), top: percentiles(samples.map((s) => s.paintAfterPulseTop)) },
    bothPaintedBeforePulseEnd: `${samples.filter((s) => s.bothPaintedBeforePulseEnd).length}/${samples.length}`,
  };
}

export async function benchTapToOpen(opens = OPENS): Promise<Record<string, unknown>> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(INSTALL_HINT);
  const dir = await mkdtemp(join(tmpdir(), 'keylocker-tap-bench-'));
  const bare = await bareTapServer();
  let locker: TestLocker | null = null;
  let browser: Browser | null = null;
  try {
    locker = await startTestLocker(dir, { locks: { pulseMs: PULSE_MS, doorConfirmTimeoutMs: 2000, pollIntervalMs: 50 } });
    await locker.sync.stop();
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
    const bottom = await openPage(browser, locker.urls.bottom, { width: 1280, height: 800 });
    const top = await openPage(browser, locker.urls.top, { width: 1280, height: 720 });
    const barePage = await openPage(browser, bare.url, { width: 1280, height: 800 });
    await atStep(bottom, 'welcome');
    // Warm-up, uncounted: one of each.
    await dropOff(locker, bottom, top);
    await pickup(locker, bottom, top);
    await bareTap(barePage, bare.received);
    const drop: Sample[] = [];
    const pick: Sample[] = [];
    const base: { touchToServer: number; touchToPaint: number }[] = [];
    // Interleaved, so the machine's ups and downs hit every figure alike.
    for (let i = 0; i < opens; i += 1) {
      drop.push(await dropOff(locker, bottom, top));
      base.push(await bareTap(barePage, bare.received));
      pick.push(await pickup(locker, bottom, top));
      base.push(await bareTap(barePage, bare.received));
    }
    const baseline = { touchToServer: percentiles(base.map((b) => b.touchToServer)), touchToPaint: percentiles(base.map((b) => b.touchToPaint)) };
    const dropoff = summary(drop);
    const pickupSummary = summary(pick);
    const ratio = (a: number, b: number) => round(a / b);
    const paintP95 = (s: ReturnType<typeof summary>) => Math.max(s.touchToPaint.bottom.p95, s.touchToPaint.top.p95);
    return {
      what: 'real Chromium (playwright-core, Debian chromium): touch -> lock pulseStarted, touch -> "compartment N" painted on the bottom and top screens (ms)',
      locker: `test locker on the simulator, in this process, locks.pulseMs ${PULSE_MS}, link to the back office stopped after the demo data`,
      opens,
      baselineBareTapFetchPaint: { samples: base.length, ...baseline },
      dropoff,
      pickup: pickupSummary,
      ratios: {
        pulseP95VsBareTapToServerP95: { dropoff: ratio(dropoff.touchToPulse.p95, baseline.touchToServer.p95), pickup: ratio(pickupSummary.touchToPulse.p95, baseline.touchToServer.p95) },
        paintP95VsBareTapToPaintP95: { dropoff: ratio(paintP95(dropoff), baseline.touchToPaint.p95), pickup: ratio(paintP95(pickupSummary), baseline.touchToPaint.p95) },
      },
      targets: { touchToPulseP95: '<= 100 ms', paint: 'the number painted on both screens when the pulse starts (paintMinusPulseStart about 0, and before the pulse ends)' },
      pi4EstimateMs: {
        dropoffPulseP95: piEstimate(dropoff.touchToPulse.p95),
        pickupPulseP95: piEstimate(pickupSummary.touchToPulse.p95),
        bareTapToServerP95: piEstimate(baseline.touchToServer.p95),
        scaled: `p95 x ${PI4_FACTOR.low}-${PI4_FACTOR.high}: ${PI4_FACTOR.why}; the whole path (Chromium's input and fetch, Node, SQLite commits) scaled alike, which understates an SD card's fsync`,
      },
    };
  } finally {
    await browser?.close();
    await locker?.stop();
    await new Promise((resolve) => bare.server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchTapToOpen(), null, 2));
}
