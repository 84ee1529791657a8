/**
 * The customer's touch screen. The server owns the journey (SessionView, pushed over ws and
 * returned by POST /api/session); this page only draws the current view and keeps what is
 * being typed (PIN, plate, phone, remark) until it is sent. Strings come from the catalogues.
 *
 * Modules: state.js (local state, render scheduling), session.js (views in, actions out),
 * screen.js (the bar and the step), editors.js (keypad and keyboard entry), details.js,
 * steps.js (the other steps), overlays.js (help, language, cancel, idle), widgets.js (shared
 * pieces). Layout per screen size is CSS (style.css), except the keyboard's narrow order.
 */
import { lockDownKiosk } from '/shared/dom.js';
import { LANGUAGES } from '/shared/i18n.js';
import { connectSocket, getJson } from '/shared/socket.js';
import {
  state, welcomeView, scheduleRender, holdRendersWhileTouching, releaseRendersSoon, releaseRenders,
  idleShown, ACTIVITY_EVERY_MS, IDLE_DISMISS_MS,
} from './state.js';
import { acceptView, send } from './session.js';
import { tick } from './screen.js';

/** Steps where a touch keeps nothing alive (no session, or the server's own timer runs). */
const NO_ACTIVITY_STEPS = new Set(['welcome', 'done', 'locked-out']);

function onPointerUp() {
  releaseRendersSoon();
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

function start() {
  lockDownKiosk();
  document.addEventListener('pointerdown', holdRendersWhileTouching, true);
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
    onStatus: (up) => {
      state.socketUp = up;
      if (up) state.socketDownSince = null;
      else state.socketDownSince ??= Date.now();
      if (state.view) scheduleRender();
    },
  });
  void getJson('/api/session').then((body) => {
    if (body?.view) void acceptView(body.view);
    else if (!state.view) void acceptView(welcomeView(initialLang), { immediate: true });
  });
}

start();
