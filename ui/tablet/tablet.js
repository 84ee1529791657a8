/**
 * The mechanic's tablet: pick a work order whose key is in the locker and ask for it
 * (a `mechanic.request` command). Shows each request as waiting, sent and answered. The QR
 * scan that proves the mechanic stands at the locker comes with the mechanic journey.
 */
import { clock, h, live, post, replace, toast } from '/common.js';

let state = null;
const tabletInput = document.getElementById('tablet-id');
tabletInput.value = localStorage.getItem('tabletId') ?? 'tablet-1';
tabletInput.addEventListener('change', () => {
  localStorage.setItem('tabletId', tabletInput.value.trim());
  render();
});

function render() {
  if (!state) return;
  const tz = state.timeZone;
  const keys = document.getElementById('keys');
  if (state.keys.length === 0) {
    replace(keys, h('p', { class: 'empty' }, 'No customer key is in the locker right now.'));
  } else {
    const open = new Set(state.requests.filter((r) => r.ok === null).map((r) => r.reservationId));
    replace(
      keys,
      h(
        'ul',
        { class: 'key-list' },
        state.keys.map((key) =>
          h(
            'li',
            { class: 'key' },
            h('span', { class: 'wo' }, key.workOrder),
            h('span', { class: 'plate' }, key.plateDisplay),
            h('span', { class: 'muted' }, key.compartmentId ? `compartment ${key.compartmentId}` : ''),
            h('button', { type: 'button', class: 'primary', disabled: open.has(key.reservationId), onclick: () => ask(key) },
              open.has(key.reservationId) ? 'Requested' : 'Ask for this key'),
          ),
        ),
      ),
    );
  }

  const requests = document.getElementById('requests');
  const mine = state.requests;
  if (mine.length === 0) {
    replace(requests, h('p', { class: 'empty' }, 'No requests yet.'));
    return;
  }
  replace(
    requests,
    h(
      'ul',
      { class: 'request-list' },
      mine.map((r) => {
        const phase = r.ok === null ? (r.sentAt ? 'sent' : 'waiting') : r.ok ? 'answered' : 'refused';
        const text = {
          waiting: 'waiting for the locker to connect',
          sent: `sent ${clock(r.sentAt, tz, true)}, no answer yet`,
          answered: `answered ${clock(r.answeredAt, tz, true)}${r.result?.applied === false ? ` (not applied: ${r.result?.reason ?? 'no reason'})` : ''}`,
          refused: `refused: ${r.result?.error?.code ?? 'error'}${r.result?.error?.message ? ` (${r.result.error.message})` : ''}`,
        }[phase];
        return h(
          'li',
          { class: `request ${phase}` },
          h('strong', {}, `${r.workOrder ?? r.reservationId} · ${r.tabletId}`),
          h('span', { class: 'state' }, text),
          h('span', { class: 'muted' }, `asked ${clock(r.createdAt, tz, true)}`),
        );
      }),
    ),
  );
}

async function ask(key) {
  const tabletId = tabletInput.value.trim();
  try {
    await post('/api/mechanic/request', { reservationId: key.reservationId, tabletId });
    toast(`Asked the locker for ${key.workOrder}`);
  } catch (error) {
    toast(error.field === 'tabletId' ? `Tablet name: ${error.message}` : error.message, 'bad');
  }
}

live(
  'tablet',
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
