/**
 * The staff page of the reference back office: today's reservations with their timelines,
 * help calls, a form for new reservations, the locker's link and what was sent to it.
 * Everything is rendered from the state pushed over /staff; actions go to the JSON API.
 */
import { ago, clock, h, live, money, post, replace, toast } from '/common.js';
import { renderCompartments } from '/compartments.js';
import { visibleHelpCalls } from '/help-calls.js';
import { milestoneStrip } from '/work-order.js';

const STATUS_TEXT = {
  booked: 'Booked',
  deposited: 'Key in locker',
  retrieved: 'Key taken by mechanic',
  ready: 'Ready for pickup',
  collected: 'Collected',
  cancelled: 'Cancelled',
};

const TIMELINE_TEXT = {
  created: 'Created',
  updated: 'Changed',
  cancelled: 'Cancelled',
  'reset.requested': 'PIN reset requested',
  'payment.set': 'Payment status set',
  'locker.answered': 'Locker answered',
  'mechanic.requested': 'Mechanic asked for the key',
  'key.deposited': 'Key deposited',
  'key.collected': 'Key collected',
  'key.retrieved': 'Key collected by the mechanic',
  'key.returned': 'Key returned for pickup',
  'pickup.notified': 'Customer told where to pick up',
  'mechanic.scanned': 'Mechanic scanned the QR',
  'mechanic.queued': 'Mechanic waits: a customer is at the locker',
  'mechanic.qr-shown': 'QR shown on the locker',
  'mechanic.expired': 'QR expired unused',
  'mechanic.refused': 'Mechanic refused',
  'mechanic.opened': 'Compartment opened for the mechanic',
  'compartment.opened': 'Compartment opened',
  'compartment.closed': 'Compartment closed',
  'compartment.forced': 'Compartment forced open',
  'compartment.left-open': 'Door left open',
  'compartment.jammed': 'Lock jammed',
  'compartment.open-failed': 'Compartment did not open',
  'compartment.quarantined': 'Compartment quarantined',
  'locker.full': 'Locker full',
  'lockout.reservation': 'PIN locked after wrong attempts',
  'lockout.ended': 'PIN lock lifted',
  'lockout.lift-requested': 'PIN lock lift sent',
  'pin.ambiguous': 'Its PIN is shared with another booking: give it a new one',
  'pin.sent': 'PIN sent',
  'pin.delivery-requested': 'Customer asked for the PIN again',
  'help.requested': 'Help requested',
  'lockout.locker': 'Locker refuses PINs for a while',
  'board.offline': 'Lock board offline',
  'board.online': 'Lock board back online',
  'journey.abandoned': 'Customer left after the door opened',
  'compartment.item-mismatch': 'Item sensor disagrees: compartment checked by staff',
  'compartment.quarantine-cleared': 'Quarantine cleared',
};

const COMMAND_TEXT = {
  'reservation.upsert': 'Reservation',
  'reservation.cancel': 'Cancel',
  'reservation.reset': 'PIN reset',
  'payment.status': 'Payment',
  'help.update': 'Help call',
  'mechanic.request': 'Mechanic request',
  'mechanic.open': 'Mechanic scan',
  'lockout.lift': 'Lift PIN lockout',
  'compartment.clear-quarantine': 'Clear quarantine',
};

let state = null;
const expanded = new Set();
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
  renderReservations(tz);
  renderHelp(tz);
  renderCommands(tz);
  renderEvents(tz);
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

function renderReservations(tz) {
  const list = state.reservations;
  document.getElementById('res-count').textContent = `${list.length} today`;
  const box = document.getElementById('reservations');
  if (list.length === 0) {
    replace(box, h('p', { class: 'empty' }, 'No reservations for today. Create one with the form.'));
    return;
  }
  replace(box, list.map((r) => card(r, tz)));
}

