/**
 * The staff page's compartment view (issue 10): every compartment of each locker as a tile
 * (state, door, what is in it and for which order, the answer to the last staff action), the
 * locker's alarms, and two actions that need a reason: open from the back office
 * (compartment.remote-open: audited and throttled by the locker) and clear a quarantine.
 * Rendered from the state the page already gets (state.staff, test/reference-backoffice/staff-ops.ts).
 */
import { clock, h, post, replace, toast } from '/common.js';

const STATE_TEXT = { free: 'Free', reserved: 'Reserved', occupied: 'Key inside', quarantined: 'Quarantined', disabled: 'Out of service' };
const DOOR_TEXT = { open: 'Door open', closed: 'Door closed', unknown: 'Door unknown' };

/** The action being prepared: { unitId, compartment, kind: 'open' | 'clear' } or null. Survives re-renders. */
let pending = null;
/** What the grid was last drawn from: an unchanged state leaves the buttons in place (a click in progress is not lost). */
let drawn = '';

export function renderCompartments(state) {
  const box = document.getElementById('compartments');
  if (!box) return;
  const units = state.staff?.units ?? [];
  const key = JSON.stringify([units, state.timeZone]);
  if (key === drawn) return;
  drawn = key;
  if (units.length === 0) {
    replace(box, h('p', { class: 'empty' }, 'No locker has said hello yet.'));
    return;
  }
  replace(box, units.map((unit) => unitView(unit, state.timeZone, units.length > 1)));
  renderForm();
}

function unitView(unit, tz, named) {
  return h('div', { class: 'comp-unit', 'data-unit': unit.unitId },
    named ? h('h3', {}, unit.unitId) : null,
    alarms(unit, tz),
    unit.tiles.length === 0
      ? h('p', { class: 'empty' }, `${unit.unitId} has not reported its compartments yet.`)
      : h('ol', { class: 'comp-grid', 'aria-label': `Compartments of ${unit.unitId}` }, unit.tiles.map((tile) => tileView(unit, tile))));
}

function alarms(unit, tz) {
  if (unit.alarms.length === 0) return null;
  return h('ul', { class: 'alarm-list', role: 'alert' }, unit.alarms.slice(0, 5).map((alarm) =>
    h('li', { class: 'alarm', 'data-alarm': alarm.type },
      h('strong', {}, 'Alarm'), ' ', alarm.detail, alarm.by ? ` (asked by ${alarm.by})` : '', ' ',
      h('time', { class: 'muted', datetime: alarm.at }, clock(alarm.at, tz, true)))));
}

function tileView(unit, tile) {
  const holder = tile.holder;
  const action = tile.lastAction;
  return h('li', { class: `comp-tile ${tile.state} door-${tile.door}`, 'data-compartment': String(tile.id), 'data-state': tile.state, 'data-door': tile.door },
    h('div', { class: 'comp-head' }, h('span', { class: 'comp-no' }, String(tile.id)), h('span', { class: 'comp-state' }, STATE_TEXT[tile.state] ?? tile.state)),
    h('div', { class: 'comp-door' }, DOOR_TEXT[tile.door] ?? tile.door),
    h('div', { class: 'comp-content' },
      holder ? [h('span', { class: 'comp-order' }, `${holder.workOrder} · ${holder.plateDisplay}`), h('span', { class: 'muted' }, `${holder.kind === 'pickup' ? 'pickup' : 'drop-off'} ${holder.code}`)]
        : tile.reservationId ? h('span', { class: 'muted' }, `reservation ${tile.reservationId.slice(0, 8)}`)
          : h('span', { class: 'muted' }, tile.state === 'free' ? 'empty' : '–')),
    tile.quarantineReason ? h('div', { class: 'comp-reason' }, tile.quarantineReason) : null,
    action ? h('div', { class: `comp-last ${action.ok === false ? 'bad' : action.ok ? 'ok' : ''}`, 'data-last-action': String(tile.id) }, action.summary) : null,
    h('div', { class: 'comp-actions' },
      h('button', { type: 'button', 'data-remote-open': String(tile.id), onclick: () => choose(unit.unitId, tile.id, 'open') }, 'Open…'),
      tile.state === 'quarantined'
        ? h('button', { type: 'button', class: 'primary', 'data-clear': String(tile.id), onclick: () => choose(unit.unitId, tile.id, 'clear') }, 'Clear…')
        : null));
}

function choose(unitId, compartment, kind) {
  pending = { unitId, compartment, kind };
  renderForm();
  document.getElementById('comp-reason').focus();
}

function renderForm() {
  const form = document.getElementById('comp-action');
  if (!form) return;
  form.hidden = pending === null;
  if (!pending) return;
  const { compartment, kind } = pending;
  document.getElementById('comp-action-title').textContent = kind === 'open' ? `Open compartment ${compartment} from here` : `Clear the quarantine of compartment ${compartment}`;
  document.getElementById('comp-reason').placeholder = kind === 'open' ? 'Why must it be opened?' : 'What did you find inside?';
  document.getElementById('comp-submit').textContent = kind === 'open' ? `Open ${compartment}` : `Clear ${compartment}`;
}

async function submit(event) {
  event.preventDefault();
  const error = document.getElementById('comp-error');
  error.textContent = '';
  if (!pending) return;
  const reasonInput = document.getElementById('comp-reason');
  const reason = reasonInput.value.trim();
  const by = document.getElementById('staff-name').value.trim();
  if (!reason) {
    error.textContent = pending.kind === 'open' ? 'Say why the compartment must be opened: the reason is kept in the locker\'s audit log.' : 'Say what you found before clearing.';
    reasonInput.setAttribute('aria-invalid', 'true');
    return;
  }
  if (pending.kind === 'open' && !by) {
    error.textContent = 'Type your name (under Help calls) first: the locker records who opened it.';
    return;
  }
  reasonInput.removeAttribute('aria-invalid');
  const { unitId, compartment, kind } = pending;
  const path = `/api/units/${encodeURIComponent(unitId)}/compartments/${compartment}/${kind === 'open' ? 'remote-open' : 'clear-quarantine'}`;
  try {
    await post(path, { reason, by: by || null });
    toast(kind === 'open' ? `Open sent for compartment ${compartment}` : `Clear sent for compartment ${compartment}`);
    reasonInput.value = '';
    pending = null;
    renderForm();
  } catch (failure) {
    error.textContent = failure.message;
  }
}

document.getElementById('comp-action')?.addEventListener('submit', (event) => void submit(event));
document.getElementById('comp-cancel')?.addEventListener('click', () => {
  pending = null;
  document.getElementById('comp-error').textContent = '';
  renderForm();
});
