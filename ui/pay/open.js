// The customer's phone: open the compartment from the pickup message's link (/open/<token>).
const token = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const $ = (sel) => document.getElementById(sel);
const REFUSED = {
  NONCE_USED: 'This link has already opened your compartment. Ask the workshop if you need it again.',
  UNPAID: 'Please pay first.',
  NOT_READY: 'Your key is not in the locker.',
  THROTTLED: 'The locker is busy. Try again in a minute.',
  IN_JOURNEY: 'Someone is using the locker screen for this compartment. Try again in a moment.',
  BOARD_OFFLINE: 'The locker cannot open this compartment now. Please call the workshop.',
};
let polls = 0;

function show(view) {
  $('order').textContent = view.workOrder ? `Order ${view.workOrder}` : '';
  const n = view.compartment;
  const text = {
    pay: 'Please pay for your order first (the link in your message), then come back here.',
    ready: `Your key is in compartment ${n}.`,
    opening: `Opening compartment ${n}…`,
    opened: `Compartment ${n} is open. Take your key and close the door.`,
    refused: REFUSED[view.reason] ?? 'The locker did not open. Please call the workshop.',
    collected: 'Your key has been collected. Have a good drive!',
    unavailable: 'Your key is not in the locker yet.',
  }[view.state];
  $('state').textContent = text ?? view.state;
  $('state').dataset.state = view.state;
  $('state').dataset.reason = view.reason ?? '';
  $('open').textContent = view.state === 'opened' || view.state === 'refused' ? `Open compartment ${n} again` : `Open compartment ${n}`;
  // Pressing again is worth it only after a refusal that may pass later (busy, board down).
  const final = ['NONCE_USED', 'NOT_READY', 'UNPAID', 'WRONG_COMPARTMENT'].includes(view.reason);
  $('actions').hidden = !(['ready', 'opened'].includes(view.state) || (view.state === 'refused' && !final));
}

async function load() {
  const res = await fetch(`/api/open/${encodeURIComponent(token)}`);
  if (!res.ok) {
    $('state').textContent = 'This link is not valid (or has expired).';
    $('state').dataset.state = 'invalid';
    return;
  }
  const view = await res.json();
  show(view);
  // Waiting for the locker's answer: look again, a bounded number of times.
  if (view.state === 'opening' && polls < 60) {
    polls += 1;
    setTimeout(() => void load(), 500);
  }
}

$('open').addEventListener('click', async () => {
  $('actions').hidden = true;
  polls = 0;
  const res = await fetch(`/api/open/${encodeURIComponent(token)}/open`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $('state').textContent = body?.error?.message ?? 'That did not work.';
  }
  await load();
});
void load();
