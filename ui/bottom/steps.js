/** The steps without typing: welcome, lookup results, opening, the open compartment, the endings, out of order (payment: payment.js). */
import { h, icon, ICONS } from '/shared/dom.js';
import { t, k, locale } from '/shared/i18n.js';
import { formatCountdown } from '/shared/format.js';
import { state, lockSecondsLeft } from './state.js';
import { submit } from './session.js';
import { button, callHelpButton, errorBlock } from './widgets.js';

/** The door of the open compartment: an instruction while it is meant to be open, not an alarm. */
const DOOR_KEYS = {
  place: { open: k('door.openPlace'), closed: k('door.closedPlace') },
  take: { open: k('door.openTake'), closed: k('door.closedTake') },
  close: { open: k('door.openClose'), closed: k('door.closedClose') },
};

export function renderWelcome(v) {
  const choice = (journey, title, hint) =>
    h('button', { type: 'button', class: `choice ${journey}`, onclick: () => void submit({ type: 'start', journey }) },
      h('span', { class: 'choice-title' }, title), h('span', { class: 'choice-hint' }, hint));
  return h('section', { class: 'step welcome' },
    h('h1', {}, t('welcome.title')),
    h('p', { class: 'lead' }, t('welcome.intro')),
    h('div', { class: 'choices' },
      choice('dropoff', t('welcome.dropoff'), t('welcome.dropoffHint')),
      choice('pickup', t('welcome.pickup'), t('welcome.pickupHint'))),
    // "I have a PIN": the locker works out from the PIN whether it is a drop-off or a pickup.
    h('button', { type: 'button', class: 'btn secondary wide have-pin', onclick: () => void submit({ type: 'start', journey: null }) },
      t('welcome.havePin'), h('span', { class: 'choice-hint' }, t('welcome.havePinHint'))),
    h('ol', { class: 'how' },
      h('li', {}, t('welcome.step1')), h('li', {}, t('welcome.step2')), h('li', {}, t('welcome.step3'))),
    errorBlock({ callHelp: v, inline: true }));
}

export function renderLookupResult(v) {
  // The same screen whether or not something matched: only the list differs.
  const where = v.destinations.length > 0
    ? h('ul', { class: 'destinations' }, v.destinations.map((d) => h('li', {}, d)))
    : h('ul', { class: 'destinations' }, h('li', { class: 'neutral' }, t('lookup.neutral')));
  return h('section', { class: 'step card-step' },
    h('h1', {}, t('lookup.title')),
    h('p', { class: 'lead' }, t('lookup.intro')),
    where,
    errorBlock({ callHelp: v }),
    h('div', { class: 'actions' },
      button(t('common.back'), () => void submit({ type: 'back' }), 'secondary'),
      button(t('lookup.send'), () => void submit({ type: 'sendPin' }), 'primary')));
}

export function renderLookupSent(v) {
  return h('section', { class: 'step card-step' },
    h('h1', {}, t('lookupSent.title')),
    h('p', { class: 'lead' }, t('lookupSent.text')),
    errorBlock({ callHelp: v }),
    h('div', { class: 'actions' }, button(t('lookupSent.enterPin'), () => void submit({ type: 'identifyMode', mode: 'pin' }), 'primary')));
}

export function renderOpening(v) {
  return h('section', { class: 'step center' },
    h('div', { class: 'spinner', 'aria-hidden': 'true' }),
    h('h1', {}, v.compartment ? t('opening.title', { number: v.compartment }) : t('opening.titleAny')),
    h('p', { class: 'lead' }, t('opening.wait')));
}

export function renderCompartmentStep(v, kind) {
  const number = v.compartment ?? '–';
  const door = v.door === 'open' || v.door === 'closed' ? v.door : null;
  const doorLine = door && h('p', { class: `door ${door}`, role: 'status' },
    icon(door === 'closed' ? ICONS.check : ICONS.door), t(DOOR_KEYS[kind][door]));
  return h('section', { class: 'step compartment-step' },
    h('div', { class: 'compartment-tile', 'aria-hidden': 'true' },
      h('span', { class: 'tile-label' }, t('common.compartment')), h('span', { class: 'tile-number' }, String(number))),
    h('div', { class: 'compartment-text' },
      h('h1', {}, kind === 'place' ? t('placeKey.title', { number }) : t('takeKey.title', { number })),
      h('p', { class: 'lead' }, kind === 'place' ? t('placeKey.text', { number }) : t('takeKey.text', { number })),
      doorLine,
      errorBlock({ callHelp: v }),
      button(kind === 'place' ? t('common.confirm') : t('takeKey.done'), () => void submit({ type: 'confirm' }), 'primary wide confirm')));
}

