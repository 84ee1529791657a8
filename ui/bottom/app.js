/**
 * The customer's touch screen. The server owns the journey (SessionView, pushed over ws and
 * returned by POST /api/session); this page only draws the current view and keeps what is
 * being typed (PIN, plate, phone, remark) until it is sent. Strings come from the catalogues.
 */
import { h, icon, ICONS, replace, lockDownKiosk } from '/shared/dom.js';
import { t, k, setLanguage, LANGUAGES, LANGUAGE_NAMES, locale, plural } from '/shared/i18n.js';
import { connectSocket, getJson } from '/shared/socket.js';
import { keypad, keyboard } from '/shared/keys.js';
import { formatMoney, formatDate, formatCountdown } from '/shared/format.js';

const PIN_LENGTH = 6;
const MAX_PLATE = 12;
const MAX_PHONE = 16;
const MAX_REMARK = 500; // kiosk/core/actions.ts MAX_REMARK_LENGTH
const ACTIVITY_EVERY_MS = 5000;
/** After a tap dismissed the idle warning, hide it this long while the server catches up. */
const IDLE_DISMISS_MS = 2000;
/** Hold pushed renders this long after a finger lifts, so a re-render never steals the tap. */
const TAP_SETTLE_MS = 350;
/** Taps this soon after the screen changed are ignored: a double tap must not act twice. */
const NEW_SCREEN_GUARD_MS = 400;

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
  RESERVATION_CANCELLED: k('error.RESERVATION_CANCELLED'),
  PIN_AMBIGUOUS: k('error.PIN_AMBIGUOUS'),
  PIN_OTHER_JOURNEY: k('error.PIN_OTHER_JOURNEY'),
  LOOKUP_THROTTLED: k('error.LOOKUP_THROTTLED'),
  PIN_ALREADY_SENT: k('error.PIN_ALREADY_SENT'),
};

/** What the customer can do about an error (SessionView.error), after its message. */
const NEXT_KEYS = {
  ALREADY_USED: k('next.ALREADY_USED'),
  RESERVATION_CANCELLED: k('next.RESERVATION_CANCELLED'),
  NOT_READY: k('next.NOT_READY'),
  RESERVATION_LOCKED: k('next.RESERVATION_LOCKED'),
  LOOKUP_THROTTLED: k('next.LOOKUP_THROTTLED'),
  PIN_ALREADY_SENT: k('next.PIN_ALREADY_SENT'),
};

/** "This PIN is for picking up": the journey the PIN belongs to, and the button that switches to it. */
const OTHER_JOURNEY = {
  pickup: { text: k('otherJourney.pickup'), button: k('otherJourney.switchPickup') },
  dropoff: { text: k('otherJourney.dropoff'), button: k('otherJourney.switchDropoff') },
};

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

const PAYMENT_STATUS_KEYS = {
  pending: k('payment.statusPending'),
  paid: k('payment.statusPaid'),
  cancelled: k('payment.statusCancelled'),
  refunded: k('payment.statusRefunded'),
};

/** Shown until the server answers (or when it cannot be reached). */
function welcomeView(lang) {
  return {
    sessionId: null, journey: null, step: 'welcome', lang, progress: null, identifyMode: 'pin', error: null,
    destinations: [], reservation: null, compartment: null, door: null, payment: null, idleWarning: null,
    confirmAbandon: false, helpOpen: false, helpCall: 'none', link: 'offline',
  };
}

const state = {
  view: null,
  viewJson: '',
  socketUp: false,
  // what is being typed
  pin: '',
  plate: '',
  phone: '',
  editor: null, // details: null | 'phone' | 'remark'
  draftPhone: '',
  draftRemark: '',
  /** The phone number as typed and accepted (the view only has it masked); re-sent with a remark. */
  sentPhone: null,
  /** The error on screen: kept until the customer sends something new or the step changes. */
  error: null,
  lockDeadline: null,
  idleDeadline: null,
  idleHiddenUntil: 0,
  lastActivity: 0,
  inflight: new Set(),
  guardUntil: 0,
};

