/**
 * Paying at the locker and the receipt (docs/protocol.md, "Payments", "Receipts"): the amount,
 * the two ways to pay (the QR on the top screen; Vipps to the order's number, masked, or one the
 * customer types), the payment as it happens, "Check payment"; after a paid pickup, SMS,
 * e-mail or a QR receipt. The door opens by itself when the back office says paid.
 */
import { h } from '/shared/dom.js';
import { t, k, locale } from '/shared/i18n.js';
import { formatMoney } from '/shared/format.js';
import { render } from './state.js';
import { submit } from './session.js';
import { phoneEditor, textEditor } from './editors.js';
import { button, errorBlock } from './widgets.js';

/** The provider's state as the customer reads it. */
const STATE_KEYS = {
  pending: k('payment.statusPending'),
  requested: k('payment.statusRequested'),
  authorised: k('payment.statusAuthorised'),
  paid: k('payment.statusPaid'),
  failed: k('payment.statusFailed'),
  cancelled: k('payment.statusCancelled'),
  refunded: k('payment.statusRefunded'),
  expired: k('payment.statusExpired'),
};

/** Typing another number for Vipps: kept here, per session, never beyond it. */
const vipps = { session: null, typing: false, phone: '' };

/** Typing another receipt address (channel sms or email): per session, never beyond it. */
const typedReceipt = { session: null, channel: null, value: '' };

function forSession(v) {
  if (vipps.session !== v.sessionId) Object.assign(vipps, { session: v.sessionId, typing: false, phone: '' });
  if (typedReceipt.session !== v.sessionId) Object.assign(typedReceipt, { session: v.sessionId, channel: null, value: '' });
}

export function renderPayment(v) {
  forSession(v);
  const p = v.payment;
  if (vipps.typing) return renderVippsNumber(v);
  const amount = p ? formatMoney(p.amount, p.currency, locale()) : '';
  const payState = p?.state ?? p?.status;
  const stateKey = payState ? STATE_KEYS[payState] : undefined;
  const pushed = p?.requested?.method === 'vipps-push' && payState !== 'failed';
  const paid = p?.status === 'paid';
  return h('section', { class: 'step payment' },
    h('h1', {}, t('payment.title')),
    amount && h('div', { class: 'amount-box' }, h('span', { class: 'amount-label' }, t('payment.amount')), h('span', { class: 'amount', 'data-testid': 'amount' }, amount)),
    h('p', { class: 'lead' }, t('payment.text')),
    !paid && h('p', { class: 'hint' }, p?.link ? t('payment.scanTop') : t('payment.how')),
    pushed && h('p', { class: 'pay-pushed', role: 'status' }, t('payment.vippsSent', { phone: p.requested.phoneMasked ?? '' })),
    stateKey && h('p', { class: `pay-status ${payState}`, role: 'status', 'data-state': payState }, t(stateKey)),
    errorBlock({ callHelp: v }),
    h('div', { class: 'actions pay-actions' },
      paid
        ? button(t('payment.open'), () => void submit({ type: 'confirm' }), 'primary confirm')
        : [
            button(p?.orderPhone ? t('payment.vipps', { phone: p.orderPhone }) : t('payment.vippsAny'),
              () => { if (p?.orderPhone) void submit({ type: 'payVipps', phone: null }); else { vipps.typing = true; render(); } },
              'primary vipps', { 'data-pay': 'vipps' }),
            p?.orderPhone && button(t('payment.otherNumber'), () => { vipps.typing = true; render(); }, 'secondary', { 'data-pay': 'other-number' }),
            button(t('payment.checkNow'), () => void submit({ type: 'checkPayment' }), 'secondary', { 'data-pay': 'check' }),
          ]),
    // The customer club (a consent only): tap to join, tap again to take it back.
    button(p?.clubConsent ? t('payment.clubJoined') : t('payment.club'), () => void submit({ type: 'clubConsent', consent: !p?.clubConsent }),
      `secondary club${p?.clubConsent ? ' joined' : ''}`, { 'data-pay': 'club', 'aria-pressed': String(p?.clubConsent === true) }));
}

