/**
 * Pieces of what the screens are told, computed from the session and its reservation. Pure:
 * personal data leaves only masked (phones) or as the customer typed it for themselves.
 */
import { maskPhone } from './mask.js';
import type { Session } from './session.js';
import type { SessionView, TopView } from './session-view.js';
import type { Reservation } from './types.js';

/** After the PIN is accepted: what the customer may check; null before. */
export function reservationSummary(r: Reservation | null, s: Session | null): SessionView['reservation'] {
  if (!r || !s || s.reservationId !== r.id) return null;
  return {
    driverName: r.driverName,
    plate: r.plateDisplay,
    workOrder: r.workOrder,
    appointmentDate: r.appointmentDate,
    appointmentTime: r.appointmentTime,
    phones: r.phones.map(maskPhone),
    addedPhone: s.addedPhone ? maskPhone(s.addedPhone) : null,
    remark: s.remark,
  };
}

/** Pickup with a payment to make: amount and status. */
export function paymentSummary(r: Reservation | null, s: Session | null): SessionView['payment'] {
  if (!r || s?.journey !== 'pickup' || !r.paymentRequired) return null;
  return { amount: r.paymentAmount, currency: r.paymentCurrency, status: r.paymentStatus };
}

/** The top screen follows the bottom screen: the compartment's number while it is open. */
export function topViewOf(view: SessionView): TopView {
  const showNumber = ['opening', 'place-key', 'take-key', 'close-door'].includes(view.step);
  return {
    step: view.step,
    journey: view.journey,
    lang: view.lang,
    compartment: showNumber ? view.compartment : null,
    progress: view.progress,
    qr: null,
    helpCall: view.helpCall,
    link: view.link,
    outOfOrder: view.outOfOrder,
  };
}