const bar = document.getElementById('bar');
const main = document.getElementById('main');
const overlays = document.getElementById('overlays');
const linkEl = document.getElementById('link');

// --- talking to the server ------------------------------------------------------------------

let viewSeq = 0;

/** Take a view from the server (or injected); draws once its language is loaded. */
async function acceptView(view, { immediate = false } = {}) {
  if (!view || typeof view !== 'object' || typeof view.step !== 'string') return;
  const seq = ++viewSeq;
  await setLanguage(view.lang);
  if (seq !== viewSeq) return; // a newer view arrived while the catalogue loaded
  const json = JSON.stringify(view);
  if (json === state.viewJson) return;
  noteChanges(state.view, view);
  state.view = view;
  state.viewJson = json;
  if (immediate) render();
  else scheduleRender();
}

function resetInputs() {
  state.pin = '';
  state.plate = '';
  state.phone = '';
  state.editor = null;
  state.draftPhone = '';
  state.draftRemark = '';
}

/** Local state that follows the view: clear inputs on a new screen, keep errors and deadlines. */
function noteChanges(prev, view) {
  if (!prev || prev.sessionId !== view.sessionId) state.sentPhone = null;
  if (!prev || prev.sessionId !== view.sessionId || prev.step !== view.step || prev.identifyMode !== view.identifyMode) {
    resetInputs();
    state.error = null;
    state.lockDeadline = null;
    state.guardUntil = Date.now() + NEW_SCREEN_GUARD_MS;
    document.body.dataset.guardUntil = String(state.guardUntil); // tests wait for it to pass
  }
  if (view.error && !sameError(view.error, state.error)) showError(view.error);
  if (state.error?.code === 'DOOR_OPEN' && prev?.door !== view.door && view.door === 'closed') state.error = null;
  state.idleDeadline = typeof view.idleWarning === 'number' ? Date.now() + view.idleWarning * 1000 : null;
}

function sameError(a, b) {
  return !!a && !!b && a.code === b.code && a.attemptsLeft === b.attemptsLeft && a.retryAfterS === b.retryAfterS && a.journey === b.journey;
}

function showError(error) {
  state.error = error;
  if (typeof error.retryAfterS === 'number') state.lockDeadline = Date.now() + error.retryAfterS * 1000;
}

/**
 * POST one action. Never throws: a refusal shows error.<code>, a failed request error.OFFLINE.
 * The same action type is not sent twice at once (a double tap on Confirm).
 */
async function send(action) {
  if (state.inflight.has(action.type)) return null;
  state.inflight.add(action.type);
  state.lastActivity = Date.now();
  try {
    const res = await fetch('/api/session', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(action),
    });
    const body = await res.json().catch(() => null);
    if (res.ok && body?.view) {
      // With the socket up, its pushes are the one ordered stream of views; an answer can be
      // older than a push that overtook it.
      if (!state.socketUp) await acceptView(body.view);
      return body.view;
    }
    if (action.type !== 'activity') {
      const code = typeof body?.error?.code === 'string' ? body.error.code : 'SERVER';
      // The pushed view may already carry this error with its details (tries left, wait).
      const pushed = state.view?.error;
      if (state.error?.code !== code) showError(pushed?.code === code ? pushed : { code });
      scheduleRender();
    }
  } catch {
    if (action.type !== 'activity') {
      showError({ code: 'OFFLINE' });
      scheduleRender();
    }
  } finally {
    state.inflight.delete(action.type);
  }
  return null;
}

/** Send something the customer asked for: the error of the previous try goes away. */
function submit(action) {
  state.error = null;
  render();
  return send(action);
}

// --- rendering --------------------------------------------------------------------------------

let holdRenders = false;
let pendingRender = false;
let releaseTimer = null;

function scheduleRender() {
  if (holdRenders) pendingRender = true;
  else render();
}

