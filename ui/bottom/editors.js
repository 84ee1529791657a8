/**
 * Typing on the touch screen: the PIN keypad, number entry with a '+' (identify by phone, add a
 * phone number) and text entry on the on-screen keyboard (licence plate, remark).
 */
import { h } from '/shared/dom.js';
import { t } from '/shared/i18n.js';
import { keypad, keyboard } from '/shared/keys.js';
import { state, render, PIN_LENGTH, MAX_PLATE, MAX_PHONE } from './state.js';
import { submit } from './session.js';
import { button, errorBlock, textDisplay } from './widgets.js';

export function renderIdentify(v) {
  if (v.identifyMode === 'plate') return renderPlate();
  if (v.identifyMode === 'phone') return renderPhoneEntry(v);
  return renderPin(v);
}

function renderPin(v) {
  const dots = [];
  for (let i = 0; i < PIN_LENGTH; i += 1) dots.push(h('span', { class: i < state.pin.length ? 'dot on' : 'dot' }));
  const ready = state.pin.length === PIN_LENGTH;
  // After a refusal the error says what to do next; the hint makes room for it.
  return h('section', { class: 'step identify two-col' },
    h('div', { class: 'col-text' },
      h('h1', {}, t('identify.pinTitle')),
      !state.error && h('p', { class: 'hint' }, t('identify.pinHint')),
      h('div', { class: 'pin-dots', role: 'img', 'aria-label': t('identify.pinEntered', { count: state.pin.length, total: PIN_LENGTH }) }, dots),
      errorBlock({ callHelp: v }),
      button(t('common.ok'), () => {
        const pin = state.pin;
        state.pin = ''; // never keep a PIN around once sent
        void submit({ type: 'pin', pin });
      }, 'primary wide', { disabled: !ready }),
      h('div', { class: 'alt-links' },
        button(t('identify.usePlate'), () => void submit({ type: 'identifyMode', mode: 'plate' }), 'link'),
        button(t('identify.usePhone'), () => void submit({ type: 'identifyMode', mode: 'phone' }), 'link'))),
    h('div', { class: 'col-keys' },
      keypad({
        backspaceLabel: t('common.backspace'),
        onKey: (d) => { if (state.pin.length < PIN_LENGTH) { state.pin += d; render(); } },
        onBackspace: () => { state.pin = state.pin.slice(0, -1); render(); },
      })));
}

function renderPhoneEntry(v) {
  return phoneEditor({
    view: v,
    title: t('identify.phoneTitle'),
    hint: t('identify.phoneHint'),
    value: state.phone,
    onChange: (value) => { state.phone = value; },
    actions: [
      button(t('common.ok'), () => void submit({ type: 'lookup', by: 'phone', value: state.phone.trim() }), 'primary wide', { disabled: state.phone.trim().length < 4 }),
    ],
    links: [
      button(t('identify.usePin'), () => void submit({ type: 'identifyMode', mode: 'pin' }), 'link'),
      button(t('identify.plateInstead'), () => void submit({ type: 'identifyMode', mode: 'plate' }), 'link'),
    ],
  });
}

/** Number entry with the keypad and a '+' key (identify by phone, and "add a phone number"). */
export function phoneEditor({ view, title, hint, value, onChange, actions, links = [] }) {
  return h('section', { class: 'step identify two-col' },
    h('div', { class: 'col-text' },
      h('h1', {}, title),
      !state.error && h('p', { class: 'hint' }, hint),
      textDisplay(value, '', 'phone-entry', title),
      errorBlock({ callHelp: view }),
      h('div', { class: 'actions' }, actions),
      links.length > 0 && h('div', { class: 'alt-links' }, links)),
    h('div', { class: 'col-keys' },
      keypad({
        extra: '+',
        backspaceLabel: t('common.backspace'),
        onKey: (ch) => {
          if (value.length >= MAX_PHONE || (ch === '+' && value.length > 0)) return;
          onChange(value + ch);
          render();
        },
        onBackspace: () => { onChange(value.slice(0, -1)); render(); },
      })));
}

function renderPlate() {
  return textEditor({
    title: t('identify.plateTitle'),
    hint: t('identify.plateHint'),
    value: state.plate,
    max: MAX_PLATE,
    onChange: (value) => { state.plate = value; },
    actions: [button(t('common.ok'), () => void submit({ type: 'lookup', by: 'plate', value: state.plate.trim() }), 'primary', { disabled: state.plate.trim().length < 2 })],
    links: [
      button(t('identify.usePin'), () => void submit({ type: 'identifyMode', mode: 'pin' }), 'link'),
      button(t('identify.usePhone'), () => void submit({ type: 'identifyMode', mode: 'phone' }), 'link'),
    ],
  });
}

/**
 * Text entry with the on-screen keyboard (licence plate, remark). The keyboard sits below the
 * field and its buttons, never over them; on short screens the links join the field's row and
 * the title goes to the bar (style.css). The hint is the empty field's placeholder.
 */
export function textEditor({ title, hint, value, max, onChange, actions, links = [], text = false }) {
  return h('section', { class: `step text-entry${text ? ' free-text' : ''}` },
    h('div', { class: 'entry-head' },
      h('h1', {}, title),
      links.length > 0 && h('div', { class: 'alt-links' }, links)),
    h('div', { class: 'entry-row' }, textDisplay(value, hint, text ? 'remark-entry' : 'plate-entry', title), h('div', { class: 'entry-actions' }, actions)),
    errorBlock({ inline: true }),
    keyboard({
      text,
      backspaceLabel: t('common.backspace'),
      spaceLabel: t('common.space'),
      onKey: (ch) => {
        if (value.length >= max || (ch === ' ' && (value === '' || value.endsWith(' ')))) return;
        onChange(value + ch);
        render();
      },
      onBackspace: () => { onChange(value.slice(0, -1)); render(); },
    }));
}
