/**
 * The kit's customer stage (docs/protocol.md, "Payments", "Receipts", "Open from the phone
 * link"): on a pickup with a payment due that the back office sent the unit (staff make one for
 * the unit before the run), the kit plays the locker's side of a paid pickup:
 *   - P-PAY-1: it asks for the payment page (payment.requested, link), the customer pays at the
 *     provider while the provider's notice to the back office is lost, and "Check payment"
 *     (payment.check-requested) must bring a newer payment.status with the new state;
 *   - P-RCPT-1: a receipt asked as a QR (receipt.requested, qr) is answered by receipt.link;
 *   - P-OPEN-1: the customer presses the phone link before paying (nothing may be sent), after
 *     paying (one reservation.remote-open, which the unit accepts, then reports the door closed:
 *     key.collected confirmed false), and again after that (nothing may be sent); every remote
 *     open received is judged by kit-pickups.ts.
 * Paying at a provider and pressing a link are the customer's, on the back office's pages: the
 * kit does them through a `KitCustomer` the caller gives for that back office. Without one, the
 * checks that need it are reported "not checked" with the reason.
 */
import type { Frame, KitSocket } from './kit-socket.js';
import type { KitUnit } from './kit-unit.js';

export interface KitCustomer {
  /** The customer approves the payment behind `link` at the provider; the provider's notice to the back office is lost. */
  payUnnoticed(link: string): Promise<void>;
  /** The customer presses "Open compartment" on the order's phone-link page (a refusal there is not an error). */
  pressOpen(reservationId: string): Promise<void>;
}

export interface CustomerStage {
  socket: KitSocket;
  unit: KitUnit;
  /** Sends an event with the next seq of the session; returns its seq. */
  event: (type: string, payload: Record<string, unknown>) => number;
  acked: (seq: number) => Promise<boolean>;
  customer: KitCustomer | undefined;
  timeoutMs: number;
  judge: (id: string, ok: boolean, detail: string) => boolean;
  skip: (ids: readonly string[], why: string) => void;
}

export const CUSTOMER_RULES = ['P-PAY-1', 'P-RCPT-1', 'P-OPEN-1'] as const;

