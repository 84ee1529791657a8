/** What lies over the screen: the help panel, "cancel?", "are you still there?". */
import { h } from '/shared/dom.js';
import { t, k } from '/shared/i18n.js';
import { idleShown, idleSecondsLeft } from './state.js';
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
};

export function renderOverlays(v) {
  const layers = [];
  if (v.helpOpen) layers.push(renderHelpPanel(v));
  if (v.confirmAbandon) {
    layers.push(modal('abandon',
      h('h2', {}, t('abandon.title')),
      h('p', {}, t('abandon.text')),
      h('div', { class: 'actions' },
        button(t('abandon.no'), () => void send({ type: 'abandonCancel' }), 'secondary'),
        button(t('abandon.yes'), () => void send({ type: 'abandonConfirm' }), 'danger'))));
  }
  if (idleShown()) {
    layers.push(h('div', { class: 'overlay idle', role: 'alertdialog', 'aria-live': 'assertive' },
      h('div', { class: 'idle-box' },
        h('h2', {}, t('idle.title')),
        h('p', {}, t('idle.text')),
        h('p', { class: 'countdown', 'data-countdown': 'idle' }, t('idle.seconds', { seconds: idleSecondsLeft() })))));
  }
  return layers;
}

function modal(name, ...content) {
  return h('div', { class: `overlay ${name}` }, h('div', { class: 'dialog', role: 'dialog', 'aria-modal': 'true' }, content));
}

function renderHelpPanel(v) {
  const key = v.step === 'identify' ? HELP_KEYS[v.identifyMode] : HELP_KEYS[v.step];
  return modal('help',
    h('h2', {}, t('help.title')),
    h('p', {}, t(key ?? HELP_KEYS.welcome)),
    h('p', { class: 'hint' }, t('help.call')),
    h('div', { class: 'actions' },
      callHelpButton(v),
      button(t('common.close'), () => void send({ type: 'help', open: false }), 'primary')));
}
