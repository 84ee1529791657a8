/**
 * The top screen: what to do now, in the customer's language; the open compartment's number
 * in huge type; a QR code when there is one. It only listens (TopView over ws).
 */
import { h, replace, lockDownKiosk } from '/shared/dom.js';
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
};

/** QR captions the server may send (TopView.qr.captionKey); others fall back to QR_FALLBACK. */
export const QR_CAPTIONS = [k('qr.payment'), k('qr.receipt'), k('qr.mechanic'), k('qr.scan')];
const QR_FALLBACK = k('qr.scan');

const screen = document.getElementById('screen');
const helpCallEl = document.getElementById('help-call');
const linkEl = document.getElementById('link');
let current = null;
let socketUp = false;
let seq = 0;

function welcomeView(lang) {
  return { step: 'welcome', journey: null, lang, compartment: null, qr: null, helpCall: 'none', link: 'offline' };
}

async function accept(view) {
  if (!view || typeof view !== 'object' || typeof view.step !== 'string') return;
  const mine = ++seq;
  await setLanguage(view.lang);
  if (mine !== seq) return;
  current = view;
  render();
}

function qrImage(svg) {
  // As an image: an SVG in <img> runs no script, whatever it contains.
  return h('img', { class: 'qr-img', alt: '', src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}` });
}

function render() {
  const v = current;
  if (!v) return;
  document.body.dataset.step = v.step;
  const [titleKey, textKey] = STEP_TEXT[v.step] ?? STEP_TEXT.welcome;
  const showNumber = typeof v.compartment === 'number';
  const caption = v.qr && QR_CAPTIONS.includes(v.qr.captionKey) ? v.qr.captionKey : QR_FALLBACK;

  const text = h('div', { class: 'text' },
    h('h1', {}, t(titleKey)),
    h('p', { class: 'sub' }, v.step === 'done' && v.journey === 'pickup' ? t('top.doneTextPickup') : t(textKey)),
    v.step === 'welcome' && !v.qr && h('ol', { class: 'how' }, h('li', {}, t('welcome.step1')), h('li', {}, t('welcome.step2')), h('li', {}, t('welcome.step3'))));

  replace(screen,
    text,
    (showNumber || v.qr) && h('div', { class: 'stage' },
      showNumber && h('div', { class: 'number-box' },
        h('span', { class: 'number-label' }, t('common.compartment')),
        h('span', { class: 'number' }, String(v.compartment))),
      v.qr && h('figure', { class: 'qr' }, qrImage(v.qr.svg), h('figcaption', {}, t(caption)))),
    v.step === 'welcome' && !v.qr && h('p', { class: 'below' }, t('top.useScreenBelow')));

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
  onStatus: (up) => { socketUp = up; if (current) renderLink(); },
});
void getJson('/api/top').then((body) => {
  if (body?.view) void accept(body.view);
  else if (!current) void accept(welcomeView(initialLang));
});