export async function customerStage(o: CustomerStage): Promise<void> {
  const { socket, unit, timeoutMs } = o;
  const pickups = unit.pickups;
  const pickup = pickups.toPay();
  const noCustomer = 'paying at the provider and pressing the phone link are the customer\'s, on this back office\'s pages: give the kit a customer (KitCustomer) for it';
  if (!pickup) {
    o.skip(CUSTOMER_RULES, 'the back office sent this unit no pickup with a payment due and its key in a compartment (make one for the unit before the run)');
    judgeOpens(o);
    return;
  }
  const id = pickup.id;
  const status = (match: (args: Record<string, unknown>) => boolean) => (f: Frame): boolean =>
    f.type === 'command' && f['name'] === 'payment.status' && (f['args'] as Record<string, unknown>)['reservationId'] === id && match(f['args'] as Record<string, unknown>);

  // Pressed before paying: a back office that keeps P-OPEN-1 sends nothing (judged on arrival).
  if (o.customer) await o.customer.pressOpen(id);

  // --- P-PAY-1 ---
  let mark = socket.frames.length;
  const before = pickup.payment?.version ?? 0;
  o.event('payment.requested', { reservationId: id, method: 'link', phone: null, phoneMasked: null });
  const page = await socket.waitFor(status((a) => a['status'] === 'requested' && typeof a['link'] === 'string' && Number(a['version']) > before), timeoutMs, mark);
  if (!page) {
    o.judge('P-PAY-1', false, `payment.requested (link): no payment.status requested with a link within ${timeoutMs} ms`);
  } else if (!o.customer) {
    o.skip(['P-PAY-1'], `${noCustomer} (the payment page came: payment.status requested with a link)`);
  } else {
    await o.customer.payUnnoticed(String((page['args'] as Record<string, unknown>)['link']));
    mark = socket.frames.length;
    const held = pickups.get(id)?.payment?.version ?? 0;
    o.event('payment.check-requested', { reservationId: id, version: held });
    const changed = await socket.waitFor(status((a) => Number(a['version']) > held && ['authorised', 'paid'].includes(String(a['status']))), timeoutMs, mark);
    o.judge('P-PAY-1', changed !== null, changed ? `paid unnoticed, then checked: payment.status ${String((changed['args'] as Record<string, unknown>)['status'])} version ${String((changed['args'] as Record<string, unknown>)['version'])}` : `paid unnoticed, then checked: no newer payment.status within ${timeoutMs} ms`);
    if (changed && pickups.get(id)?.payment?.status !== 'paid') await socket.waitFor(status((a) => a['status'] === 'paid'), timeoutMs, mark);
  }

  // --- P-RCPT-1 ---
  const paid = pickups.get(id)?.payment?.status === 'paid' ? pickups.get(id) : pickups.paid();
  if (!paid) {
    o.skip(['P-RCPT-1'], `a receipt is for a paid pickup, and none is paid (${o.customer ? 'the payment did not complete' : noCustomer})`);
  } else {
    mark = socket.frames.length;
    o.event('receipt.requested', { reservationId: paid.id, channel: 'qr', destinationMasked: null });
    const link = await socket.waitFor((f) => f.type === 'command' && f['name'] === 'receipt.link' && (f['args'] as Record<string, unknown>)['reservationId'] === paid.id, timeoutMs, mark);
    const url = link ? (link['args'] as Record<string, unknown>)['link'] : null;
    o.judge('P-RCPT-1', typeof url === 'string' && url.length > 0, link ? 'receipt.requested (qr): receipt.link with a link' : `receipt.requested (qr): no receipt.link within ${timeoutMs} ms`);
  }

  // --- P-OPEN-1 ---
  if (!o.customer) {
    o.skip(['P-OPEN-1'], noCustomer);
  } else if (pickups.get(id)?.payment?.status !== 'paid') {
    if (pickups.opens.length === 0) o.skip(['P-OPEN-1'], 'the pickup was not paid (P-PAY-1), so no open could be asked for');
  } else {
    const compartment = pickups.get(id)?.compartment;
    mark = socket.frames.length;
    const opensBefore = pickups.opens.filter((p) => p.reservationId === id).length;
    await o.customer.pressOpen(id);
    const open = await socket.waitFor((f) => f.type === 'command' && f['name'] === 'reservation.remote-open' && (f['args'] as Record<string, unknown>)['reservationId'] === id, timeoutMs, mark);
    o.judge('P-OPEN-1', open !== null || pickups.opens.filter((p) => p.reservationId === id).length > opensBefore, open ? `pressed when paid: reservation.remote-open for compartment ${String((open['args'] as Record<string, unknown>)['compartment'])}` : `pressed when paid: no reservation.remote-open within ${timeoutMs} ms`);
    if (open) {
      // The door opened and closed again: the pickup is recorded, as a locker does.
      o.event('reservation.remote-open-requested', { reservationId: id, compartment });
      o.event('reservation.remote-open-done', { reservationId: id, compartment, opened: true, result: 'confirmed', pulses: 1 });
      pickups.collect(id);
      const seq = o.event('key.collected', { reservationId: id, compartment, confirmed: false });
      if (await o.acked(seq)) {
        // Pressed after the key was taken: nothing may be sent. The next ack is the fence.
        await o.customer.pressOpen(id);
        await o.acked(o.event('compartment.closed', { compartment }));
      }
    }
  }
  judgeOpens(o);
}

function judgeOpens(o: CustomerStage): void {
  const violations = o.unit.pickups.openViolations;
  if (violations.length > 0) o.judge('P-OPEN-1', false, violations.slice(0, 3).join('; '));
  else if (o.unit.pickups.opens.length > 0) o.judge('P-OPEN-1', true, `${o.unit.pickups.opens.length} remote open(s), each for a paid pickup with its key in`);
}
