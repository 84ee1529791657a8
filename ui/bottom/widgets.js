/** Pieces several steps share: buttons, the help buttons, the error line, a typed-text box. */
import { h, icon, ICONS } from '/shared/dom.js';
import { t, k, plural } from '/shared/i18n.js';
import { state } from './state.js';
import { send } from './session.js';

const ERROR_KEYS = {
  PIN_WRONG: k('error.PIN_WRONG'),
  PIN_FORMAT: k('error.PIN_FORMAT'),
  LOCKED_OUT: k('error.LOCKED_OUT'),
  RESERVATION_LOCKED: k('error.RESERVATION_LOCKED'),
  NOT_FOUND: k('error.NOT_FOUND'),
  NOT_READY: k('error.NOT_READY'),
  ALREADY_USED: k('error.ALREADY_USED'),
  PLATE_INVALID: k('error.PLATE_INVALID'),
  PHONE_INVALID: k('error.PHONE_INVALID'),
  REMARK_TOO_LONG: k('error.REMARK_TOO_LONG'),
  NO_COMPARTMENT: k('error.NO_COMPARTMENT'),
  OPEN_FAILED: k('error.OPEN_FAILED'),
  DOOR_OPEN: k('error.DOOR_OPEN'),
  PAYMENT_REQUIRED: k('error.PAYMENT_REQUIRED'),
  PAYMENT_PENDING: k('error.PAYMENT_PENDING'),
  BAD_ACTION: k('error.BAD_ACTION'),
  SERVER: k('error.SERVER'),
  OFFLINE: k('error.OFFLINE'),
};

export function button(label, onclick, variant = 'secondary', extra = {}) {
  return h('button', { type: 'button', class: `btn ${variant}`, onclick, ...extra }, label);
}

export function helpButton(v) {
  return h('button', { type: 'button', class: 'btn bar-btn', onclick: () => void send({ type: 'help', open: !v.helpOpen }) }, icon(ICONS.help), t('common.help'));
}

export function callHelpButton(v) {
  const called = v.helpCall !== 'none';
  return h('button', { type: 'button', class: 'btn bar-btn', disabled: called, onclick: () => void send({ type: 'callHelp' }) },
    icon(ICONS.phone), called ? t('common.helpCalled') : t('common.callHelp'));
}

function errorText(error) {
  if (!error) return '';
  const parts = [t(ERROR_KEYS[error.code] ?? ERROR_KEYS.SERVER)];
  if (typeof error.attemptsLeft === 'number') {
    const count = error.attemptsLeft;
    parts.push(plural(count) === 'one' ? t('error.attemptsLeftOne', { count }) : t('error.attemptsLeftOther', { count }));
  }
  return parts.join(' ');
}

/** The error line next to an input; keeps its height when empty so nothing jumps. */
export function errorLine() {
  const text = errorText(state.error);
  return h('p', { class: `error${text ? '' : ' empty'}`, role: 'alert' }, text);
}

/** What has been typed, with a caret; the end stays in view when the text is longer than the box. */
export function textDisplay(value, placeholder, extraClass = '') {
  return h('div', { class: `entry ${extraClass}${value ? '' : ' placeholder'}`, role: 'textbox', 'aria-readonly': 'true' },
    h('span', { class: 'entry-text' }, value ? [value, h('span', { class: 'caret', 'aria-hidden': 'true' })] : [h('span', { class: 'caret', 'aria-hidden': 'true' }), placeholder]));
}
