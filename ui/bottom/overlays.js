/** What lies over the screen: the help panel, the language chooser, "cancel?", "are you still there?". */
import { h } from '/shared/dom.js';
import { t, k, language, LANGUAGES, LANGUAGE_NAMES } from '/shared/i18n.js';
import { state, render, idleShown, idleSecondsLeft } from './state.js';
import { send } from './session.js';
import { button, callHelpButton } from './widgets.js';

const HELP_KEYS = {
  welcome: k('help.welcome'),
  pin: k('help.identifyPin'),
  plate: k('help.identifyPlate'),
  phone: k('help.identifyPhone'),
  'lookup-result': k('help.lookupResult'),
  'lookup-sent': k('help.lookupSent'),
  details: k('help.details'),
  opening: k('help.opening'),
  'place-key': k('help.placeKey'),
  payment: k('help.payment'),
  'take-key': k('help.takeKey'),
  done: k('help.done'),
  'locked-out': k('help.lockedOut'),
  failed: k('help.failed'),
  'close-door': k('help.closeDoor'),
};

/** What the idle warning says will happen (SessionView.idleEnds). */
const IDLE_ENDS = {
  restart: k('idle.endsRestart'),
  deposited: k('idle.endsDeposited'),
  collected: k('idle.endsCollected'),
  released: k('idle.endsReleased'),
  'key-kept': k('idle.endsKeyKept'),
  'staff-check': k('idle.endsStaffCheck'),
};

/** "Cancel?": at an open door it says the door comes first. */
function abandonText(v) {
  const atOpenDoor = v.door !== 'closed' && v.compartment !== null;
  if (atOpenDoor && v.step === 'place-key') return t('abandon.textPlace');
  if (atOpenDoor && v.step === 'take-key') return t('abandon.textTake');
  return t('abandon.text');
}

export function renderOverlays(v) {
  const layers = [];
  if (v.helpOpen) layers.push(renderHelpPanel(v));
  if (state.langOpen) layers.push(renderLanguages());
  if (v.confirmAbandon) {
    layers.push(modal('abandon', 'abandon-title',
      h('h2', { id: 'abandon-title' }, t('abandon.title')),
      h('p', {}, abandonText(v)),
      h('div', { class: 'actions' },
        button(t('abandon.no'), () => void send({ type: 'abandonCancel' }), 'secondary'),
        button(t('abandon.yes'), () => void send({ type: 'abandonConfirm' }), 'danger'))));
  }
  if (idleShown()) {
    layers.push(h('div', { class: 'overlay idle', role: 'alertdialog', 'aria-modal': 'true', 'aria-labelledby': 'idle-title', 'aria-live': 'assertive' },
      h('div', { class: 'idle-box' },
        h('h2', { id: 'idle-title' }, t('idle.title')),
        h('p', {}, t('idle.text')),
        IDLE_ENDS[v.idleEnds] && h('p', { class: 'idle-ends' }, t(IDLE_ENDS[v.idleEnds])),
        h('p', { class: 'countdown', 'data-countdown': 'idle' }, t('idle.seconds', { seconds: idleSecondsLeft() })))));
  }
  return layers;
}

function modal(name, labelId, ...content) {
  return h('div', { class: `overlay ${name}` }, h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': labelId }, content));
}

/**
 * Help for this step, and "Call for help". Calling closes the panel (the server does), so the
 * "help is called" banner is never hidden under it; opened again, it says how the call stands.
 */
function renderHelpPanel(v) {
  const key = v.step === 'identify' ? HELP_KEYS[v.identifyMode] : HELP_KEYS[v.step];
  return modal('help', 'help-title',
    h('h2', { id: 'help-title' }, t('help.title')),
    h('p', {}, t(key ?? HELP_KEYS.welcome)),
    v.helpCall === 'none'
      ? h('p', { class: 'hint' }, t('help.call'))
      : h('p', { class: `help-call ${v.helpCall}`, role: 'status' }, v.helpCall === 'taken' ? t('helpCall.taken') : t('helpCall.requested')),
    h('div', { class: 'actions' },
      v.helpCall === 'none' && callHelpButton(v, 'secondary'),
      button(t('common.close'), () => void send({ type: 'help', open: false }), 'primary')));
}

/** Each language by its own name; the choice lasts for this customer only. */
function renderLanguages() {
  const current = language();
  const choose = (lang) => {
    state.langOpen = false;
    render();
    if (lang !== current) void send({ type: 'language', lang });
  };
  return modal('languages', 'lang-title',
    h('h2', { id: 'lang-title' }, t('common.language')),
    h('div', { class: 'lang-grid' },
      LANGUAGES.map((lang) => h('button', {
        type: 'button', class: 'btn lang-choice', lang, 'aria-pressed': String(lang === current), onclick: () => choose(lang),
      }, LANGUAGE_NAMES[lang]))),
    h('div', { class: 'actions' }, button(t('common.close'), () => choose(current), 'primary')));
}
