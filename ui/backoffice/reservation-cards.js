/**
 * Today's reservations on the staff page, one card each: its fields, the work order's
 * milestones, what the customer added at the locker, the actions, and its timeline.
 */
import { clock, h, money, replace } from '/common.js';
import { act, cancel, pay } from '/staff-actions.js';
import { COMMAND_TEXT, STATUS_TEXT, TIMELINE_TEXT } from '/staff-text.js';
import { milestoneStrip } from '/work-order.js';

/** Cards whose timeline is open stay open across re-renders. */
const expanded = new Set();

export function renderReservations(state, tz) {
  const list = state.reservations;
  document.getElementById('res-count').textContent = `${list.length} today`;
  const box = document.getElementById('reservations');
  if (list.length === 0) {
    replace(box, h('p', { class: 'empty' }, 'No reservations for today. Create one with the form.'));
    return;
  }
  replace(box, list.map((r) => card(state, r, tz)));
}

function card(state, r, tz) {
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
      // Sent through the messenger with the phone link (see the outbox), or only noted (older events).
      return `${base}: compartment ${d.compartment}, by ${(d.channels ?? []).join(' and ') || 'nothing (no contact on file)'}${d.link ? ', with the phone link (see the outbox)' : ' (not really sent by the reference back office)'}`;
    default:
      return [base, d.compartment ? `compartment ${d.compartment}` : null, d.reason ?? d.error ?? null].filter(Boolean).join(' · ');
  }
}
