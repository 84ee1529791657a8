/**
 * The pickup message (docs/protocol.md, "Open from the phone link"): when an order becomes ready
 * for pickup (a mechanic returned its key, its key was put in at the locker, or staff made it
 * with its key in a compartment or gave it one later) the back office tells the customer by SMS
 * (the order's first phone), else by e-mail, through the Messenger. The message carries the order's phone link
 * (`/open/<token>`, made then, in the same transaction): the customer pays there if needed and
 * opens the compartment, so staff need no extra call. The message is what the customer receives,
 * so the outbox shows it whole; nothing here logs it (the token opens a door).
 */
import type { Tx } from '../../kiosk/store/db.js';
import type { Messenger } from './messenger.js';
import type { OpenLinks } from './open-links.js';
import { formatMoney } from './payments.js';
import { timeline, type MasterReservation } from './store.js';

export interface PickupMessageDeps {
  links: OpenLinks;
  messenger: Messenger;
}

/** Sends the pickup message for `r`, ready in `compartment`; returns the channel, or null when the order has no phone or e-mail. */
export async function sendPickupMessage(tx: Tx, r: MasterReservation, compartment: number, deps: PickupMessageDeps, at: Date): Promise<'sms' | 'email' | null> {
  const phone = r.phones[0] ?? null;
  const channel = phone !== null ? 'sms' : r.email !== null ? 'email' : null;
  if (channel === null) {
    await timeline.add(tx, r.id, 'pickup.notified', { compartment, channels: [], link: false }, at);
    return null;
  }
  const { url } = await deps.links.issueIn(tx, r);
  const due = r.paymentRequired && r.paymentStatus !== 'paid' && r.paymentAmount !== null ? formatMoney(r.paymentAmount, r.paymentCurrency ?? 'NOK') : null;
  const body =
    `${r.workOrder}: your car ${r.plateDisplay} is ready in compartment ${compartment} of the key locker. ` +
    (due ? `Pay ${due} and open it from your phone: ${url}` : `Open it from your phone: ${url}`) +
    ' (or type your PIN at the locker).';
  await deps.messenger.send({ channel, to: channel === 'sms' ? (phone as string) : (r.email as string), subject: `Ready for pickup: ${r.workOrder}`, body, link: url, reservationId: r.id });
  // The timeline says a link went, never the link.
  await timeline.add(tx, r.id, 'pickup.notified', { compartment, channels: [channel === 'sms' ? 'SMS' : 'e-mail'], link: true }, at);
  return channel;
}
