/** The staff page's form for a new reservation: fields by kind, errors named on their field. */
import { h, post, replace } from '/common.js';

const FIELD_INPUT = { phones: 'phone', paymentAmount: 'amount' };

/** Wire the new-reservation form; `today()` is the back office's date for a cleared form. */
export function setupForm(today) {
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
      form.elements.appointmentDate.value = today() ?? '';
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
