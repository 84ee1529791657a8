/**
 * Draws the whole screen from the current view: the bar (language or progress, help, cancel),
 * the step, the overlays and the link dot. Countdowns tick without a redraw.
 */
import { h, icon, ICONS, replace } from '/shared/dom.js';
import { t, LANGUAGES, LANGUAGE_NAMES } from '/shared/i18n.js';
import { formatCountdown } from '/shared/format.js';
import { state, setRenderer, scheduleRender, lockSecondsLeft, idleSecondsLeft } from './state.js';
import { send } from './session.js';
import { helpButton, callHelpButton } from './widgets.js';
import { renderIdentify } from './editors.js';
import { renderDetails } from './details.js';
import { renderOverlays } from './overlays.js';
import {
  renderWelcome, renderLookupResult, renderLookupSent, renderOpening, renderCompartmentStep,
  renderPayment, renderDone, renderLockedOut, renderFailed,
} from './steps.js';

const bar = document.getElementById('bar');
const main = document.getElementById('main');
const overlays = document.getElementById('overlays');
const linkEl = document.getElementById('link');

function renderScreen() {
  const v = state.view;
  if (!v) return;
  document.body.dataset.step = v.step;
  replace(bar, ...renderBar(v));
  replace(main, renderHelpCallBanner(v), renderStep(v));
  replace(overlays, renderOverlays(v));
  renderLink(v);
}

setRenderer(renderScreen);

function renderStep(v) {
  switch (v.step) {
    case 'welcome': return renderWelcome(v);
    case 'identify': return renderIdentify(v);
    case 'lookup-result': return renderLookupResult(v);
    case 'lookup-sent': return renderLookupSent();
    case 'details': return renderDetails(v);
    case 'opening': return renderOpening(v);
    case 'place-key': return renderCompartmentStep(v, 'place');
    case 'take-key': return renderCompartmentStep(v, 'take');
    case 'payment': return renderPayment(v);
    case 'done': return renderDone(v);
    case 'locked-out': return renderLockedOut();
    case 'failed': return renderFailed(v);
    default: return h('section', { class: 'step center' }, h('div', { class: 'spinner', 'aria-hidden': 'true' })); // a step this page does not know yet
  }
}

function renderBar(v) {
  if (v.step === 'welcome') {
    return [
      h('div', { class: 'langs', role: 'group', 'aria-label': t('welcome.language') },
        LANGUAGES.map((lang) => h('button', {
          type: 'button', class: 'btn lang', lang, 'aria-pressed': String(lang === v.lang),
          onclick: () => { if (lang !== v.lang) void send({ type: 'language', lang }); },
        }, LANGUAGE_NAMES[lang]))),
      h('div', { class: 'bar-actions' }, helpButton(v), callHelpButton(v)),
    ];
  }
  const progress = v.progress ? t('common.progress', { index: v.progress.index, count: v.progress.count }) : '';
  const canAbandon = v.step !== 'done' && v.step !== 'opening';
  return [
    h('div', { class: 'progress' }, progress),
    h('div', { class: 'bar-actions' },
      v.step !== 'done' && helpButton(v),
      v.step !== 'done' && callHelpButton(v),
      canAbandon && h('button', { type: 'button', class: 'btn icon-btn x-btn', 'aria-label': t('common.abandon'), onclick: () => void send({ type: 'abandon' }) }, icon(ICONS.close))),
  ];
}

function renderHelpCallBanner(v) {
  if (v.helpCall === 'none') return null;
  const text = v.helpCall === 'taken' ? t('helpCall.taken') : t('helpCall.requested');
  return h('div', { class: `help-call ${v.helpCall}`, role: 'status' }, text);
}

export function renderLink(v) {
  const online = state.socketUp && v.link === 'online';
  linkEl.className = `net ${online ? 'online' : 'offline'}`;
  linkEl.textContent = online ? t('link.online') : t('link.offline');
}

/** Once a second: countdowns move without redrawing the screen. */
export function tick() {
  const v = state.view;
  if (!v) return;
  const idleEl = overlays.querySelector('[data-countdown="idle"]');
  if (idleEl) idleEl.textContent = t('idle.seconds', { seconds: idleSecondsLeft() });
  const lockEl = main.querySelector('[data-countdown="lock"]');
  if (lockEl) {
    const left = lockSecondsLeft();
    if (left > 0) lockEl.textContent = formatCountdown(left);
    else scheduleRender(); // show "try again"
  }
}