function releaseRenders() {
  holdRenders = false;
  clearTimeout(releaseTimer);
  if (pendingRender) {
    pendingRender = false;
    render();
  }
}

function render() {
  pendingRender = false;
  const v = state.view;
  if (!v) return;
  document.body.dataset.step = v.step;
  replace(bar, ...renderBar(v));
  replace(main, renderHelpCallBanner(v), renderStep(v));
  replace(overlays, renderOverlays(v));
  renderLink(v);
}

function renderStep(v) {
  switch (v.step) {
    case 'welcome': return renderWelcome(v);
    case 'identify': return renderIdentify(v);
    case 'lookup-result': return renderLookupResult(v);
    case 'lookup-sent': return renderLookupSent();
    case 'details': return renderDetails(v);
    case 'opening': return renderOpening(v);
    case 'place-key': return renderCompartmentStep(v, 'place');
    case 'take-key': return renderCompartmentStep(v, 'take');
    case 'payment': return renderPayment(v);
    case 'done': return renderDone(v);
    case 'locked-out': return renderLockedOut();
    case 'failed': return renderFailed(v);
    default: return h('section', { class: 'step center' }, h('div', { class: 'spinner', 'aria-hidden': 'true' })); // a step this page does not know yet
  }
}

function button(label, onclick, variant = 'secondary', extra = {}) {
  return h('button', { type: 'button', class: `btn ${variant}`, onclick, ...extra }, label);
}

function renderBar(v) {
  if (v.step === 'welcome') {
    return [
      h('div', { class: 'langs', role: 'group', 'aria-label': t('welcome.language') },
        LANGUAGES.map((lang) => h('button', {
          type: 'button', class: 'btn lang', lang, 'aria-pressed': String(lang === v.lang),
          onclick: () => { if (lang !== v.lang) void send({ type: 'language', lang }); },
        }, LANGUAGE_NAMES[lang]))),
      h('div', { class: 'bar-actions' }, helpButton(v), callHelpButton(v)),
    ];
  }
  const progress = v.progress ? t('common.progress', { index: v.progress.index, count: v.progress.count }) : '';
  const canAbandon = v.step !== 'done' && v.step !== 'opening';
  return [
    h('div', { class: 'progress' }, progress),
    h('div', { class: 'bar-actions' },
      v.step !== 'done' && helpButton(v),
      v.step !== 'done' && callHelpButton(v),
      canAbandon && h('button', { type: 'button', class: 'btn icon-btn x-btn', 'aria-label': t('common.abandon'), onclick: () => void send({ type: 'abandon' }) }, icon(ICONS.close))),
  ];
}

function helpButton(v) {
  return h('button', { type: 'button', class: 'btn bar-btn', onclick: () => void send({ type: 'help', open: !v.helpOpen }) }, icon(ICONS.help), t('common.help'));
}

function callHelpButton(v) {
  const called = v.helpCall !== 'none';
  return h('button', { type: 'button', class: 'btn bar-btn', disabled: called, onclick: () => void send({ type: 'callHelp' }) },
    icon(ICONS.phone), called ? t('common.helpCalled') : t('common.callHelp'));
}

function renderHelpCallBanner(v) {
  if (v.helpCall === 'none') return null;
  const text = v.helpCall === 'taken' ? t('helpCall.taken') : t('helpCall.requested');
  return h('div', { class: `help-call ${v.helpCall}`, role: 'status' }, text);
}

function errorText(error) {
  if (!error) return '';
  const other = error.code === 'PIN_OTHER_JOURNEY' ? OTHER_JOURNEY[error.journey] : null;
  const parts = [t(other ? other.text : (ERROR_KEYS[error.code] ?? ERROR_KEYS.SERVER))];
  if (typeof error.attemptsLeft === 'number') {
    const count = error.attemptsLeft;
    parts.push(plural(count) === 'one' ? t('error.attemptsLeftOne', { count }) : t('error.attemptsLeftOther', { count }));
  }
  if (NEXT_KEYS[error.code]) parts.push(t(NEXT_KEYS[error.code]));
  return parts.join(' ');
}

