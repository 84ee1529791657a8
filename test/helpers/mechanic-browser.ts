/**
 * What the mechanic browser tests share: reading the top screen's QR as a camera would (jsQR
 * over a screenshot), and enrolling a tablet with a code from the staff page.
 */
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import type { Test } from 'tap';
import type { Page } from 'playwright-core';

/** jsqr is CommonJS: under ESM its function is the module itself (its types say `default`). */
type Decode = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
const jsQR = ((jsQRModule as unknown as { default?: Decode }).default ?? jsQRModule) as unknown as Decode;

/** The QR on the top screen, read from a screenshot as a camera would see it. */
export async function readQr(top: Page): Promise<string> {
  await top.locator('.qr-img').waitFor({ state: 'visible' });
  await top.waitForFunction('document.querySelector(".qr-img")?.complete === true');
  const png = PNG.sync.read(await top.screenshot());
  return jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)?.data ?? '';
}

export async function enrolTablet(t: Test, tablet: Page, staff: Page, name: string): Promise<void> {
  await staff.getByRole('button', { name: 'New enrolment code' }).click();
  await staff.locator('#enrol-code-shown .code').waitFor();
  const code = ((await staff.locator('#enrol-code-shown .code').textContent()) ?? '').replace(/\s/g, '');
  t.match(code, /^\d{8}$/, 'the staff page shows an enrolment code');
  await tablet.locator('#enrol-code').fill(code);
  await tablet.locator('#enrol-name').fill(name);
  await tablet.getByRole('button', { name: 'Enrol' }).click();
  await tablet.locator('#work').waitFor({ state: 'visible' });
}
