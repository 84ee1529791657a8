/**
 * Draws the whole screen from the current view: the bar (title and progress, language, help,
 * call for help, cancel), the step, the overlays and the link dot. Countdowns tick without a
 * redraw. While an overlay is up, everything under it is inert.
 */
import { h, icon, ICONS, replace } from '/shared/dom.js';
import { t } from '/shared/i18n.js';
import { formatCountdown } from '/shared/format.js';
import { state, setRenderer, scheduleRender, lockSecondsLeft, idleSecondsLeft, outOfOrder } from './state.js';
import { send } from './session.js';
import { helpButton, callHelpButton, languageButton } from './widgets.js';
import { renderIdentify } from './editors.js';
import { renderDetails } from './details.js';
import { renderOverlays } from './overlays.js';
import {
  renderWelcome, renderLookupResult, renderLookupSent, renderOpening, renderCompartmentStep, renderCloseDoor,
  renderDone, renderLockedOut, renderFailed, renderOutOfOrder,
} from './steps.js';
import { renderPayment, renderReceipt } from './payment.js';

const bar = document.getElementById('bar');
const main = document.getElementById('main');
const overlays = document.getElementById('overlays');
let shownOutOfOrder = false;

function renderScreen() {
  const v = state.view;
  if (!v) return;
  shownOutOfOrder = outOfOrder(v);
  document.body.dataset.step = shownOutOfOrder ? 'out-of-order' : v.step;
  const step = shownOutOfOrder ? renderOutOfOrder(v, state.socketDownSince === null) : renderStep(v);
  // On short screens the step's title moves into the bar (CSS): the keyboard needs the height.
  const title = step.querySelector('h1')?.textContent ?? '';
  replace(bar, ...renderBar(v, title));
  replace(main, renderHelpCallBanner(v), step);
  const layers = renderOverlays(v);
  replace(overlays, layers);
  bar.inert = main.inert = layers.length > 0;
}

setRenderer(renderScreen);

function renderStep(v) {
  switch (v.step) {
    case 'welcome': return renderWelcome(v);
    case 'identify': return renderIdentify(v);
    case 'lookup-result': return renderLookupResult(v);
    case 'lookup-sent': return renderLookupSent(v);
    case 'details': return renderDetails(v);
    case 'opening': return renderOpening(v);
    case 'place-key': return renderCompartmentStep(v, 'place');
    case 'take-key': return renderCompartmentStep(v, 'take');
    case 'close-door': return renderCloseDoor(v);
    case 'payment': return renderPayment(v);
    case 'receipt': return renderReceipt(v);
    case 'done': return renderDone(v);
    case 'locked-out': return renderLockedOut(v);
    case 'failed': return renderFailed(v);
    default: return h('section', { class: 'step center' }, h('div', { class: 'spinner', 'aria-hidden': 'true' })); // a step this page does not know yet
  }
}

function renderBar(v, title) {
  const progress = v.progress ? t('common.progress', { index: v.progress.index, count: v.progress.count }) : '';
  const canAbandon = v.sessionId !== null && v.step !== 'done' && v.step !== 'opening' && v.step !== 'close-door';
  const reachable = state.socketDownSince === null;
  return [
    h('div', { class: 'bar-lead' },
      h('p', { class: 'bar-title' }, title),
      h('p', { class: 'bar-status' }, progress && h('span', { class: 'progress' }, progress), linkStatus(v))),
    h('div', { class: 'bar-actions' },
      languageButton(),
      v.step !== 'done' && helpButton(v),
      v.step !== 'done' && reachable && callHelpButton(v),
      canAbandon && h('button', { type: 'button', class: 'btn icon-btn x-btn', 'aria-label': t('common.abandon'), onclick: () => void send({ type: 'abandon' }) }, icon(ICONS.close))),
  ];
}

function renderHelpCallBanner(v) {
  if (v.helpCall === 'none') return null;
  const text = v.helpCall === 'taken' ? t('helpCall.taken') : t('helpCall.requested');
  return h('div', { class: `help-call ${v.helpCall}`, role: 'status' }, text);
}

/** The back-office link, discreetly, under the progress. */
function linkStatus(v) {
  const online = state.socketUp && v.link === 'online';
  return h('span', { class: `net ${online ? 'online' : 'offline'}` }, online ? t('link.online') : t('link.offline'));
}

/** Once a second: countdowns move without redrawing the screen; "out of order" comes and goes. */
export function tick() {
  const v = state.view;
  if (!v) return;
  if (outOfOrder(v) !== shownOutOfOrder) {
    scheduleRender();
    return;
  }
  const idleEl = overlays.querySelector('[data-countdown="idle"]');
  if (idleEl) idleEl.textContent = t('idle.seconds', { seconds: idleSecondsLeft() });
  const lockEl = main.querySelector('[data-countdown="lock"]');
  if (lockEl) {
    const left = lockSecondsLeft();
    if (left > 0) lockEl.textContent = formatCountdown(left);
    else scheduleRender(); // show "try again"
  }
}