/**
 * The error line next to an input (it keeps its height when empty so nothing jumps), and what
 * the view offers with it: the other journey's button, and Call for help on every error.
 */
function errorLine() {
  const text = errorText(state.error);
  const offer = state.error ? state.view?.offer : null;
  const other = offer?.switchJourney ? OTHER_JOURNEY[offer.switchJourney] : null;
  const offers = [
    other && button(t(other.button), () => void submit({ type: 'switchJourney' }), 'primary', { 'data-offer': 'switch' }),
    offer?.callHelp && state.view?.helpCall === 'none' && button(t('common.callHelp'), () => void send({ type: 'callHelp' }), 'secondary', { 'data-offer': 'call-help' }),
  ].filter(Boolean);
  const line = h('p', { class: `error${text ? '' : ' empty'}`, role: 'alert' }, text);
  return offers.length > 0 ? [line, h('div', { class: 'actions error-offers' }, offers)] : line;
}

// --- steps -----------------------------------------------------------------------------------

function renderWelcome(v) {
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
    errorLine());
}

function renderIdentify(v) {
  if (v.identifyMode === 'plate') return renderPlate();
  if (v.identifyMode === 'phone') return renderPhoneEntry();
  return renderPin();
}

function renderPin() {
  const dots = [];
  for (let i = 0; i < PIN_LENGTH; i += 1) dots.push(h('span', { class: i < state.pin.length ? 'dot on' : 'dot' }));
  const ready = state.pin.length === PIN_LENGTH;
  return h('section', { class: 'step identify two-col' },
    h('div', { class: 'col-text' },
      h('h1', {}, t('identify.pinTitle')),
      h('p', { class: 'hint' }, t('identify.pinHint')),
      h('div', { class: 'pin-dots', role: 'img', 'aria-label': t('identify.pinEntered', { count: state.pin.length, total: PIN_LENGTH }) }, dots),
      errorLine(),
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

/** What has been typed, with a caret; the end stays in view when the text is longer than the box. */
function textDisplay(value, placeholder, extraClass = '') {
  return h('div', { class: `entry ${extraClass}${value ? '' : ' placeholder'}`, role: 'textbox', 'aria-readonly': 'true' },
    h('span', { class: 'entry-text' }, value ? [value, h('span', { class: 'caret', 'aria-hidden': 'true' })] : [h('span', { class: 'caret', 'aria-hidden': 'true' }), placeholder]));
}

function renderPhoneEntry() {
  return phoneEditor({
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
function phoneEditor({ title, hint, value, onChange, actions, links = [] }) {
  return h('section', { class: 'step identify two-col' },
    h('div', { class: 'col-text' },
      h('h1', {}, title),
      h('p', { class: 'hint' }, hint),
      textDisplay(value, '', 'phone-entry'),
      errorLine(),
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

/** Text entry with the on-screen keyboard (licence plate, remark). */
function textEditor({ title, hint, value, max, onChange, actions, links = [], text = false }) {
  // The hint is the empty field's placeholder: the keyboard needs the height.
  return h('section', { class: `step text-entry${text ? ' free-text' : ''}` },
    h('div', { class: 'entry-head' },
      h('h1', {}, title),
      links.length > 0 && h('div', { class: 'alt-links' }, links)),
    h('div', { class: 'entry-row' }, textDisplay(value, hint, text ? 'remark-entry' : 'plate-entry'), actions),
    errorLine(),
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

function renderLookupResult(v) {
  // The same screen whether or not something matched: only the list differs.
  const where = v.destinations.length > 0
    ? h('ul', { class: 'destinations' }, v.destinations.map((d) => h('li', {}, d)))
    : h('ul', { class: 'destinations' }, h('li', { class: 'neutral' }, t('lookup.neutral')));
  return h('section', { class: 'step card-step' },
    h('h1', {}, t('lookup.title')),
    h('p', { class: 'lead' }, t('lookup.intro')),
    where,
    errorLine(),
    h('div', { class: 'actions' },
      button(t('common.back'), () => void submit({ type: 'back' }), 'secondary'),
      button(t('lookup.send'), () => void submit({ type: 'sendPin' }), 'primary')));
}

function renderLookupSent() {
  return h('section', { class: 'step card-step' },
    h('h1', {}, t('lookupSent.title')),
    h('p', { class: 'lead' }, t('lookupSent.text')),
    errorLine(),
    h('div', { class: 'actions' }, button(t('lookupSent.enterPin'), () => void submit({ type: 'identifyMode', mode: 'pin' }), 'primary')));
}

function renderDetails(v) {
  const r = v.reservation;
  if (state.editor === 'phone') {
    return phoneEditor({
      title: t('details.phoneTitle'),
      hint: t('details.phoneHint'),
      value: state.draftPhone,
      onChange: (value) => { state.draftPhone = value; },
      actions: [
        button(t('common.cancel'), () => { state.editor = null; state.error = null; render(); }, 'secondary'),
        button(t('details.save'), () => void saveDetails(state.draftPhone.trim() || null, r?.remark ?? null), 'primary'),
      ],
    });
  }
  if (state.editor === 'remark') {
    return textEditor({
      title: t('details.remarkTitle'),
      hint: t('details.remarkHint', { max: MAX_REMARK }),
      value: state.draftRemark,
      max: MAX_REMARK,
      text: true,
      onChange: (value) => { state.draftRemark = value; },
      actions: [
        button(t('common.cancel'), () => { state.editor = null; state.error = null; render(); }, 'secondary'),
        button(t('details.save'), () => void saveDetails(state.sentPhone, state.draftRemark.trim() || null), 'primary'),
      ],
    });
  }
  const row = (label, value, extraClass = '') => [h('dt', {}, label), h('dd', { class: extraClass }, value)];
  const phones = [...(r?.phones ?? [])];
  if (r?.addedPhone) phones.push(t('details.newPhone', { phone: r.addedPhone }));
  const when = r ? (r.appointmentTime
    ? t('details.appointmentAt', { date: formatDate(r.appointmentDate, locale()), time: r.appointmentTime })
    : formatDate(r.appointmentDate, locale())) : '';
  return h('section', { class: 'step details' },
    h('h1', {}, t('details.title')),
    h('div', { class: 'details-body' },
      h('dl', { class: 'facts' },
        row(t('details.name'), r?.driverName ?? ''),
        row(t('details.plate'), r?.plate ?? '', 'plate'),
        row(t('details.appointment'), when),
        row(t('details.workOrder'), r?.workOrder ?? ''),
        row(t('details.phones'), phones.length > 0 ? phones.join(', ') : t('details.none')),
        row(t('details.remark'), r?.remark ?? t('details.none'), 'remark')),
      h('div', { class: 'side-actions' },
        button(r?.addedPhone ? t('details.changePhone') : t('details.addPhone'), () => {
          state.editor = 'phone'; state.draftPhone = state.sentPhone ?? ''; state.error = null; render();
        }, 'secondary'),
        button(r?.remark ? t('details.changeRemark') : t('details.addRemark'), () => {
          state.editor = 'remark'; state.draftRemark = r?.remark ?? ''; state.error = null; render();
        }, 'secondary'),
        errorLine(),
        button(t('details.confirm'), () => void submit({ type: 'confirm' }), 'primary confirm'))));
}

/** Send phone and remark together (the server replaces both); close the editor if accepted. */
async function saveDetails(phone, remark) {
  const view = await submit({ type: 'details', phone, remark });
  if (view && !view.error) {
    state.sentPhone = phone;
    state.editor = null;
    render();
  }
}

function renderOpening(v) {
  return h('section', { class: 'step center' },
    h('div', { class: 'spinner', 'aria-hidden': 'true' }),
    h('h1', {}, v.compartment ? t('opening.title', { number: v.compartment }) : t('opening.titleAny')),
    h('p', { class: 'lead' }, t('opening.wait')));
}

function renderCompartmentStep(v, kind) {
  const number = v.compartment ?? '–';
  const doorLine = v.door === 'open'
    ? h('p', { class: 'door open', role: 'status' }, t('door.open'))
    : v.door === 'closed'
      ? h('p', { class: 'door closed', role: 'status' }, icon(ICONS.check), t('door.closed'))
      : null;
  return h('section', { class: 'step compartment-step' },
    h('div', { class: 'compartment-tile', 'aria-hidden': 'true' },
      h('span', { class: 'tile-label' }, t('common.compartment')), h('span', { class: 'tile-number' }, String(number))),
    h('div', { class: 'compartment-text' },
      h('h1', {}, kind === 'place' ? t('placeKey.title', { number }) : t('takeKey.title', { number })),
      h('p', { class: 'lead' }, kind === 'place' ? t('placeKey.text', { number }) : t('takeKey.text', { number })),
      doorLine,
      errorLine(),
      button(kind === 'place' ? t('common.confirm') : t('takeKey.done'), () => void submit({ type: 'confirm' }), 'primary wide confirm')));
}

function renderPayment(v) {
  const p = v.payment;
  const amount = p ? formatMoney(p.amount, p.currency, locale()) : '';
  const statusKey = p ? PAYMENT_STATUS_KEYS[p.status] : undefined;
  return h('section', { class: 'step payment' },
    h('h1', {}, t('payment.title')),
    amount && h('div', { class: 'amount-box' }, h('span', { class: 'amount-label' }, t('payment.amount')), h('span', { class: 'amount' }, amount)),
    h('p', { class: 'lead' }, t('payment.text')),
    p?.status !== 'paid' && h('p', { class: 'hint' }, t('payment.how')),
    statusKey && h('p', { class: `pay-status ${p.status}`, role: 'status' }, t(statusKey)),
    errorLine(),
    h('div', { class: 'actions' },
      button(p?.status === 'paid' ? t('payment.open') : t('payment.check'), () => void submit({ type: 'confirm' }), 'primary confirm')));
}

function renderDone(v) {
  return h('section', { class: 'step center done' },
    h('div', { class: 'done-mark', 'aria-hidden': 'true' }, icon(ICONS.check, 'icon big')),
    h('h1', {}, t('done.title')),
    h('p', { class: 'lead' }, v.journey === 'pickup' ? t('done.pickup') : t('done.dropoff')),
    h('p', { class: 'hint' }, t('done.auto')),
    button(t('done.finish'), () => void submit({ type: 'confirm' }), 'secondary'));
}

function lockSecondsLeft() {
  return state.lockDeadline === null ? 0 : Math.max(0, Math.ceil((state.lockDeadline - Date.now()) / 1000));
}

function renderLockedOut() {
  const left = lockSecondsLeft();
  const v = state.view;
  return h('section', { class: 'step center locked' },
    h('h1', {}, t('lockedOut.title')),
    h('p', { class: 'lead' }, t('lockedOut.text')),
    left > 0
      ? [h('p', { class: 'hint' }, t('lockedOut.wait')), h('p', { class: 'countdown', 'data-countdown': 'lock' }, formatCountdown(left))]
      : [h('p', { class: 'lead' }, t('lockedOut.ready'))],
    // Someone waiting after an attacker is never left alone with a countdown: staff can lift the
    // lockout, and "Try again" works as soon as they have (while it lasts, the time left shows).
    h('div', { class: 'actions' },
      v?.offer?.callHelp && v.helpCall === 'none' && button(t('common.callHelp'), () => void send({ type: 'callHelp' }), left > 0 ? 'primary' : 'secondary', { 'data-offer': 'call-help' }),
      button(t('lockedOut.tryAgain'), () => void submit({ type: 'back' }), left > 0 ? 'secondary' : 'primary')));
}

function renderFailed(v) {
  const reason = state.error && state.error.code !== 'OPEN_FAILED' ? errorLine() : null;
  return h('section', { class: 'step center failed' },
    h('h1', {}, t('failed.title')),
    h('p', { class: 'lead' }, t('failed.text')),
    reason,
    h('div', { class: 'actions' },
      v.helpCall === 'none' && button(t('common.callHelp'), () => void send({ type: 'callHelp' }), 'primary'),
      button(t('failed.finish'), () => void submit({ type: 'confirm' }), 'secondary')));
}

// --- overlays ----------------------------------------------------------------------------------

function renderOverlays(v) {
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

function idleSecondsLeft() {
  return state.idleDeadline === null ? 0 : Math.max(0, Math.ceil((state.idleDeadline - Date.now()) / 1000));
}

function idleShown() {
  return state.idleDeadline !== null && Date.now() >= state.idleHiddenUntil;
}

function renderLink(v) {
  const online = state.socketUp && v.link === 'online';
  linkEl.className = `net ${online ? 'online' : 'offline'}`;
  linkEl.textContent = online ? t('link.online') : t('link.offline');
}

/** Once a second: countdowns move without redrawing the screen. */
function tick() {
  const v = state.view;
  if (!v) return;
  const idleEl = overlays.querySelector('[data-countdown="idle"]');
  if (idleEl) idleEl.textContent = t('idle.seconds', { seconds: idleSecondsLeft() });
  const lockEl = main.querySelector('[data-countdown="lock"]');
  if (lockEl) {
    const left = lockSecondsLeft();
    if (left > 0) lockEl.textContent = formatCountdown(left);
    else scheduleRender(); // show "try again"
  }
}

// --- touches ----------------------------------------------------------------------------------

/** Steps where a touch keeps nothing alive (no session, or the server's own timer runs). */
const NO_ACTIVITY_STEPS = new Set(['welcome', 'done', 'locked-out']);

function onPointerDown() {
  holdRenders = true;
  clearTimeout(releaseTimer);
}

function onPointerUp() {
  clearTimeout(releaseTimer);
  releaseTimer = setTimeout(releaseRenders, TAP_SETTLE_MS);
  const v = state.view;
  if (!v || NO_ACTIVITY_STEPS.has(v.step)) return;
  const now = Date.now();
  if (idleShown()) {
    // Any touch answers "are you still there?". The overlay goes once the tap is over, so
    // the tap cannot land on whatever lies under it.
    state.idleHiddenUntil = now + IDLE_DISMISS_MS;
    void send({ type: 'activity' });
    scheduleRender();
    return;
  }
  if (now - state.lastActivity >= ACTIVITY_EVERY_MS) void send({ type: 'activity' });
}

// --- start -------------------------------------------------------------------------------------

function start() {
  lockDownKiosk();
  document.addEventListener('pointerdown', onPointerDown, true);
  document.addEventListener('pointerup', onPointerUp, true);
  document.addEventListener('pointercancel', onPointerUp, true);
  // A second tap of a double tap lands on the next screen: swallow it.
  document.addEventListener('click', (event) => {
    if (Date.now() < state.guardUntil && event.isTrusted) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);
  // After a tap's click has been handled, pushed views may draw.
  document.addEventListener('click', () => setTimeout(releaseRenders, 0));
  setInterval(tick, 1000);

  window.__keylocker = {
    /** Draw a SessionView now (screenshots, tests). Resolves once drawn. */
    render: (view) => acceptView(view, { immediate: true }),
  };

  const params = new URLSearchParams(location.search);
  const initialLang = LANGUAGES.includes(params.get('lang')) ? params.get('lang') : 'nb';

  connectSocket('bottom', {
    onMessage: (msg) => { if (msg.type === 'session') void acceptView(msg.view); },
    onStatus: (up) => { state.socketUp = up; if (state.view) renderLink(state.view); },
  });
  void getJson('/api/session').then((body) => {
    if (body?.view) void acceptView(body.view);
    else if (!state.view) void acceptView(welcomeView(initialLang), { immediate: true });
  });
}

start();
