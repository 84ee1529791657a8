/**
 * The top screen: what to do now, in the customer's language; where the journey stands; the
 * open compartment's number in huge type; a QR code when there is one; "out of order" when the
 * locker cannot open anything (a lock board down, or its service unreachable). It only listens
 * (TopView over ws).
 */
import { h, icon, ICONS, replace, lockDownKiosk } from '/shared/dom.js';
import { t, k, setLanguage, LANGUAGES } from '/shared/i18n.js';
import { connectSocket, getJson } from '/shared/socket.js';

/** Per step: the headline and the line under it. */
const STEP_TEXT = {
  welcome: [k('top.welcomeTitle'), k('top.welcomeText')],
  identify: [k('top.identifyTitle'), k('top.identifyText')],
  'lookup-result': [k('top.lookupResultTitle'), k('top.lookupResultText')],
  'lookup-sent': [k('top.lookupSentTitle'), k('top.lookupSentText')],
  details: [k('top.detailsTitle'), k('top.detailsText')],
  opening: [k('top.openingTitle'), k('top.openingText')],
  'place-key': [k('top.placeKeyTitle'), k('top.placeKeyText')],
  payment: [k('top.paymentTitle'), k('top.paymentText')],
  'take-key': [k('top.takeKeyTitle'), k('top.takeKeyText')],
  done: [k('top.doneTitle'), k('top.doneText')],
  'locked-out': [k('top.lockedOutTitle'), k('top.lockedOutText')],
  failed: [k('top.failedTitle'), k('top.failedText')],
  'close-door': [k('top.closeDoorTitle'), k('top.closeDoorText')],
  receipt: [k('top.receiptTitle'), k('top.receiptText')],
};

/** The line under the headline: a pickup's "done" and "close the door" say it their way. */
function subText(v, textKey) {
  if (v.journey === 'pickup' && v.step === 'done') return t('top.doneTextPickup');
  if (v.journey === 'pickup' && v.step === 'close-door') return t('top.closeDoorTextPickup');
  return t(textKey);
}

/** The steps of each journey as the strip shows them (kiosk/core/session-machine.ts JOURNEY_STEPS). */
const JOURNEY_STRIP = {
  dropoff: [k('top.stepIdentify'), k('top.stepDetails'), k('top.stepPlaceKey'), k('top.stepDone')],
  pickup: [k('top.stepIdentify'), k('top.stepPayment'), k('top.stepTakeKey'), k('top.stepDone')],
};
const JOURNEY_NAME = { dropoff: k('welcome.dropoff'), pickup: k('welcome.pickup') };

/** QR captions the server may send (TopView.qr.captionKey); others fall back to QR_FALLBACK. */
export const QR_CAPTIONS = [k('qr.payment'), k('qr.receipt'), k('qr.mechanic'), k('qr.scan')];
const QR_FALLBACK = k('qr.scan');
/** The service unreachable this long: "out of order" (as the bottom screen). */
const LOCKER_DOWN_AFTER_MS = 5000;

const screen = document.getElementById('screen');
const helpCallEl = document.getElementById('help-call');
const linkEl = document.getElementById('link');
let current = null;
let socketUp = false;
let socketDownSince = Date.now();
let shownOutOfOrder = false;
let seq = 0;

function welcomeView(lang) {
  return { step: 'welcome', journey: null, lang, compartment: null, progress: null, qr: null, helpCall: 'none', link: 'offline', outOfOrder: false };
}

async function accept(view) {
  if (!view || typeof view !== 'object' || typeof view.step !== 'string') return;
  const mine = ++seq;
  await setLanguage(view.lang);
  if (mine !== seq) return;
  current = view;
  render();
}

/**
 * The QR code as an image: an SVG inside <img> is never scripted (no script, no event
 * handler, no external load runs), whatever the string holds; it is never parsed into the page.
 */