/**
 * Abandoned with the door open: first the door. The number stays big; the item sensor, where
 * fitted, says when the key is not where the customer was asked to leave it.
 */
export function renderCloseDoor(v) {
  const number = v.compartment ?? '–';
  const pickup = v.journey === 'pickup';
  const door = v.door === 'open' || v.door === 'closed' ? v.door : null;
  const doorLine = door && h('p', { class: `door ${door}`, role: 'status' },
    icon(door === 'closed' ? ICONS.check : ICONS.door), t(DOOR_KEYS.close[door]));
  const misplaced = pickup ? v.itemInside === false : v.itemInside === true;
  return h('section', { class: 'step compartment-step close-door' },
    h('div', { class: 'compartment-tile', 'aria-hidden': 'true' },
      h('span', { class: 'tile-label' }, t('common.compartment')), h('span', { class: 'tile-number' }, String(number))),
    h('div', { class: 'compartment-text' },
      h('h1', {}, pickup ? t('closeDoor.titleTake', { number }) : t('closeDoor.titlePlace', { number })),
      h('p', { class: 'lead' }, t('closeDoor.text')),
      doorLine,
      misplaced && h('p', { class: 'hint item-warning', role: 'status' }, pickup ? t('closeDoor.keyMissing') : t('closeDoor.keyInside')),
      errorBlock({ callHelp: v })));
}

export function renderDone(v) {
  return h('section', { class: 'step center done' },
    h('div', { class: 'done-mark', 'aria-hidden': 'true' }, icon(ICONS.check, 'icon big')),
    h('h1', {}, t('done.title')),
    h('p', { class: 'lead' }, v.journey === 'pickup' ? t('done.pickup') : t('done.dropoff')),
    h('p', { class: 'hint' }, t('done.auto')),
    button(t('done.finish'), () => void submit({ type: 'confirm' }), 'secondary'));
}

export function renderLockedOut(v) {
  const left = lockSecondsLeft();
  return h('section', { class: 'step center locked' },
    h('h1', {}, t('lockedOut.title')),
    h('p', { class: 'lead' }, t('lockedOut.text')),
    left > 0
      ? [h('p', { class: 'hint' }, t('lockedOut.wait')), h('p', { class: 'countdown', 'data-countdown': 'lock' }, formatCountdown(left))]
      : [h('p', { class: 'lead' }, t('lockedOut.ready'))],
    h('p', { class: 'next' }, t('lockedOut.next')),
    // Someone waiting after an attacker is never left alone with a countdown: staff can lift the
    // lockout, and Try again works as soon as they have (while it lasts, the time left shows).
    h('div', { class: 'actions' },
      callHelpButton(v, left > 0 ? 'primary' : 'secondary', { 'data-offer': 'call-help' }),
      button(t('lockedOut.tryAgain'), () => void submit({ type: 'back' }), left > 0 ? 'secondary' : 'primary')));
}

export function renderFailed(v) {
  const reason = state.error && state.error.code !== 'OPEN_FAILED' ? errorBlock() : null;
  return h('section', { class: 'step center failed' },
    h('h1', {}, t('failed.title')),
    h('p', { class: 'lead' }, t('failed.text')),
    reason,
    h('div', { class: 'actions' },
      callHelpButton(v, 'primary'),
      button(t('failed.finish'), () => void submit({ type: 'confirm' }), 'secondary')));
}

/**
 * A lock board is down (or this screen cannot reach the locker's service): nothing can be
 * opened. "Call for help" only while the service answers; otherwise the workshop's number on
 * the cabinet is the way.
 */
export function renderOutOfOrder(v, reachable) {
  return h('section', { class: 'step center out-of-order' },
    h('div', { class: 'ooo-mark', 'aria-hidden': 'true' }, icon(ICONS.warning, 'icon big')),
    h('h1', {}, t('outOfOrder.title')),
    h('p', { class: 'lead' }, t('outOfOrder.text')),
    h('p', { class: 'next' }, reachable ? t('outOfOrder.next') : t('outOfOrder.nextUnreachable')),
    reachable && h('div', { class: 'actions' }, callHelpButton(v, 'primary')));
}
