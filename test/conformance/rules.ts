/**
 * The rules of docs/protocol.md that a back office must keep, as the conformance kit checks
 * them. The ids are the document's; the order is the kit's.
 */
export interface Rule {
  id: string;
  /** The section of docs/protocol.md that states it. */
  section: string;
  title: string;
}

export const RULES: readonly Rule[] = [
  { id: 'P-AUTH-1', section: 'Connection', title: 'a valid token of the registered unit is upgraded with the subprotocol keylocker.v1' },
  { id: 'P-AUTH-2', section: 'Connection', title: 'no bearer token, or one that is not a JWT: HTTP 401, no upgrade' },
  { id: 'P-AUTH-3', section: 'Connection', title: "a token not signed by the unit's key: 401" },
  { id: 'P-AUTH-4', section: 'Connection', title: 'a token for another audience: 401' },
  { id: 'P-AUTH-5', section: 'Connection', title: 'a token valid for more than 300 s: 401' },
  { id: 'P-AUTH-6', section: 'Connection', title: "a token without a kid, or naming another key's kid: 401" },
  { id: 'P-AUTH-7', section: 'Connection', title: 'no upgrade without the subprotocol keylocker.v1' },
  { id: 'P-AUTH-8', section: 'Connection', title: 'a token connects once: the same token again is 401, and the real connection stays' },
  { id: 'P-AUTH-9', section: 'Connection', title: "a newer connection of the unit replaces the older, which is closed with 4000" },
  { id: 'P-CLOCK-1', section: 'Clock', title: "a unit's token off by days: 401 CLOCK_SKEW with error.serverTime and a Date header" },
  { id: 'P-CLOCK-2', section: 'Clock', title: 'a token re-signed with the time the refusal told is accepted' },
  { id: 'P-CLOCK-3', section: 'Clock', title: "welcome.serverTime is the back office's time (within 60 s)" },
  { id: 'P-SESS-1', section: 'Session', title: 'a hello is answered by a welcome within the timeout' },
  { id: 'P-SESS-2', section: 'Session', title: 'every frame the back office sends matches its schema' },
  { id: 'P-SESS-3', section: 'Versioning', title: 'fields the back office does not know are ignored (hello, event, at, payload)' },
  { id: 'P-SESS-4', section: 'Session', title: 'after a reconnect, welcome.ackedSeq is the highest seq acknowledged before' },
  { id: 'P-SESS-5', section: 'Session', title: 'events below hello.outbox.firstHeld are recorded as lost: welcome.ackedSeq is firstHeld - 1' },
  { id: 'P-EVT-1', section: 'Events', title: 'an event is acknowledged with the highest contiguous seq' },
  { id: 'P-EVT-2', section: 'Events', title: 'a repeated seq is dropped and acknowledged again, without an error' },
  { id: 'P-EVT-3', section: 'Events', title: 'an ack never passes a missing seq; it moves once the gap is filled' },
  { id: 'P-EVT-4', section: 'Events', title: 'an ack or nack never names a seq the locker has not sent on that connection' },
  { id: 'P-EVT-5', section: 'Events', title: 'an event of an unknown type is held and acknowledged' },
  { id: 'P-EVT-6', section: 'Events', title: 'an event whose payload fails its schema is refused by nack (code, reason) and the acks move past it' },
  { id: 'P-HELP-1', section: 'Help calls', title: 'a help call is answered by help.update received, also when sent urgent ahead of a gap' },
  { id: 'P-HELP-2', section: 'Events', title: 'an urgent copy does not move the ack past a gap, and its repeat in the stream is dropped (one received per call)' },
  { id: 'P-CMD-1', section: 'Commands', title: 'a command id is never reused for other content' },
  { id: 'P-CMD-2', section: 'Commands', title: 'a command not answered is sent again after a reconnect, with the same id and content' },
  { id: 'P-INV-1', section: 'Inventory', title: 'an inventory digest the back office does not know is paged with inventory.page from after: null until next is null' },
  { id: 'P-INV-2', section: 'Inventory', title: 'an inventory already paged is not paged again while the digest is unchanged' },
  { id: 'P-STAFF-1', section: 'Remote open', title: 'the remote-open events and alarm.remote-open-throttled (valid payloads) are acknowledged, never refused' },
  { id: 'P-PAY-1', section: 'Payments', title: 'payment.check-requested: the back office asks its provider and sends a newer payment.status when the state changed (a payment whose notice was lost)' },
  { id: 'P-RCPT-1', section: 'Receipts', title: 'receipt.requested with channel qr is answered by receipt.link for that reservation' },
  { id: 'P-OPEN-1', section: 'Open from the phone link', title: 'reservation.remote-open only for a pickup with its key in that compartment, paid when payment is required, its nonce for that reservation alone' },
];
