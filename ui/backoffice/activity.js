/** The staff page's activity panels: help calls, the commands sent to the locker, its events. */
import { clock, h, money, replace } from '/common.js';
import { visibleHelpCalls } from '/help-calls.js';
import { help } from '/staff-actions.js';
import { COMMAND_TEXT, TIMELINE_TEXT } from '/staff-text.js';

export function renderHelp(state, tz) {
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

export function renderCommands(state, tz) {
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

export function renderEvents(state, tz) {
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