function card(r, tz) {
  const live = r.status === 'booked' || r.status === 'ready';
  const terminal = r.status === 'cancelled' || r.status === 'collected' || r.status === 'retrieved';
  const field = (label, ...value) => h('div', { class: 'field' }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, ...value));
  const contact = [...r.phones, ...(r.email ? [r.email] : [])].join(' · ') || '–';
  const payment = r.paymentRequired
    ? h('span', { class: `pay ${r.paymentStatus}` }, `${money(r.paymentAmount, r.paymentCurrency)} · ${r.paymentStatus}`)
    : 'none';

  return h(
    'article',
    { class: `card ${r.status}${r.pinLocked ? ' locked' : ''}`, 'data-id': r.id },
    h(
      'div',
      { class: 'card-head' },
      h('span', { class: `kind ${r.kind}` }, r.kind === 'dropoff' ? 'Drop-off' : 'Pickup'),
      h('strong', { class: 'code' }, r.code),
      h('span', { class: 'muted' }, r.appointmentTime ? `${r.appointmentTime}` : r.appointmentDate !== state.today ? r.appointmentDate : 'any time'),
      h('span', { class: `status ${r.status}` }, STATUS_TEXT[r.status] ?? r.status),
    ),
    h(
      'div',
      { class: 'fields' },
      field('Work order', r.workOrder),
      field('Plate', r.plateDisplay),
      field('Driver', r.driverName),
      field('Contact', contact),
      field('Compartment', r.compartmentId ?? '–'),
      field('Payment', payment),
      field('PIN', h('span', { class: 'pin' }, r.pin), h('span', { class: 'demo-tag' }, 'demo')),
    ),
    milestoneStrip(state.workOrders?.[r.workOrder], tz),
    r.remark || r.addedPhone
      ? h(
          'div',
          { class: 'from-locker' },
          r.remark ? h('p', {}, h('span', { class: 'label' }, 'Remark from the customer: '), r.remark) : null,
          r.addedPhone ? h('p', {}, h('span', { class: 'label' }, 'Phone added at the locker: '), r.addedPhone) : null,
        )
      : null,
    r.pinLocked ? h('p', { class: 'alert' }, 'PIN entry locked after too many wrong attempts. Lift the lock when the customer has been identified.') : null,
    h(
      'div',
      { class: 'actions' },
      r.pinLocked
        ? h('button', { type: 'button', class: 'primary', onclick: () => act(`/api/reservations/${r.id}/lift-lockout`, {}, `PIN lock lift sent for ${r.code}`) }, 'Lift PIN lock')
        : null,
      live ? h('button', { type: 'button', class: 'danger', onclick: () => cancel(r) }, 'Cancel') : null,
      r.paymentRequired
        ? [
            h('button', { type: 'button', disabled: r.paymentStatus === 'paid' || terminal, onclick: () => pay(r, 'paid') }, 'Mark paid'),
            h('button', { type: 'button', disabled: r.paymentStatus === 'cancelled' || terminal, onclick: () => pay(r, 'cancelled') }, 'Payment cancelled'),
            h('button', { type: 'button', disabled: r.paymentStatus !== 'paid', onclick: () => pay(r, 'refunded') }, 'Refunded'),
          ]
        : null,
      r.kind === 'pickup' && r.status === 'booked' ? placeKey(r) : null,
    ),
    timelineOf(r, tz),
  );
}

function placeKey(r) {
  const input = h('input', { type: 'number', min: '1', max: '16', 'aria-label': `Compartment for ${r.code}`, placeholder: '#' });
  return h(
    'form',
    {
      class: 'place',
      onsubmit: (event) => {
        event.preventDefault();
        input.blur();
        const n = Number(input.value);
        act(`/api/reservations/${r.id}`, { compartmentId: Number.isInteger(n) && input.value !== '' ? n : input.value }, `${r.code}: key placed in compartment ${input.value}`);
      },
    },
    h('label', {}, 'Key in compartment ', input),
    h('button', { type: 'submit' }, 'Set'),
  );
}

function timelineOf(r, tz) {
  const details = h(
    'details',
    { class: 'timeline', open: expanded.has(r.id) },
    h('summary', {}, `Timeline (${r.timeline.length})`),
    h(
      'ol',
      {},
      r.timeline.map((entry) =>
        h('li', {}, h('time', { datetime: entry.at }, clock(entry.at, tz, true)), ' ', h('span', {}, describe(entry))),
      ),
    ),
  );
  details.addEventListener('toggle', () => (details.open ? expanded.add(r.id) : expanded.delete(r.id)));
  return details;
}

