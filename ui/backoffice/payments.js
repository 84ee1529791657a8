/**
 * The staff page's payments panel (issue 12): every payment with its state, method and the time
 * it was paid, filtered by state and day; send the payment link by SMS, cancel a request (the
 * order is then locked as "mobile payment" until reopened), reopen, refund, check with the
 * provider, mark paid by hand after checking the workshop's Vipps number. Below it, the
 * messenger's outbox: what would have been sent, the destination masked.
 */
import { h, live, money, post, replace, toast } from '/common.js';

const list = document.getElementById('payments-list');
const outbox = document.getElementById('outbox');
const stateFilter = document.getElementById('pay-filter-state');
const dateFilter = document.getElementById('pay-filter-date');

const ACTIONS = {
  requested: ['check', 'cancel', 'send-link', 'mark-paid'],
  authorised: ['check', 'cancel'],
  paid: ['refund'],
  failed: ['send-link', 'mark-paid'],
  expired: ['send-link', 'mark-paid'],
  cancelled: ['mark-paid'],
  refunded: [],
  pending: ['send-link', 'mark-paid'],
};
const LABELS = { check: 'Check', cancel: 'Cancel request', 'send-link': 'Send link by SMS', 'mark-paid': 'Mark paid (Vipps number checked)', refund: 'Refund', reopen: 'Reopen' };

async function act(reservationId, action) {
  try {
    const { payment } = await post(`/api/reservations/${encodeURIComponent(reservationId)}/payment/${action}`);
    toast(`${LABELS[action]}: ${payment.state}`);
  } catch (error) {
    toast(error.message, 'bad');
  }
  await refresh();
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' }) : '';
}

async function refresh() {
  const query = new URLSearchParams();
  if (stateFilter.value) query.set('state', stateFilter.value);
  if (dateFilter.value) query.set('date', dateFilter.value);
  const [payments, sent] = await Promise.all([
    fetch(`/api/payments?${query}`).then((res) => res.json()),
    fetch('/api/outbox').then((res) => res.json()),
  ]);
  // Only the newest payment of an order carries its buttons.
  const newest = new Set();
  replace(list, (payments.payments ?? []).length === 0
    ? h('p', { class: 'empty' }, 'No payments.')
    : h('ul', { class: 'payment-list' }, payments.payments.map((p) => {
      const first = !newest.has(p.reservationId);
      newest.add(p.reservationId);
      const actions = !first ? [] : p.locked ? ['reopen'] : ACTIONS[p.state] ?? [];
      return h('li', { 'data-reservation': p.reservationId, 'data-state': p.state, 'data-locked': String(p.locked) },
        h('strong', {}, p.plate), ' ', money(p.amount, p.currency), ' ',
        h('span', { class: `pay-state ${p.state}` }, p.locked ? `${p.state} · locked as mobile payment` : p.state), ' ',
        h('span', { class: 'muted' }, p.method, p.phoneMasked ? ` to ${p.phoneMasked}` : '', p.paidAt ? ` · paid ${when(p.paidAt)}` : ` · ${when(p.createdAt)}`),
        actions.length > 0 && h('span', { class: 'pay-actions' }, actions.map((action) =>
          h('button', { type: 'button', 'data-action': action, onclick: () => void act(p.reservationId, action) }, LABELS[action]))));
    })));
  replace(outbox, (sent.messages ?? []).length === 0
    ? h('p', { class: 'empty' }, 'Nothing sent yet.')
    : h('ul', { class: 'outbox-list' }, sent.messages.map((m) =>
      h('li', { 'data-channel': m.channel }, h('strong', {}, m.channel.toUpperCase()), ` to ${m.toMasked} · ${when(m.at)} · `, m.body,
        // The link the customer's phone would open (payment page, receipt, pickup's open link): a second tab plays the phone.
        m.link && h('span', {}, ' · ', h('a', { href: m.link, target: '_blank', rel: 'noopener' }, 'open as the phone'))))));
}

stateFilter.addEventListener('change', () => void refresh());
dateFilter.addEventListener('change', () => void refresh());
live('staff', () => void refresh(), () => undefined);
