/** Drop-off, "check your details": what the booking says, add a phone number or a remark, Confirm. */
import { h } from '/shared/dom.js';
import { t, locale } from '/shared/i18n.js';
import { formatDate } from '/shared/format.js';
import { state, render, MAX_REMARK } from './state.js';
import { submit } from './session.js';
import { button, errorBlock } from './widgets.js';
import { phoneEditor, textEditor } from './editors.js';

export function renderDetails(v) {
  const r = v.reservation;
  if (state.editor === 'phone') {
    return phoneEditor({
      view: v,
      title: t('details.phoneTitle'),
      hint: t('details.phoneHint'),
      value: state.draftPhone,
      onChange: (value) => { state.draftPhone = value; },
      actions: [
        button(t('common.cancel'), () => { state.editor = null; state.error = null; render(); }, 'secondary'),
        button(t('details.save'), () => void saveDetails(state.draftPhone.trim() || null, r?.remark ?? null), 'primary'),
      ],
    });
  }
  if (state.editor === 'remark') {
    return textEditor({
      title: t('details.remarkTitle'),
      hint: t('details.remarkHint', { max: MAX_REMARK }),
      value: state.draftRemark,
      max: MAX_REMARK,
      text: true,
      onChange: (value) => { state.draftRemark = value; },
      actions: [
        button(t('common.cancel'), () => { state.editor = null; state.error = null; render(); }, 'secondary'),
        button(t('details.save'), () => void saveDetails(state.sentPhone, state.draftRemark.trim() || null), 'primary'),
      ],
    });
  }
  const row = (label, value, extraClass = '') => [h('dt', {}, label), h('dd', { class: extraClass }, value)];
  const phones = [...(r?.phones ?? [])];
  if (r?.addedPhone) phones.push(t('details.newPhone', { phone: r.addedPhone }));
  const when = r ? (r.appointmentTime
    ? t('details.appointmentAt', { date: formatDate(r.appointmentDate, locale()), time: r.appointmentTime })
    : formatDate(r.appointmentDate, locale())) : '';
  return h('section', { class: 'step details' },
    h('h1', {}, t('details.title')),
    h('div', { class: 'details-body' },
      h('dl', { class: 'facts' },
        row(t('details.name'), r?.driverName ?? ''),
        row(t('details.plate'), r?.plate ?? '', 'plate'),
        row(t('details.appointment'), when),
        row(t('details.workOrder'), r?.workOrder ?? ''),
        row(t('details.phones'), phones.length > 0 ? phones.join(', ') : t('details.none')),
        row(t('details.remark'), r?.remark ?? t('details.none'), 'remark')),
      h('div', { class: 'side-actions' },
        button(r?.addedPhone ? t('details.changePhone') : t('details.addPhone'), () => {
          state.editor = 'phone'; state.draftPhone = state.sentPhone ?? ''; state.error = null; render();
        }, 'secondary'),
        button(r?.remark ? t('details.changeRemark') : t('details.addRemark'), () => {
          state.editor = 'remark'; state.draftRemark = r?.remark ?? ''; state.error = null; render();
        }, 'secondary'),
        errorBlock({ callHelp: v }),
        button(t('details.confirm'), () => void submit({ type: 'confirm' }), 'primary confirm'))));
}

/** Send phone and remark together (the server replaces both); close the editor if accepted. */
async function saveDetails(phone, remark) {
  const view = await submit({ type: 'details', phone, remark });
  if (view && !view.error) {
    state.sentPhone = phone;
    state.editor = null;
    render();
  }
}