function renderVippsNumber(v) {
  return phoneEditor({
    view: v,
    title: t('payment.vippsTitle'),
    hint: t('payment.vippsHint'),
    value: vipps.phone,
    onChange: (value) => { vipps.phone = value; },
    actions: [
      button(t('payment.send'), async () => {
        const phone = vipps.phone.trim();
        // The number is sent once; it is not kept on the page when the locker took it.
        const view = await submit({ type: 'payVipps', phone });
        if (view) {
          Object.assign(vipps, { typing: false, phone: '' });
          render();
        }
      }, 'primary wide', { disabled: vipps.phone.trim().length < 4, 'data-pay': 'send' }),
    ],
    links: [button(t('common.back'), () => { Object.assign(vipps, { typing: false, phone: '' }); render(); }, 'link')],
  });
}

function renderTypedReceipt(v) {
  const channel = typedReceipt.channel;
  const cancel = button(t('common.back'), () => { Object.assign(typedReceipt, { channel: null, value: '' }); render(); }, 'link');
  const send = (to) => button(t('receipt.send'), async () => {
    // Sent once; not kept on the page when the locker took it (it is shown masked from then on).
    const view = await submit({ type: 'receipt', channel, to });
    if (view) {
      Object.assign(typedReceipt, { channel: null, value: '' });
      render();
    }
  }, 'primary wide', { disabled: typedReceipt.value.trim().length < 4, 'data-receipt': 'send' });
  if (channel === 'sms') {
    return phoneEditor({ view: v, title: t('receipt.typeNumber'), hint: t('receipt.typeNumberHint'), value: typedReceipt.value,
      onChange: (value) => { typedReceipt.value = value; }, actions: [send(typedReceipt.value.trim())], links: [cancel] });
  }
  return textEditor({ title: t('receipt.typeEmail'), hint: 'name@example.com', value: typedReceipt.value, max: 254, text: true,
    onChange: (value) => { typedReceipt.value = value.toLowerCase(); }, actions: [send(typedReceipt.value.trim())], links: [cancel] });
}

export function renderReceipt(v) {
  forSession(v);
  if (typedReceipt.channel) return renderTypedReceipt(v);
  const r = v.receipt ?? { sms: null, email: null, preferred: null, asked: null };
  if (r.asked === 'qr') {
    return h('section', { class: 'step center receipt' },
      h('h1', {}, t('receipt.title')),
      h('p', { class: 'lead', role: 'status' }, t('receipt.qrShown')),
      h('div', { class: 'actions' }, button(t('done.finish'), () => void submit({ type: 'receipt', channel: 'none' }), 'primary')));
  }
  const choices = [
    r.sms && { channel: 'sms', label: t('receipt.sms', { phone: r.sms }), hint: t('receipt.hintSms') },
    r.email && { channel: 'email', label: t('receipt.email', { email: r.email }), hint: t('receipt.hintEmail') },
    { channel: 'qr', label: t('receipt.qr'), hint: t('receipt.hintQr') },
  ].filter(Boolean);
  // The customer's last choice first.
  choices.sort((a, b) => Number(b.channel === r.preferred) - Number(a.channel === r.preferred));
  return h('section', { class: 'step receipt' },
    h('h1', {}, t('receipt.title')),
    h('p', { class: 'lead' }, t('receipt.text')),
    errorBlock({ callHelp: v }),
    h('div', { class: 'choices receipt-choices' },
      // The hint (what happens next) is shown where there is room: stood on end (payment.css).
      choices.map((c) => button([h('span', { class: 'choice-label' }, c.label, c.channel === r.preferred ? h('span', { class: 'badge' }, ` · ${t('receipt.last')}`) : null), h('span', { class: 'choice-hint' }, c.hint)],
        () => void submit({ type: 'receipt', channel: c.channel }), c.channel === r.preferred ? 'primary' : 'secondary', { 'data-receipt': c.channel }))),
    // Another address than the order's own (offered after it).
    h('div', { class: 'actions receipt-other' },
      button(t('receipt.otherNumber'), () => { Object.assign(typedReceipt, { channel: 'sms', value: '' }); render(); }, 'secondary', { 'data-receipt': 'other-sms' }),
      button(t('receipt.otherEmail'), () => { Object.assign(typedReceipt, { channel: 'email', value: '' }); render(); }, 'secondary', { 'data-receipt': 'other-email' })),
    h('div', { class: 'actions' }, button(t('receipt.none'), () => void submit({ type: 'receipt', channel: 'none' }), 'link', { 'data-receipt': 'none' })));
}
