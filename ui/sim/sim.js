/**
 * Simulator page (developers, English only): the 16 simulated compartments and buttons that
 * play the people and faults around them. State comes over ws (/ws?screen=sim); buttons POST
 * /api/sim and the answer (or the next push) redraws.
 */
import { h, replace } from '/shared/dom.js';
import { connectSocket, getJson } from '/shared/socket.js';

const grid = document.getElementById('grid');
const boardState = document.getElementById('board-state');
const boardToggle = document.getElementById('board-toggle');
const linkEl = document.getElementById('link');
const message = document.getElementById('message');

let snapshot = { compartments: [], boardOffline: false };

async function post(action, compartment) {
  message.textContent = '';
  try {
    const res = await fetch('/api/sim', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(compartment === undefined ? { action } : { action, compartment }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      message.textContent = `${action}${compartment ? ` #${compartment}` : ''}: ${body?.error?.code ?? res.status} ${body?.error?.message ?? ''}`;
      return;
    }
    if (body?.compartments) accept(body);
  } catch (error) {
    message.textContent = `${action}: the server did not answer (${error.message})`;
  }
}

function accept(data) {
  if (!data || !Array.isArray(data.compartments)) return;
  snapshot = { compartments: data.compartments, boardOffline: !!data.boardOffline };
  render();
}

function tile(c) {
  const btn = (label, action, disabled = false) =>
    h('button', { type: 'button', disabled, onclick: () => void post(action, c.id) }, label);
  return h('article', { class: `tile state-${c.state}${c.energised ? ' energised' : ''}`, 'aria-label': `Compartment ${c.id}` },
    h('header', {}, h('span', { class: 'num' }, String(c.id)), h('span', { class: 'badge' }, c.state)),
    h('ul', { class: 'facts' },
      h('li', { class: c.energised ? 'lock pulsing' : 'lock' }, c.energised ? 'Lock: pulsing' : 'Lock: locked'),
      h('li', { class: c.doorOpen ? 'warn' : '' }, `Door: ${c.doorOpen ? 'open' : 'closed'}`),
      h('li', { class: c.switchStuck ? 'bad' : '' }, `Switch reads: ${c.switchReads ? 'open' : 'closed'}${c.switchStuck ? ' (stuck)' : ''}`),
      c.jammed && h('li', { class: 'bad' }, 'Lock jammed'),
      h('li', {}, `Item: ${c.itemPresent ? 'key inside' : 'empty'}`)),
    c.label && h('p', { class: 'label' }, c.label),
    h('div', { class: 'buttons' },
      btn('Close door', 'closeDoor', !c.doorOpen),
      btn('Force door', 'forceDoor', c.doorOpen),
      c.jammed ? btn('Unjam', 'unjam') : btn('Jam', 'jam'),
      c.switchStuck ? btn('Unstick switch', 'unstickSwitch') : btn('Stick switch', 'stickSwitch'),
      c.itemPresent ? btn('Remove item', 'clearItem') : btn('Put item', 'setItem')));
}

function render() {
  const offline = snapshot.boardOffline;
  boardState.textContent = offline ? 'Board: offline' : 'Board: online';
  boardState.className = `pill ${offline ? 'bad' : 'ok'}`;
  boardToggle.textContent = offline ? 'Bring board online' : 'Take board offline';
  replace(grid, snapshot.compartments.map(tile));
}

boardToggle.addEventListener('click', () => void post(snapshot.boardOffline ? 'setOnline' : 'setOffline'));

function setLink(up) {
  linkEl.textContent = up ? 'Link: live' : 'Link: reconnecting';
  linkEl.className = `pill link ${up ? 'ok' : 'bad'}`;
}
setLink(false);

window.__keylocker = { render: (data) => accept(data) };
connectSocket('sim', { onMessage: (msg) => { if (msg.type === 'sim') accept(msg); }, onStatus: setLink });
void getJson('/api/sim').then((body) => { if (body) accept(body); });
