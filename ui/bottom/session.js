/**
 * Talking to the server: views arrive (pushed over ws, or as the answer to an action) and
 * actions go out as POST /api/session. The server owns the journey; this keeps only what the
 * page needs around a view (typed input is cleared on a new screen, errors are kept).
 */
import { setLanguage } from '/shared/i18n.js';
import { state, resetInputs, render, scheduleRender, NEW_SCREEN_GUARD_MS } from './state.js';

let viewSeq = 0;

/** Take a view from the server (or injected); draws once its language is loaded. */
export async function acceptView(view, { immediate = false } = {}) {
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

/** Local state that follows the view: clear inputs on a new screen, keep errors and deadlines. */
function noteChanges(prev, view) {
  if (!prev || prev.sessionId !== view.sessionId) {
    state.sentPhone = null;
    state.langOpen = false;
  }
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
export async function send(action) {
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
export function submit(action) {
  state.error = null;
  render();
  return send(action);
}
