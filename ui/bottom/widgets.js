/** Pieces several steps share: buttons, the help and language buttons, the error block, a typed-text box. */
import { h, icon, ICONS } from '/shared/dom.js';
import { t, k, byCode, plural, language, LANGUAGE_NAMES } from '/shared/i18n.js';
import { state, render } from './state.js';
import { send, submit } from './session.js';

/** "This PIN is for picking up": the journey the PIN belongs to, and the button that switches to it. */
const OTHER_JOURNEY = {
  pickup: { text: k('otherJourney.pickup'), button: k('otherJourney.switchPickup') },
  dropoff: { text: k('otherJourney.dropoff'), button: k('otherJourney.switchDropoff') },
};

/** Tries left at or under this are shown in a warning box, not only in the error line. */
const FEW_TRIES = 2;

export function button(label, onclick, variant = 'secondary', extra = {}) {
  return h('button', { type: 'button', class: `btn ${variant}`, onclick, ...extra }, label);
}

export function helpButton(v) {
  return h('button', { type: 'button', class: 'btn bar-btn help-btn', 'aria-label': t('common.help'), onclick: () => void send({ type: 'help', open: !v.helpOpen }) },
    icon(ICONS.help), h('span', { class: 'label' }, t('common.help')));
}

/** "Call for help"; once called, what became of the call (nothing to press twice). */
export function callHelpButton(v, variant = 'bar-btn', extra = {}) {
  if (v.helpCall !== 'none') {
    return h('p', { class: `call-state ${v.helpCall}` }, icon(ICONS.phone), v.helpCall === 'taken' ? t('common.helpComing') : t('common.helpCalled'));
  }
  return h('button', { type: 'button', class: `btn ${variant} call-btn`, onclick: () => void send({ type: 'callHelp' }), ...extra },
    icon(ICONS.phone), t('common.callHelp'));
}

/** The current language by its own name; opens the language chooser. */
export function languageButton() {
  return h('button', { type: 'button', class: 'btn bar-btn lang-btn', 'aria-label': `${t('common.language')}: ${LANGUAGE_NAMES[language()]}`, onclick: () => { state.langOpen = true; render(); } },
    icon(ICONS.globe), h('span', { class: 'label' }, LANGUAGE_NAMES[language()]));
}

function triesText(count) {
  return plural(count) === 'one' ? t('error.attemptsLeftOne', { count }) : t('error.attemptsLeftOther', { count });
}

/**
 * The error on screen: what went wrong (error.<CODE>) and what to do now (next.<CODE>), both
 * from the catalogue by the server's code, so a new code needs only catalogue entries. Tries
 * left go in a warning box before the last two. `callHelp`: the view, to offer "Call for help"
 * right here (left out where the keyboard needs the room: the bar has it). Keeps one line of
 * height when empty so nothing jumps.
 */
export function errorBlock({ callHelp = null, inline = false } = {}) {
  const error = state.error;
  if (!error) return h('div', { class: 'error-block empty' }, h('p', { class: 'error empty', role: 'alert' }));
  // "This PIN is for picking up": said for the journey the PIN belongs to, with a button to it.
  const other = error.code === 'PIN_OTHER_JOURNEY' ? OTHER_JOURNEY[error.journey] : null;
  const switchTo = state.view?.offer?.switchJourney ? OTHER_JOURNEY[state.view.offer.switchJourney] : null;
  const message = other ? t(other.text) : (byCode('error', error.code) ?? t('error.SERVER'));
  const next = byCode('next', error.code);
  const tries = typeof error.attemptsLeft === 'number' ? error.attemptsLeft : null;
  const fewTries = tries !== null && tries <= FEW_TRIES;
  return h('div', { class: `error-block${inline ? ' inline' : ''}` },
    h('p', { class: 'error', role: 'alert' }, message, tries !== null && !fewTries ? ` ${triesText(tries)}` : '',
      inline && next && h('span', { class: 'next-inline' }, ` ${next}`)),
    fewTries && h('div', { class: 'tries', role: 'status' }, h('strong', {}, triesText(tries)), h('span', {}, t('error.fewTries'))),
    !inline && next && h('p', { class: 'next' }, next),
    switchTo && button(t(switchTo.button), () => void submit({ type: 'switchJourney' }), 'primary', { 'data-offer': 'switch' }),
    callHelp && callHelp.helpCall === 'none' && callHelpButton(callHelp, 'secondary', { 'data-offer': 'call-help' }));
}

/** What has been typed, with a caret; the end stays in view when the text is longer than the box. */
export function textDisplay(value, placeholder, extraClass = '', label = placeholder) {
  return h('div', { class: `entry ${extraClass}${value ? '' : ' placeholder'}`, role: 'textbox', 'aria-readonly': 'true', 'aria-label': label },
    h('span', { class: 'entry-text' }, value ? [value, h('span', { class: 'caret', 'aria-hidden': 'true' })] : [h('span', { class: 'caret', 'aria-hidden': 'true' }), placeholder]));
}
