/** Driving the bottom screen the way a customer does: taps on what is shown. */
import type { Page } from 'playwright-core';

/** Wait until the screen shows `step` and accepts taps (it ignores taps just after a change). */
export async function atStep(page: Page, step: string): Promise<void> {
  await page.waitForFunction(`document.body.dataset.step === ${JSON.stringify(step)}`, undefined, { timeout: 10_000 });
  await settled(page);
}

export async function settled(page: Page): Promise<void> {
  await page.waitForFunction("Date.now() > Number(document.body.dataset.guardUntil ?? 0)", undefined, { timeout: 5_000 });
}

/** Tap the button with exactly this label. */
export async function tap(page: Page, label: string): Promise<void> {
  await settled(page);
  // A button's name may go on with its hint ("Drop off a key Leave your key…").
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await page.getByRole('button', { name: new RegExp(`^${escaped}`) }).first().click();
}

/** Type digits on the numeric keypad. */
export async function keypad(page: Page, digits: string): Promise<void> {
  await settled(page);
  for (const digit of digits) await page.locator('.keypad .key', { hasText: new RegExp(`^${digit === '+' ? '\\+' : digit}$`) }).first().click();
}

/** Type on the on-screen keyboard. */
export async function keyboard(page: Page, text: string): Promise<void> {
  await settled(page);
  for (const ch of text) {
    if (ch === ' ') await page.locator('.keyboard .key-space').click();
    else await page.locator('.keyboard .key', { hasText: new RegExp(`^${ch.replace(/[.?*+^$()[\]{}|\\/-]/g, '\\$&')}$`) }).first().click();
  }
}

export async function enterPin(page: Page, pin: string): Promise<void> {
  await keypad(page, pin);
  await tap(page, 'OK');
}

/** The visible error line's text. */
export async function errorText(page: Page): Promise<string> {
  return (await page.locator('main p.error[role="alert"]').first().textContent()) ?? '';
}
