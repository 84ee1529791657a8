/**
 * Staff lift a PIN lockout from the reference back office's staff page (issue 8, finding 2):
 * the locker's lockout shows on the unit's line with a button; a click sends lockout.lift, and
 * the customer waiting at the locker's lockout screen can try again at once.
 */
import t from 'tap';
import { atStep, chooseLanguage, enterPin, tap } from '../helpers/bottom-screen.js';
import { launchBrowser, openPage, screenshot, scriptErrors } from '../helpers/browser.js';
import { withLocker } from '../helpers/locker.js';

t.test('the staff page shows the locker-wide lockout and lifts it', async (t) => {
  const browser = await launchBrowser(t);
  const locker = await withLocker(t);
  const staff = await openPage(t, browser, locker.urls.backOffice, { width: 1440, height: 900 });
  const bottom = await openPage(t, browser, locker.urls.bottom);
  await atStep(bottom, 'welcome');
  await chooseLanguage(bottom, 'English');
  await tap(bottom, 'Drop off a key');
  await atStep(bottom, 'identify');
  for (let i = 1; i <= 5; i += 1) {
    await enterPin(bottom, `90000${i}`);
    if (i < 5) await bottom.waitForFunction(`document.querySelector("main p.error")?.textContent.includes("not right")`);
  }
  await atStep(bottom, 'locked-out');

  const lift = staff.locator(`[data-lift="${locker.config.unitId}"]`);
  await lift.waitFor();
  t.match(await staff.locator(`[data-lockout="${locker.config.unitId}"]`).textContent(), /PIN entry paused until/);
  await screenshot(staff, 'backoffice-lockout');
  await lift.click();
  await lift.waitFor({ state: 'detached' });
  t.equal(await locker.lockouts.lockedFor(new Date()), null, 'the locker lifted it');

  // The countdown still runs on the locker's screen; "Try again" works now.
  t.ok(await bottom.locator('[data-offer="call-help"]').isVisible(), 'the lockout screen offers Call for help');
  await tap(bottom, 'Try again');
  await atStep(bottom, 'identify');
  t.same(scriptErrors(staff), []);
  t.same(scriptErrors(bottom), []);
});
