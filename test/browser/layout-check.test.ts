/**
 * The layout check itself (test/helpers/layout.ts) against crafted pages in real Chromium: it
 * must catch a button under another element (the on-screen keyboard over the field and its OK,
 * as issue 11 found at 800x480), one cut off by the viewport or by a parent that hides
 * overflow, one too small to touch, a label wider than its button, and a page that scrolls;
 * and it must pass a clean page and ignore what lies inert under a dialog.
 */
import t from 'tap';
import type { Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { layoutProblems } from '../helpers/layout.js';

const STYLE = `<style>
  html, body { margin: 0; height: 100%; overflow: hidden; font: 20px sans-serif; }
  button { width: 120px; height: 70px; border: 0; border-radius: 12px; }
  .abs { position: absolute; }
</style>`;

async function problemsOf(page: Page, body: string): Promise<string[]> {
  await page.setContent(`<!doctype html><html><head>${STYLE}</head><body>${body}</body></html>`);
  return layoutProblems(page);
}

t.test('the layout check', async (t) => {
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ viewport: { width: 800, height: 480 } });
  t.teardown(() => context.close());
  const page = await context.newPage();

  t.same(await problemsOf(page, '<h1>Fine</h1><button>OK</button><div role="textbox" aria-label="plate" style="width:300px;height:64px">AB</div>'), [],
    'a clean page has no problems');

  const keyboardOverField = await problemsOf(page, `
    <div class="abs" style="top:100px;left:10px;width:500px;height:64px" role="textbox" aria-label="plate">AB12345</div>
    <button class="abs" style="top:100px;left:520px">OK</button>
    <div class="abs" style="top:60px;left:0;width:800px;height:420px;background:#ccc">keyboard</div>`);
  t.match(keyboardOverField, [/^<div\.abs> "plate": covered at .* by <div\.abs> "keyboard"/, /^<button\.abs> "OK": covered at .* by <div\.abs> "keyboard"/],
    'the keyboard over the field and its OK button is caught');

  const cornerOnly = await problemsOf(page, `
    <button class="abs" style="top:100px;left:100px">Save</button>
    <div class="abs" style="top:150px;left:200px;width:50px;height:50px;background:red"></div>`);
  t.match(cornerOnly, [/Save.*covered at \(\d+,\d+\)/], 'a corner covered is enough to be caught');

  t.match(await problemsOf(page, '<button class="abs" style="top:440px;left:100px">Confirm</button>'), [/Confirm.*outside the 800x480 viewport/],
    'a button running off the bottom is caught');
  t.match(await problemsOf(page, '<button class="abs" style="top:10px;left:760px">Call for help</button>'), [/Call for help.*outside the 800x480 viewport/],
    'a button cut off on the right is caught');
  t.match(await problemsOf(page, '<div style="height:100px;overflow:hidden"><div style="height:80px"></div><button>Pay</button></div>'), [/Pay.*clipped by <div>/],
    'a button clipped by its parent is caught');
  t.match(await problemsOf(page, '<button style="width:40px;height:40px">x</button>'), [/40x40 px, under the 60 px touch target/],
    'a small button is caught');
  t.match(await problemsOf(page, '<button style="white-space:nowrap;overflow:hidden">Open the compartment now please</button>'), [/its label does not fit/],
    'a label cut off inside its button is caught');
  t.match(await problemsOf(page, '<h1 class="abs" style="top:470px">Payment needed</h1>'), [/^<h1\.abs> "Payment needed": outside/],
    'a heading cut off by the screen edge is caught');
  t.match(await problemsOf(page, '<style>html, body { height: auto; overflow: visible; }</style><div style="height:2000px"></div>'), [/^the page: scrolls \(800x2000/],
    'a page that scrolls is caught');

  t.same(await problemsOf(page, `
    <main inert><button>Under the dialog</button></main>
    <div class="abs" style="inset:0;background:rgba(0,0,0,.5)"><div role="dialog"><button>Close</button></div></div>`), [],
    'buttons made inert under a dialog are skipped: not the customer\'s to touch');
  t.match(await problemsOf(page, `
    <main><button>Not inert</button></main>
    <div class="abs" style="inset:0;background:rgba(0,0,0,.5)"><div role="dialog"><button class="abs" style="top:300px">Close</button></div></div>`),
  [/Not inert.*covered/], 'a button left live under a dialog is caught');
});
