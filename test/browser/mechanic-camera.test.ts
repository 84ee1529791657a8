/**
 * The tablet's camera path: Chromium's fake camera films the QR the locker's top screen shows
 * (a Y4M file made from the screenshot of its QR), the tablet page reads it (BarcodeDetector
 * where the browser has it, else jsQR served by the back office) and sends it; the compartment
 * opens on the simulator. Nothing is typed.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import t from 'tap';
import { launchBrowser, openPage, scriptErrors } from '../helpers/browser.js';
import { dropOffFirstKey, until, withLocker } from '../helpers/locker.js';

const W = 640;
const H = 480;

/** One 4:2:0 frame of `png` centred on white, as Chromium's fake capture device reads it. */
function y4mOf(png: PNG): Buffer {
  const luma = Buffer.alloc(W * H, 235);
  const left = Math.floor((W - png.width) / 2);
  const top = Math.floor((H - png.height) / 2);
  for (let y = 0; y < png.height && top + y < H; y += 1) {
    for (let x = 0; x < png.width && left + x < W; x += 1) {
      const i = (y * png.width + x) * 4;
      const value = 0.299 * (png.data[i] ?? 0) + 0.587 * (png.data[i + 1] ?? 0) + 0.114 * (png.data[i + 2] ?? 0);
      luma[(top + y) * W + left + x] = Math.round(16 + (value * 219) / 255);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), luma, chroma]);
}

t.test("the tablet's camera reads the QR off the top screen; the compartment opens", async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t, { session: { doneMs: 1500 } });
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('the test locker runs on the simulator');
  await dropOffFirstKey(t, locker);

  // An enrolled tablet asks (as in mechanic.test.ts, here through the API).
  const api = async (path: string, body: unknown, bearer?: string) => {
    const res = await fetch(new URL(path, locker.urls.backOffice), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}) },
      body: JSON.stringify(body),
    });
    return (await res.json()) as Record<string, string>;
  };
  const { code } = await api('/api/tablets/enrolment-code', {});
  const { credential } = await api('/api/tablets/enrol', { code, name: 'Camera tablet' });
  // The back office learns of the drop-off from the locker's event stream: ask once it has.
  await until(async () => {
    const feed = await fetch(new URL('/api/tablet', locker.urls.backOffice), { headers: { Authorization: `Bearer ${credential}` } });
    const state = (await feed.json()) as { keys: { reservationId: string }[] };
    return state.keys.some((key) => key.reservationId === 'demo-dropoff-1');
  }, 'the back office knows the key is in', 20_000);
  const { requestId } = await api('/api/mechanic/request', { reservationId: 'demo-dropoff-1' }, credential);
  t.ok(requestId, 'the request was accepted');

  // What the camera will see: the QR on the top screen.
  const top = await openPage(t, browser, locker.urls.top);
  await top.locator('.qr-img').waitFor({ state: 'visible' });
  await top.waitForFunction('document.querySelector(".qr-img")?.complete === true');
  const film = join(t.testdir(), 'qr.y4m');
  await writeFile(film, y4mOf(PNG.sync.read(await top.locator('.qr-img').screenshot())));

  const camera = await launchBrowser(t, ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${film}`]);
  const tablet = await openPage(t, camera, 'about:blank', { width: 1024, height: 768 });
  await tablet.context().addInitScript((c) => localStorage.setItem('keylocker.tablet.credential', c), credential ?? '');
  await tablet.goto(locker.urls.tablet);
  const reader = await tablet.evaluate(() => ('BarcodeDetector' in window ? 'BarcodeDetector' : 'jsQR'));
  const pulses = sim.pulseCount;
  await tablet.locator(`li.request[data-request="${requestId}"]`).getByRole('button', { name: 'Scan' }).click();
  await until(() => sim.pulseCount === pulses + 1, 'the compartment opened on the simulator', 20_000);
  await tablet.locator('li.request .state', { hasText: 'compartment 1 opened' }).waitFor();
  t.pass(`the camera read the QR (${reader}) and compartment 1 opened, nothing typed`);
  t.equal(await tablet.locator('#scan-token').inputValue(), '', 'the typed field was never used');
  t.same(scriptErrors(tablet), [], 'no script error on the tablet');
});
