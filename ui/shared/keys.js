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

const BACK = '⌫';
const SPACE = '␣';

/** 12 columns (screens at least 780 px wide): QWERTY with the Nordic letters. */
const WIDE_ROWS = [
  ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', BACK],
  ['Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', 'Å', 'Ü'],
  ['A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', 'Ø', 'Æ', '-'],
  ['Z', 'X', 'C', 'V', 'B', 'N', 'M', 'Ä', 'Ö', SPACE],
];
/** Extra row for free text (remarks): punctuation and the French accented capitals. */
const TEXT_ROW = ['.', ',', '?', '!', "'", ':', '/', 'É', 'È', 'À', 'Ç', '@'];

/**
 * 9 columns (narrow portrait screens, where 12 keys of 60 px do not fit in a row): A to Z in
 * order, then the Nordic letters, then the digits. The same buttons as the wide layout, only
 * placed by CSS (`order` and the span from --n and --ns): one DOM for every screen size.
 */
const NARROW_ORDER = [
  'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I',
  'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R',
  'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', '-',
  'Æ', 'Ø', 'Å', 'Ä', 'Ö', 'Ü', BACK,
  '1', '2', '3', '4', '5', '6', '7', '8', '9',
  '0', ...TEXT_ROW.filter((ch) => !'ÉÈÀÇ'.includes(ch)), 'É', 'È', 'À', 'Ç', SPACE,
];
/** Column spans in the narrow layout (backspace fills its row; space the rest of the last row). */
const NARROW_SPAN = { [BACK]: 3 };

/**
 * Letters (A-Z, Æ Ø Å Ä Ö Ü), digits, '-', space and backspace; `text: true` adds a row of
 * punctuation for remarks. Wide screens get QWERTY in 12 columns, narrow ones A-Z in 9.
 */
export function keyboard({ text = false, onKey, onBackspace, backspaceLabel, spaceLabel }) {
  const rows = text ? [...WIDE_ROWS, TEXT_ROW] : WIDE_ROWS;
  const chars = rows.flat();
  const narrow = NARROW_ORDER.filter((ch) => chars.includes(ch));
  // Space fills what is left of the last narrow row.
  const spaceSpan = 9 - ((narrow.length - 1 + 2 /* backspace's extra columns */) % 9);
  const keys = chars.map((ch) => {
    const key = ch === BACK
      ? backspaceKey(backspaceLabel, onBackspace, 'span-2')
      : ch === SPACE
        ? h('button', { type: 'button', class: 'key key-space span-3', onclick: () => onKey(' ') }, spaceLabel)
        : charKey(ch, onKey);
    key.style.setProperty('--n', String(narrow.indexOf(ch)));
    const span = ch === SPACE ? spaceSpan : NARROW_SPAN[ch];
    if (span) key.style.setProperty('--ns', String(span));
    return key;
  });
  return h('div', { class: `keyboard${text ? ' keyboard-text' : ''}`, role: 'group' }, keys);
}
