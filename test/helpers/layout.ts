/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Checks of what a page shows, measured in the browser (never by eye):
 * - layoutProblems: every interactive element (and every heading and alert) lies inside the
 *   viewport, is not clipped by an ancestor that hides overflow, keeps its label inside its
 *   box, is a touch target of at least 60 px, and is the topmost element at its centre and
 *   near its four corners (document.elementFromPoint), so nothing covers it. Elements under
 *   an open dialog are `inert` and skipped: the dialog is what the customer can touch.
 * - axeViolations: axe-core's serious and critical violations.
 */
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { DEFINE_NAME_HELPER } from './browser.js';

/** The smallest touch target, in CSS pixels. */
export const MIN_TARGET_PX = 60;

export interface LayoutProblem {
  element: string;
  problem: string;
}

/**
 * Runs in the page (passed to page.evaluate, so it must be self-contained). Exported for the
 * detector's own test, which runs it against crafted pages.
 */
export function findLayoutProblems({ minTarget, also }: { minTarget: number; also: string | null }): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  const vw = window.innerWidth;
  const vh = window.innerHeight;
  const EPS = 0.5;
  const describe = (el: Element | null): string => {
    if (!el) return 'nothing';
    const label = (el.getAttribute('aria-label') ?? el.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40);
    const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
    return `<${el.tagName.toLowerCase()}${cls}> "${label}"`;
  };
  const interactive = 'button, a[href], input, select, textarea, [role="button"], [role="textbox"], [tabindex]:not([tabindex="-1"])';
  const readable = `h1, h2, [role="alert"], [role="status"]${also ? `, ${also}` : ''}`;
  const seen = new Set<Element>();
  const candidates = [...document.querySelectorAll(`${interactive}, ${readable}`)];
  for (const el of candidates) {
    if (seen.has(el)) continue;
    seen.add(el);
    if (el.closest('[inert]')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const isInteractive = el.matches(interactive);
    const r = el.getBoundingClientRect();
    if (isInteractive && r.width * r.height === 0) {
      problems.push({ element: describe(el), problem: 'collapsed to nothing' });
      continue;
    }
    if (!isInteractive && (r.width === 0 || r.height === 0 || (!(el.textContent ?? '').trim() && el.tagName !== 'IMG'))) continue;
    const name = describe(el);
    if (r.left < -EPS || r.top < -EPS || r.right > vw + EPS || r.bottom > vh + EPS) {
      problems.push({ element: name, problem: `outside the ${vw}x${vh} viewport (${Math.round(r.left)},${Math.round(r.top)} to ${Math.round(r.right)},${Math.round(r.bottom)})` });
      continue;
    }
    let clipped = false;
    for (let a = el.parentElement; a && !clipped; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (r.left < ar.left - EPS || r.top < ar.top - EPS || r.right > ar.right + EPS || r.bottom > ar.bottom + EPS) {
        problems.push({ element: name, problem: `clipped by ${describe(a)}` });
        clipped = true;
      }
    }
    if (clipped) continue;
    // A label wider or taller than its button is cut off (a typed-text box scrolls on purpose).
    if (isInteractive && el.getAttribute('role') !== 'textbox' && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)) {
      problems.push({ element: name, problem: `its label does not fit (${el.scrollWidth}x${el.scrollHeight} in ${el.clientWidth}x${el.clientHeight})` });
    }
    if (isInteractive && (r.width < minTarget - EPS || r.height < minTarget - EPS)) {
      problems.push({ element: name, problem: `${Math.round(r.width)}x${Math.round(r.height)} px, under the ${minTarget} px touch target` });
    }
    // Topmost at its centre and near its corners (inset past a rounded corner's curve).
    const radius = Number.parseFloat(style.borderTopLeftRadius) || 0;
    const inset = Math.min(Math.ceil(radius * 0.3) + 2, r.width / 2, r.height / 2);
    const points: [number, number][] = [
      [r.left + r.width / 2, r.top + r.height / 2],
      [r.left + inset, r.top + inset],
      [r.right - inset, r.top + inset],
      [r.left + inset, r.bottom - inset],
      [r.right - inset, r.bottom - inset],
    ];
    for (const [x, y] of points) {
      const hit = document.elementFromPoint(x, y);
      if (hit !== el && !el.contains(hit)) {
        problems.push({ element: name, problem: `covered at (${Math.round(x)},${Math.round(y)}) by ${describe(hit)}` });
        break;
      }
    }
  }
  const doc = document.scrollingElement ?? document.documentElement;
  if (doc.scrollHeight > vh + 1 || doc.scrollWidth > vw + 1) {
    problems.push({ element: 'the page', problem: `scrolls (${doc.scrollWidth}x${doc.scrollHeight} in ${vw}x${vh})` });
  }
  return problems;
}

/**
 * Layout problems of what the page shows now, as readable lines. `also`: a selector of more
 * things that must be wholly on screen and uncovered (the top screen's number, its QR code).
 */
export async function layoutProblems(page: Page, also: string | null = null): Promise<string[]> {
  await page.evaluate(DEFINE_NAME_HELPER);
  const found = await page.evaluate(findLayoutProblems, { minTarget: MIN_TARGET_PX, also });
  return found.map((p) => `${p.element}: ${p.problem}`);
}

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  targets: string[];
}

/** axe-core on the page as it is now; only serious and critical violations. */
export async function axeViolations(page: Page): Promise<AxeFinding[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map((n) => String(n.target)) }));
  });
}
