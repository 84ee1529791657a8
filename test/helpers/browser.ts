/**
 * Real Chromium for the browser tests: Debian's `chromium` (or CHROMIUM_PATH), driven by
 * playwright-core. A machine without it fails the test with the command that installs it.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Test } from 'tap';

export const INSTALL_HINT = 'Chromium is needed for the browser tests: run `apt-get install -y chromium` (as root), or set CHROMIUM_PATH';
/** How long a browser test waits for something to show before it fails. */
export const UI_TIMEOUT_MS = 30_000;
export const SCREENS_DIR = join(import.meta.dirname, '..', '..', 'docs', 'screens');

/** Chromium's flags for the tests and the benches (test/bench/tap-to-open.ts): no sandbox, GPU or background traffic. */
export const CHROMIUM_ARGS: readonly string[] = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** One browser for a test file; the test fails (never skips) when Chromium is missing. */
export async function launchBrowser(t: Test, extraArgs: readonly string[] = []): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) {
    t.fail(INSTALL_HINT);
    throw new Error(INSTALL_HINT);
  }
  const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...extraArgs] });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * tsx (esbuild with keepNames: the benches, `npm start`) wraps named functions in a
 * `__name(fn, "name")` call; the tests' own loader (ts-hooks.mjs) does not, but a helper may
 * run under either. A function handed to page.evaluate() is sent as its source text and
 * runs in the page, where that helper does not exist: define it there as what it does at most
 * (name a function), so helpers such as findLayoutProblems run the same under any loader.
 */
export const DEFINE_NAME_HELPER = 'globalThis.__name ??= (fn) => fn;';

export async function openPage(t: Test, browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  // bypassCSP lets the test's waitForFunction predicates run; the pages themselves keep theirs.
  const context = await browser.newContext({ viewport, hasTouch: true, reducedMotion: 'reduce', bypassCSP: true });
  t.teardown(() => context.close());
  await context.addInitScript(DEFINE_NAME_HELPER);
  const page = await context.newPage();
  // Waits are for events, so a generous limit costs nothing when things go well; the machine
  // running the suite may be shared and slow.
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // A refused action (409, 403…) is Chromium's console line, not a script error.
    if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) errors.push(message.text());
  });
  pageErrors.set(page, errors);
  await page.goto(url);
  return page;
}

const pageErrors = new WeakMap<Page, string[]>();

/** Script errors and console errors the page has shown so far. */
export function scriptErrors(page: Page): string[] {
  return pageErrors.get(page) ?? [];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENS_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENS_DIR, `${name}.png`) });
}
