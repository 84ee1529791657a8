/**
 * What the two screens are told beyond the journey itself: the language is the customer's for
 * one session only, calling for help closes the help panel (so it never hides the "help is
 * called" banner), and a lock board going down makes both screens say "out of order", pushed
 * at once over their sockets.
 */
import t from 'tap';
import type { SessionView, TopView } from '../../kiosk/core/session-view.js';
import { act, ok, screenSocket, until, withLocker } from '../helpers/locker.js';

t.test('the language resets to the locker default when a session ends, however it ends', async (t) => {
  const locker = await withLocker(t, { defaultLanguage: 'sv' });
  t.equal(locker.journeys.view().lang, 'sv', 'the welcome screen starts in the locker language');

  // Abandoned.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  let view = await ok(t, locker, { type: 'language', lang: 'fr' });
  t.equal(view.lang, 'fr', 'the customer chose French');
  view = await ok(t, locker, { type: 'identifyMode', mode: 'plate' });
  t.equal(view.lang, 'fr', 'and keeps it through the session');
  await ok(t, locker, { type: 'abandon' });
  view = await ok(t, locker, { type: 'abandonConfirm' });
  t.match(view, { step: 'welcome', lang: 'sv' }, 'abandoned: back to Swedish');
  t.equal(locker.journeys.topView().lang, 'sv', 'the top screen too');

  // Finished.
  await ok(t, locker, { type: 'language', lang: 'en' });
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  await ok(t, locker, { type: 'pin', pin: '345678' });
  locker.hardware.sim?.closeDoor(15);
  await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door 16 closed');
  view = await ok(t, locker, { type: 'confirm' });
  // A paid pickup (issue 12) ends on the receipt step; "Finish" there (no receipt) ends the session.
  t.match(view, { step: 'receipt', lang: 'en' }, 'still English on the receipt step');
  view = await ok(t, locker, { type: 'confirm' });
  t.match(view, { step: 'welcome', lang: 'sv' }, 'finished: the next customer starts in Swedish');
});

t.test('the language resets when a session times out', async (t) => {
  const locker = await withLocker(t, { defaultLanguage: 'nb', session: { idleTimeoutMs: 2000, idleWarningMs: 1000 } });
  // French chosen on the welcome screen, before the session (and its 2 s idle timer) starts:
  // chosen after the start, a 2 s stall between the two requests ended the session first.
  await ok(t, locker, { type: 'language', lang: 'fr' });
  t.match(await ok(t, locker, { type: 'start', journey: 'dropoff' }), { step: 'identify', lang: 'fr' }, 'the session runs in French');
  await until(() => locker.journeys.view().step === 'welcome', 'the idle timeout');
  t.equal(locker.journeys.view().lang, 'nb');
});

t.test('calling for help closes the help panel; opened again, it stays open', async (t) => {
  const locker = await withLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  let view = await ok(t, locker, { type: 'help', open: true });
  t.equal(view.helpOpen, true);
  view = await ok(t, locker, { type: 'callHelp' });
  t.match(view, { helpCall: 'requested', helpOpen: false }, 'the banner shows, the panel is gone');
  view = await ok(t, locker, { type: 'help', open: true });
  t.match(view, { helpCall: 'requested', helpOpen: true }, 'the customer may read the help again');
});

t.test('a lock board down: both screens say out of order at once, and recover', async (t) => {
  const locker = await withLocker(t);
  const bottom = await screenSocket(t, locker, 'bottom');
  const top = await screenSocket(t, locker, 'top');
  const lastView = <V>(socket: { last: () => Record<string, unknown> | undefined }) => socket.last()?.view as V | undefined;
  await until(() => lastView<SessionView>(bottom)?.outOfOrder === false && lastView<TopView>(top)?.outOfOrder === false, 'the first push');

  locker.hardware.sim?.setOffline(true);
  await until(() => lastView<SessionView>(bottom)?.outOfOrder === true, 'the bottom screen told');
  await until(() => lastView<TopView>(top)?.outOfOrder === true, 'the top screen told');
  t.equal(locker.journeys.view().outOfOrder, true);
  // Calling for help still works: the back office is another link.
  t.equal((await act(locker, { type: 'callHelp' })).status, 200);

  locker.hardware.sim?.setOffline(false);
  await until(() => lastView<SessionView>(bottom)?.outOfOrder === false && lastView<TopView>(top)?.outOfOrder === false, 'both screens back');
  t.pass('back in order');
});

t.test('the top screen follows the journey: its step strip and the open compartment', async (t) => {
  const locker = await withLocker(t);
  t.match(locker.journeys.topView(), { step: 'welcome', progress: null, compartment: null, qr: null, outOfOrder: false });
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  t.match(locker.journeys.topView(), { step: 'identify', journey: 'dropoff', progress: { index: 1, count: 4 } });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'confirm' });
  t.match(locker.journeys.topView(), { step: 'place-key', progress: { index: 3, count: 4 }, compartment: 1 });
});
