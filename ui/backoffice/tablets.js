/**
 * The staff page's tablets panel: make a one-time enrolment code for a new mechanic tablet
 * (typed once on the tablet), list the enrolled tablets, revoke one.
 */
import { h, post, replace, toast } from '/common.js';

const list = document.getElementById('tablets');
const shown = document.getElementById('enrol-code-shown');

async function refresh() {
  const res = await fetch('/api/tablets');
  const { tablets } = await res.json();
  if (tablets.length === 0) {
    replace(list, h('p', { class: 'empty' }, 'No tablet enrolled yet.'));
    return;
  }
  replace(list, h('ul', { class: 'tablet-list' }, tablets.map((tab) =>
    h('li', { class: tab.revokedAt ? 'revoked' : '' },
      h('strong', {}, tab.name), ' ', h('span', { class: 'muted' }, tab.tabletId), ' ',
      tab.revokedAt ? h('span', { class: 'muted' }, 'revoked') : h('button', { type: 'button', onclick: () => revoke(tab) }, 'Revoke')))));
}

async function revoke(tab) {
  try {
    await post(`/api/tablets/${encodeURIComponent(tab.tabletId)}/revoke`);
    toast(`${tab.name} revoked`);
  } catch (error) {
    toast(error.message, 'bad');
  }
  await refresh();
}

document.getElementById('enrol-code').addEventListener('click', async () => {
  try {
    const { code, expiresAt } = await post('/api/tablets/enrolment-code');
    replace(shown, 'Type on the tablet: ', h('strong', { class: 'code' }, `${code.slice(0, 4)} ${code.slice(4)}`), ` (until ${new Date(expiresAt).toLocaleTimeString()})`);
  } catch (error) {
    toast(error.message, 'bad');
  }
});

void refresh();
setInterval(() => void refresh(), 5000);
