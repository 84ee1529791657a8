/** Driving the bottom screen the way a customer does: taps on what is shown. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Browser, Page } from 'playwright-core';
import { openPage, UI_TIMEOUT_MS } from './browser.js';

/** The screens' text in one language (ui/i18n/<lang>.json), for finding buttons by their label. */
export function catalogue(lang: string): Record<string, string> {
  return JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'ui', 'i18n', `${lang}.json`), 'utf8')) as Record<string, string>;
}

/** Open the bottom screen at welcome and switch it to English the way a customer does. */
export async function openInEnglish(t: Test, browser: Browser, url: string): Promise<Page> {
  const page = await openPage(t, browser, url);
  await atStep(page, 'welcome');
  await chooseLanguage(page, 'English');
  await page.waitForFunction('document.documentElement.lang === "en" && document.body.textContent.includes("Drop off a key")');
  return page;
}

/** Wait until the screen shows `step` and accepts taps (it ignores taps just after a change). */
export async function atStep(page: Page, step: string): Promise<void> {
  await page.waitForFunction(`document.body.dataset.step === ${JSON.stringify(step)}`, undefined, { timeout: UI_TIMEOUT_MS });
  await settled(page);
}

export async function settled(page: Page): Promise<void> {
  await page.waitForFunction("Date.now() > Number(document.body.dataset.guardUntil ?? 0)", undefined, { timeout: UI_TIMEOUT_MS });
}

/** Tap the button with exactly this label. */
export async function tap(page: Page, label: string): Promise<void> {
  await settled(page);
  // The button named exactly so; else one whose name goes on with its hint ("Drop off a
  // key Leave your key…").
  const exact = page.getByRole('button', { name: label, exact: true });
  if ((await exact.count()) > 0) {
    await exact.first().click();
    return;
  }
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

/** Change the language the way a customer does: the language button in the bar, then its name. */
export async function chooseLanguage(page: Page, name: string): Promise<void> {
  await settled(page);
  await page.locator('.bar .lang-btn').click();
  await page.locator('.overlay.languages .lang-choice', { hasText: name }).click();
  await page.waitForFunction(`document.querySelector('.bar .lang-btn')?.textContent.includes(${JSON.stringify(name)}) && !document.querySelector('.overlay.languages')`);
}

export async function enterPin(page: Page, pin: string): Promise<void> {
  await keypad(page, pin);
  await tap(page, 'OK');
}

/** The visible error message (without its next-step line). */
export async function errorText(page: Page): Promise<string> {
  return (await page.locator('main p.error[role="alert"]').first().textContent()) ?? '';
}

/** Wait until the error message on screen includes `text`. */
export async function waitForError(page: Page, text: string): Promise<void> {
  await page.waitForFunction(`document.querySelector("main p.error")?.textContent.includes(${JSON.stringify(text)})`);
}