function qrImage(svg) {
  return h('img', { class: 'qr-img', alt: '', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(String(svg))}` });
}

function outOfOrder(view) {
  return view.outOfOrder === true || (socketDownSince !== null && Date.now() - socketDownSince >= LOCKER_DOWN_AFTER_MS);
}

function stepStrip(v) {
  const labels = JOURNEY_STRIP[v.journey];
  if (!labels || !v.progress) return null;
  return h('ol', { class: 'strip', 'aria-label': t(JOURNEY_NAME[v.journey]) },
    labels.map((key, i) => {
      const n = i + 1;
      const state = n < v.progress.index ? 'past' : n === v.progress.index ? 'now' : 'later';
      return h('li', { class: state, 'aria-current': state === 'now' ? 'step' : null }, h('span', { class: 'n' }, String(n)), t(key));
    }));
}

function render() {
  const v = current;
  if (!v) return;
  shownOutOfOrder = outOfOrder(v);
  document.body.dataset.step = shownOutOfOrder ? 'out-of-order' : v.step;
  if (shownOutOfOrder) {
    replace(screen, h('div', { class: 'text out-of-order' },
      h('div', { class: 'ooo-mark', 'aria-hidden': 'true' }, icon(ICONS.warning, 'icon big')),
      h('h1', {}, t('top.outOfOrderTitle')),
      h('p', { class: 'sub' }, t('top.outOfOrderText'))));
  } else {
    const [titleKey, textKey] = STEP_TEXT[v.step] ?? STEP_TEXT.welcome;
    const showNumber = typeof v.compartment === 'number';
    const caption = v.qr && QR_CAPTIONS.includes(v.qr.captionKey) ? v.qr.captionKey : QR_FALLBACK;
    replace(screen,
      stepStrip(v),
      h('div', { class: 'text' },
        h('h1', {}, t(titleKey, { number: v.compartment ?? '' })),
        h('p', { class: 'sub' }, subText(v, textKey)),
        v.step === 'welcome' && !v.qr && h('ol', { class: 'how' }, h('li', {}, t('welcome.step1')), h('li', {}, t('welcome.step2')), h('li', {}, t('welcome.step3')))),
      (showNumber || v.qr) && h('div', { class: 'stage' },
        showNumber && h('div', { class: 'number-box' },
          h('span', { class: 'number-label' }, t('common.compartment')),
          h('span', { class: 'number' }, String(v.compartment))),
        v.qr && typeof v.qr.svg === 'string' && h('figure', { class: 'qr' }, qrImage(v.qr.svg), h('figcaption', {}, t(caption)))),
      v.step === 'welcome' && !v.qr && h('p', { class: 'below' }, t('top.useScreenBelow')));
  }

  helpCallEl.className = `help-call ${v.helpCall}`;
  helpCallEl.textContent = v.helpCall === 'taken' ? t('helpCall.taken') : v.helpCall === 'requested' ? t('helpCall.requested') : '';
  renderLink();
}

function renderLink() {
  const online = socketUp && current?.link === 'online';
  linkEl.className = `net ${online ? 'online' : 'offline'}`;
  linkEl.textContent = online ? t('link.online') : t('link.offline');
}

lockDownKiosk();
window.__keylocker = { render: (view) => accept(view) };
const params = new URLSearchParams(location.search);
const initialLang = LANGUAGES.includes(params.get('lang')) ? params.get('lang') : 'nb';
connectSocket('top', {
  onMessage: (msg) => { if (msg.type === 'top') void accept(msg.view); },
  onStatus: (up) => {
    socketUp = up;
    if (up) socketDownSince = null;
    else socketDownSince ??= Date.now();
    if (current) render();
  },
});
// "Out of order" when the service has been unreachable long enough.
setInterval(() => { if (current && outOfOrder(current) !== shownOutOfOrder) render(); }, 1000);
void getJson('/api/top').then((body) => {
  if (body?.view) void accept(body.view);
  else if (!current) void accept(welcomeView(initialLang));
});
