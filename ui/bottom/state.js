/**
 * The bottom screen's local state: the last view from the server, what is being typed, the
 * error on screen and the deadlines of countdowns. Also the render scheduler: pushed views
 * wait while a finger is down, so a re-render never steals a tap.
 */

export const PIN_LENGTH = 6;
export const MAX_PLATE = 12;
export const MAX_PHONE = 16;
export const MAX_REMARK = 500; // kiosk/core/actions.ts MAX_REMARK_LENGTH
export const ACTIVITY_EVERY_MS = 5000;
/** After a tap dismissed the idle warning, hide it this long while the server catches up. */
export const IDLE_DISMISS_MS = 2000;
/** Hold pushed renders this long after a finger lifts, so a re-render never steals the tap. */
export const TAP_SETTLE_MS = 350;
/** Taps this soon after the screen changed are ignored: a double tap must not act twice. */
export const NEW_SCREEN_GUARD_MS = 400;
/** The locker's service unreachable this long (its socket down): the screen says "out of order". */
export const LOCKER_DOWN_AFTER_MS = 5000;

/** Shown until the server answers (or when it cannot be reached). */
export function welcomeView(lang) {
  return {
    sessionId: null, journey: null, step: 'welcome', lang, progress: null, identifyMode: 'pin', error: null,
    destinations: [], reservation: null, compartment: null, door: null, payment: null, idleWarning: null,
    confirmAbandon: false, helpOpen: false, helpCall: 'none', link: 'offline', outOfOrder: false,
  };
}

export const state = {
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
  /** The language chooser is open (local: the server only hears the choice). */
  langOpen: false,
  /** Since when the socket has been down (ms), null while it is up. */
  socketDownSince: Date.now(),
};

/** Out of order: the locker says so (a lock board down), or its service cannot be reached. */
export function outOfOrder(view) {
  const serviceDown = state.socketDownSince !== null && Date.now() - state.socketDownSince >= LOCKER_DOWN_AFTER_MS;
  return view?.outOfOrder === true || serviceDown;
}

export function resetInputs() {
  state.pin = '';
  state.plate = '';
  state.phone = '';
  state.editor = null;
  state.draftPhone = '';
  state.draftRemark = '';
}

export function lockSecondsLeft() {
  return state.lockDeadline === null ? 0 : Math.max(0, Math.ceil((state.lockDeadline - Date.now()) / 1000));
}

export function idleSecondsLeft() {
  return state.idleDeadline === null ? 0 : Math.max(0, Math.ceil((state.idleDeadline - Date.now()) / 1000));
}

export function idleShown() {
  return state.idleDeadline !== null && Date.now() >= state.idleHiddenUntil;
}

// --- render scheduling ------------------------------------------------------------------------

let renderer = () => {};
let holdRenders = false;
let pendingRender = false;
let releaseTimer = null;

/** The function that draws the whole screen (screen.js registers it). */
export function setRenderer(fn) {
  renderer = fn;
}

/** Draw now. */
export function render() {
  pendingRender = false;
  renderer();
}

/** Draw now, or once the finger that is down has lifted. */
export function scheduleRender() {
  if (holdRenders) pendingRender = true;
  else render();
}

export function holdRendersWhileTouching() {
  holdRenders = true;
  clearTimeout(releaseTimer);
}

export function releaseRendersSoon() {
  clearTimeout(releaseTimer);
  releaseTimer = setTimeout(releaseRenders, TAP_SETTLE_MS);
}

export function releaseRenders() {
  holdRenders = false;
  clearTimeout(releaseTimer);
  if (pendingRender) render();
}