function describe(entry) {
  const d = entry.detail ?? {};
  const base = TIMELINE_TEXT[entry.event] ?? entry.event;
  switch (entry.event) {
    case 'created':
    case 'updated':
      return `${base} (version ${d.version})`;
    case 'payment.set':
      return `${base}: ${d.status} (${money(d.amount, d.currency)})`;
    case 'locker.answered':
      return `${base} ${COMMAND_TEXT[d.command] ?? d.command}: ${d.ok ? (d.applied === false ? 'not applied (stale)' : 'ok') : `refused, ${d.code}`}`;
    case 'pin.sent':
      return `${base} by ${(d.channels ?? []).join(' and ') || 'nothing (no contact on file)'} (not really sent by the reference back office)`;
    case 'mechanic.requested':
      return `${base} (tablet ${d.tabletId}${d.purpose === 'deposit' ? ', to return it' : ''})`;
    case 'key.retrieved':
    case 'key.returned':
      return `${base}: ${d.by ?? d.tabletId} · compartment ${d.compartment}`;
    case 'pickup.notified':
      return `${base}: compartment ${d.compartment}, by ${(d.channels ?? []).join(' and ') || 'nothing (no contact on file)'} (not really sent by the reference back office)`;
    default:
      return [base, d.compartment ? `compartment ${d.compartment}` : null, d.reason ?? d.error ?? null].filter(Boolean).join(' · ');
  }
}

function renderHelp(tz) {
  const box = document.getElementById('help');
  const calls = visibleHelpCalls(state, document.getElementById('staff-name').value.trim());
  // On a narrow screen the panel is far down: the header says when someone is waiting.
  const waiting = calls.filter((call) => call.state === 'open').length;
  const badge = document.getElementById('help-badge');
  badge.hidden = waiting === 0;
  badge.textContent = waiting === 1 ? '1 help call waiting' : `${waiting} help calls waiting`;
  if (calls.length === 0) {
    replace(box, h('p', { class: 'empty' }, 'No help calls.'));
    return;
  }
  replace(
    box,
    h(
      'ul',
      { class: 'help-list' },
      calls.map((call) =>
        h(
          'li',
          { class: `help ${call.state}`, 'data-help-call': call.callId },
          h('div', {}, h('strong', {}, `${clock(call.createdAt, tz)} · ${call.unitId}`),
            h('span', { class: `status help-${call.state}` }, call.state === 'open' ? 'waiting' : call.state === 'taken' ? `taken by ${call.takenBy ?? 'staff'}` : 'closed')),
          h('div', { class: 'muted' }, [call.journey, call.step, call.compartment ? `compartment ${call.compartment}` : null].filter(Boolean).join(' · ')),
          call.state !== 'closed'
            ? h(
                'div',
                { class: 'actions' },
                call.state === 'open' ? h('button', { type: 'button', class: 'primary', 'data-take': call.callId, onclick: () => help(call, 'take') }, "I'll take it") : null,
                call.state === 'open' ? h('button', { type: 'button', 'data-ignore': call.callId, onclick: () => help(call, 'ignore') }, 'Ignore') : null,
                h('button', { type: 'button', onclick: () => help(call, 'close') }, 'Close'),
              )
            : null,
        ),
      ),
    ),
  );
}

function renderCommands(tz) {
  const rows = state.commands.slice(0, 20);
  const box = document.getElementById('commands');
  if (rows.length === 0) {
    replace(box, h('p', { class: 'empty' }, 'Nothing sent yet.'));
    return;
  }
  const codeOf = new Map(state.reservations.map((r) => [r.id, r.code]));
  replace(
    box,
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Created'), h('th', {}, 'Command'), h('th', {}, 'About'), h('th', {}, 'Sent'), h('th', {}, 'Result'))),
      h(
        'tbody',
        {},
        rows.map((c) =>
          h(
            'tr',
            {},
            h('td', {}, clock(c.createdAt, tz, true)),
            h('td', {}, COMMAND_TEXT[c.name] ?? c.name),
            h('td', {}, about(c, codeOf)),
            h('td', {}, c.sentAt ? (c.sendCount > 1 ? `${clock(c.sentAt, tz, true)} (${c.sendCount}×)` : clock(c.sentAt, tz, true)) : h('span', { class: 'muted' }, 'waiting for the locker')),
            h('td', {}, resultOf(c)),
          ),
        ),
      ),
    ),
  );
}

function about(c, codeOf) {
  const a = c.about ?? {};
  const code = a.code ?? codeOf.get(c.reservationId) ?? '';
  switch (c.name) {
    case 'reservation.upsert':
      return `${code} v${a.version}${a.compartmentId ? ` · compartment ${a.compartmentId}` : ''}`;
    case 'reservation.cancel':
      return `${code} v${a.version}`;
    case 'payment.status':
      return `${code} ${a.status} ${money(a.amount, a.currency)} v${a.version}`;
    case 'help.update':
      return `${a.state}${a.by ? ` by ${a.by}` : ''}`;
    case 'mechanic.request':
      return `${code} for tablet ${a.tabletId}`;
    default:
      return code;
  }
}

