/**
 * The staff page of the reference back office: today's reservations with their timelines,
 * help calls, a form for new reservations, the locker's link and what was sent to it.
 * Everything is rendered from the state pushed over /staff; actions go to the JSON API.
 * The panels live in their own modules: reservation-cards.js, activity.js, booking-form.js.
 */
import { renderCommands, renderEvents, renderHelp } from '/activity.js';
import { setupForm } from '/booking-form.js';
import { ago, clock, h, live, replace, toast } from '/common.js';
import { renderCompartments } from '/compartments.js';
import { renderReservations } from '/reservation-cards.js';
import { act } from '/staff-actions.js';

let state = null;
let renderWanted = false;

// --- rendering --------------------------------------------------------------------------

function render() {
  if (!state) return;
  // A re-render would wipe what someone is typing into a card: wait until they leave it.
  const active = document.activeElement;
  if (active && active.closest('#reservations') && active.matches('input, select')) {
    renderWanted = true;
    return;
  }
  renderWanted = false;
  const tz = state.timeZone;
  document.getElementById('today').textContent = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }).format(new Date(state.now));
  const dateInput = document.querySelector('#create [name=appointmentDate]');
  if (!dateInput.value) dateInput.value = state.today;
  renderUnits(tz);
  renderCompartments(state);
  renderReservations(state, tz);
  renderHelp(state, tz);
  renderCommands(state, tz);
  renderEvents(state, tz);
}

function renderUnits(tz) {
  const box = document.getElementById('units');
  if (state.units.length === 0) {
    replace(box, h('span', { class: 'unit never' }, 'No locker registered yet'));
    return;
  }
  replace(
    box,
    state.units.map((unit) =>
      h(
        'div',
        { class: `unit ${unit.linkState}` },
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        h('strong', {}, unit.unitId),
        h('span', {}, unit.linkState === 'online' ? 'online' : unit.linkState === 'never' ? 'never connected' : `offline · last seen ${ago(unit.lastSeen, state.now)}`),
        h('span', { class: 'muted', title: 'events written by the locker that the back office has not acknowledged' },
          `outbox lag ${unit.outboxLag ?? '–'}`),
        h('span', { class: 'muted' }, `last event ${unit.lastEventAt ? ago(unit.lastEventAt, state.now) : 'none'}`),
        unit.clock && !unit.clock.synchronised ? h('span', { class: 'warn-tag' }, 'clock not synchronised') : null,
        unit.lockoutUntil
          ? h('span', { class: 'warn-tag', 'data-lockout': unit.unitId }, `PIN entry paused until ${clock(unit.lockoutUntil, tz)}`)
          : null,
        unit.lockoutUntil
          ? h('button', { type: 'button', class: 'primary', 'data-lift': unit.unitId, onclick: () => act(`/api/units/${encodeURIComponent(unit.unitId)}/lift-lockout`, {}, `Lockout lift sent to ${unit.unitId}`) }, 'Lift PIN lockout')
          : null,
        quarantined(unit),
      ),
    ),
  );
}

/**
 * Compartments the locker set aside (content uncertain): someone looks, says what they found,
 * and clears it (compartment.clear-quarantine; refused while its door is open).
 */
function quarantined(unit) {
  const list = (unit.compartments ?? []).filter((c) => c.state === 'quarantined');
  if (list.length === 0) return null;
  return h('div', { class: 'quarantined' }, list.map((c) => {
    const reason = h('input', { type: 'text', maxlength: '500', placeholder: 'What did you find?', 'aria-label': `What you found in compartment ${c.id}`, 'data-quarantine-reason': String(c.id) });
    const clear = () => {
      const text = reason.value.trim();
      if (!text) {
        toast('Say what you found before clearing', 'bad');
        return;
      }
      const by = document.getElementById('staff-name').value.trim() || null;
      act(`/api/units/${encodeURIComponent(unit.unitId)}/compartments/${c.id}/clear-quarantine`, { reason: text, by }, `Clear sent for compartment ${c.id}`);
    };
    return h('div', { class: 'quarantine-row' },
      h('span', { class: 'warn-tag', 'data-quarantined': String(c.id) }, `Compartment ${c.id} quarantined`),
      reason,
      h('button', { type: 'button', class: 'primary', 'data-clear-quarantine': String(c.id), onclick: clear }, 'Clear quarantine'));
  }));
}

// --- start ------------------------------------------------------------------------------

setupForm(() => state?.today);
document.getElementById('staff-name').value = localStorage.getItem('staffName') ?? '';
document.getElementById('staff-name').addEventListener('change', (event) => {
  localStorage.setItem('staffName', event.target.value.trim());
  render();
});
document.getElementById('reservations').addEventListener('focusout', () => setTimeout(() => renderWanted && render(), 0));
live(
  'staff',
  (next) => {
    state = next;
    render();
  },
  (up) => {
    const badge = document.getElementById('live');
    badge.className = `live ${up ? 'on' : 'off'}`;
    badge.textContent = up ? 'live' : 'reconnecting…';
  },
);
// "5 min ago" keeps moving between pushes.
setInterval(() => {
  if (state) {
    state = { ...state, now: new Date().toISOString() };
    render();
  }
}, 30_000);
