// The customer's phone: the simulated provider's page for one payment (/pay/<id>).
const id = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const $ = (sel) => document.getElementById(sel);
const STATES = {
  requested: 'Waiting for your approval',
  authorised: 'Approved',
  paid: 'Paid. Thank you! The locker opens now.',
  failed: 'Refused. You can try again at the locker.',
  cancelled: 'Cancelled by the workshop.',
  refunded: 'Refunded.',
  expired: 'This payment request has expired.',
  pending: 'Not started',
};

function money(amount, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

function show(page) {
  $('amount').textContent = money(page.amount, page.currency);
  $('order').textContent = page.workOrder ? `Order ${page.workOrder}` : '';
  $('state').textContent = STATES[page.state] ?? page.state;
  $('state').dataset.state = page.state;
  $('actions').hidden = page.state !== 'requested';
}

async function load() {
  const res = await fetch(`/api/pay/${encodeURIComponent(id)}`);
  if (!res.ok) {
    $('state').textContent = 'No such payment.';
    $('amount').textContent = '';
    return;
  }
  show(await res.json());
}

async function answer(what) {
  $('actions').hidden = true;
  const res = await fetch(`/api/pay/${encodeURIComponent(id)}/${what}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $('state').textContent = body?.error?.message ?? 'That did not work.';
  }
  await load();
}

$('approve').addEventListener('click', () => void answer('approve'));
$('refuse').addEventListener('click', () => void answer('refuse'));
void load();