function resultOf(c) {
  if (c.ok === null) return h('span', { class: 'muted' }, 'no answer yet');
  if (c.ok) {
    const applied = c.result?.applied;
    return h('span', { class: 'ok' }, applied === false ? `ok, not applied (${c.result?.reason ?? 'stale'})` : 'ok');
  }
  return h('span', { class: 'bad' }, c.result?.error?.code ?? 'refused');
}

function renderEvents(tz) {
  const box = document.getElementById('events');
  if (state.events.length === 0) {
    replace(box, h('p', { class: 'empty' }, 'No events yet.'));
    return;
  }
  replace(
    box,
    h(
      'ol',
      { class: 'event-list' },
      state.events.slice(0, 20).map((e) =>
        h(
          'li',
          {},
          h('span', { class: 'seq' }, `#${e.seq}`),
          h('span', { class: 'what' }, h('span', {}, TIMELINE_TEXT[e.type] ?? e.type), e.compartment ? h('span', { class: 'muted' }, `compartment ${e.compartment}`) : null),
          h('time', { class: 'muted', datetime: e.receivedAt }, clock(e.receivedAt, tz, true)),
        ),
      ),
    ),
  );
}

// --- actions ----------------------------------------------------------------------------

async function act(path, body, done) {
  try {
    await post(path, body);
    toast(done);
  } catch (error) {
    toast(error.message, 'bad');
  }
}

function cancel(r) {
  if (!window.confirm(`Cancel ${r.code} (${r.plateDisplay}, ${r.driverName})?`)) return;
  act(`/api/reservations/${r.id}/cancel`, {}, `${r.code} cancelled`);
}

function pay(r, status) {
  act(`/api/reservations/${r.id}/payment`, { status }, `${r.code}: payment ${status}`);
}

function help(call, what) {
  const by = document.getElementById('staff-name').value.trim() || null;
  if (what === 'ignore') {
    if (!by) return toast('Type your name first: ignoring hides the call for you only', 'bad');
    return act(`/api/help/${encodeURIComponent(call.callId)}/ignore`, { staff: by, unitId: call.unitId }, 'Help call hidden for you');
  }
  act(`/api/help/${encodeURIComponent(call.callId)}/${what}`, { by, unitId: call.unitId }, what === 'take' ? 'Help call taken' : 'Help call closed');
}

// --- the form ---------------------------------------------------------------------------

const FIELD_INPUT = { phones: 'phone', paymentAmount: 'amount' };

function setupForm() {
  const form = document.getElementById('create');
  const errorBox = document.getElementById('create-error');
  const sync = () => {
    form.classList.toggle('is-pickup', form.elements.kind.value === 'pickup');
    form.classList.toggle('is-paid', form.elements.paymentRequired.checked);
  };
  form.addEventListener('change', sync);
  sync();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    errorBox.textContent = '';
    const v = (name) => form.elements[name].value.trim();
    const kind = form.elements.kind.value;
    const body = {
      kind,
      workOrder: v('workOrder'),
      plate: v('plate'),
      driverName: v('driverName'),
      phones: v('phone') ? [v('phone')] : [],
      email: v('email') || null,
      appointmentDate: v('appointmentDate') || undefined,
      appointmentTime: v('appointmentTime') || null,
    };
    if (kind === 'pickup') {
      body.compartmentId = v('compartmentId') === '' ? null : Number(v('compartmentId'));
      body.paymentRequired = form.elements.paymentRequired.checked;
      if (body.paymentRequired) {
        const amount = Number(v('amount').replace(',', '.'));
        body.paymentAmount = v('amount') === '' || !Number.isFinite(amount) ? null : Math.round(amount * 100);
        body.currency = v('currency').toUpperCase() || 'NOK';
      }
    }
    try {
      const { reservation } = await post('/api/reservations', body);
      form.reset();
      form.elements.appointmentDate.value = state?.today ?? '';
      sync();
      replace(
        document.getElementById('created'),
        `Created ${reservation.code} for ${reservation.driverName}. PIN `,
        h('strong', { class: 'pin' }, reservation.pin),
        ' (demo: a real back office sends it to the customer).',
      );
    } catch (error) {
      const name = error.field ? (FIELD_INPUT[error.field.split('.')[0]] ?? error.field.split('.')[0]) : null;
      const input = name ? form.elements[name] : null;
      if (input && input.setAttribute) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
      const label = input?.closest?.('label')?.firstChild?.textContent?.trim();
      errorBox.textContent = label && error.field ? error.message.replace(/^[\w.]+: /, `${label}: `) : error.message;
    }
  });
}

// --- start ------------------------------------------------------------------------------

setupForm();
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
