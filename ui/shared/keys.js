/**
 * On-screen keypad and keyboard for the touch screen. They only report taps; the caller
 * owns the text. Keys are real <button>s (type=button), big enough for a thumb.
 */
import { h, icon, ICONS } from './dom.js';

function backspaceKey(label, onBackspace, extraClass = '') {
  return h('button', { type: 'button', class: `key key-back ${extraClass}`, 'aria-label': label, onclick: onBackspace }, icon(ICONS.backspace));
}

function charKey(ch, onKey, extraClass = '') {
  return h('button', { type: 'button', class: `key ${extraClass}`, onclick: () => onKey(ch) }, ch);
}

/**
 * 3x4 numeric keypad: 1-9, then [extra] 0 [backspace]. `extra` is '+' for phone numbers,
 * null for a PIN (an empty cell, as on a phone's passcode screen).
 */
export function keypad({ extra = null, onKey, onBackspace, backspaceLabel }) {
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => charKey(d, onKey));
  keys.push(extra ? charKey(extra, onKey, 'key-extra') : h('span', { class: 'key-gap', 'aria-hidden': 'true' }));
  keys.push(charKey('0', onKey));
  keys.push(backspaceKey(backspaceLabel, onBackspace));
  return h('div', { class: 'keypad', role: 'group' }, keys);
}

const ROWS = [
  ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
  ['Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', 'Å', 'Ü'],
  ['A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', 'Ø', 'Æ', '-'],
  ['Z', 'X', 'C', 'V', 'B', 'N', 'M', 'Ä', 'Ö'],
];
/** Extra row for free text (remarks): punctuation and the French accented capitals. */
const TEXT_ROW = ['.', ',', '?', '!', "'", ':', '/', 'É', 'È', 'À', 'Ç', '@'];

/**
 * Letters (A-Z, Æ Ø Å Ä Ö Ü), digits, '-', space and backspace in a 12-column grid;
 * `text: true` adds a row of punctuation for remarks.
 */
export function keyboard({ text = false, onKey, onBackspace, backspaceLabel, spaceLabel }) {
  const rows = ROWS.map((row) => row.map((ch) => charKey(ch, onKey)));
  rows[0]?.push(backspaceKey(backspaceLabel, onBackspace, 'span-2'));
  rows[3]?.push(h('button', { type: 'button', class: 'key key-space span-3', onclick: () => onKey(' ') }, spaceLabel));
  if (text) rows.push(TEXT_ROW.map((ch) => charKey(ch, onKey)));
  return h('div', { class: `keyboard${text ? ' keyboard-text' : ''}`, role: 'group' }, rows.flat());
}
