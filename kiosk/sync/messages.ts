/**
 * The back-office protocol, version 1: every message that crosses the WebSocket between a
 * locker (the client) and a back office (the server). docs/protocol.md explains it;
 * docs/asyncapi.yaml and docs/schemas/*.json are the published contract that any dealer
 * system can implement, and the schemas are checked against these types by the tests.
 *
 * Every message is one JSON text frame, at most MAX_FRAME_BYTES, with `v` and `type`.
 */

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = 'keylocker.v1';
export const MAX_FRAME_BYTES = 64 * 1024;

/** Wall time as the locker saw it, plus what makes it trustworthy or not. */
export interface EventTime {
  /** ISO 8601 wall time; may be wrong when `clockSynchronised` is false. */
  wall: string;
  /** Milliseconds since the locker's process started: orders events within one boot. */
  mono: number;
  /** Changes at every start of the locker's service. */
  bootId: string;
  clockSynchronised: boolean;
}

export type CompartmentStateWire = 'free' | 'reserved' | 'occupied' | 'quarantined' | 'disabled';
export type DoorStateWire = 'open' | 'closed' | 'unknown';

// --- locker -> back office ---------------------------------------------------------------

export interface HelloMessage {
  v: 1;
  type: 'hello';
  unitId: string;
  softwareVersion: string;
  bootId: string;
  clock: { wall: string; synchronised: boolean };
  /** IANA time zone of the locker: appointmentDate is a calendar date there. */
  timeZone: string;
  /** How this locker runs the link, so the back office need not guess. */
  link: {
    /** The locker pings this often; a connection without a pong by the next ping is closed. */
    pingIntervalMs: number;
    /** Events sent and not yet acknowledged, at most. */
    maxInFlight: number;
  };
  compartments: { id: number; state: CompartmentStateWire; door: DoorStateWire; reservationId: string | null }[];
  /** What the locker holds, in a fixed size: page through it with `inventory.page` when the digest is not the one expected. */
  inventory: InventorySummary;
  /**
   * The outbox: the lowest seq not yet acknowledged (null: none), the lowest seq still held,
   * acknowledged or not (null: none; anything below it is gone for good), and the next seq.
   */
  outbox: { firstUnacked: number | null; firstHeld: number | null; nextSeq: number };
  /**
   * How to hash every PIN for this unit (docs/protocol.md, "PINs"): `scrypt(pin, salt, 32,
   * {N, r, p})`, sent as `scrypt$N$r$p$<salt>$<hash>`. Absent from lockers before this field.
   */
  pinHashing?: PinHashingWire;
}

export interface PinHashingWire {
  /** 16 bytes, base64. */
  salt: string;
  N: number;
  r: number;
  p: number;
}

export interface InventorySummary {
  /** Reservations the locker holds, any status. */
  count: number;
  /** `sha256:` + hex of the inventory lines (docs/protocol.md, "Inventory"). */
  digest: string;
}

/** One reservation in an `inventory.page` result. */
export interface InventoryItem {
  id: string;
  version: number;
  paymentVersion: number;
  status: ReservationStatusWire;
}

export type ReservationStatusWire = 'booked' | 'deposited' | 'retrieved' | 'ready' | 'collected' | 'cancelled';

export type EventType =
  | 'key.deposited'
  | 'key.collected'
  | 'compartment.opened'
  | 'compartment.closed'
  | 'compartment.forced'
  | 'compartment.left-open'
  | 'compartment.jammed'
  | 'compartment.open-failed'
  | 'compartment.open-refused'
  | 'compartment.quarantined'
  | 'locker.full'
  | 'lockout.locker'
  | 'lockout.reservation'
  | 'lockout.ended'
  | 'pin.ambiguous'
  | 'help.requested'
  | 'pin.delivery-requested'
  | 'key.retrieved'
  // the mechanic journey (docs/protocol.md, "Mechanics")
  | 'key.returned'
  | 'mechanic.queued'
  | 'mechanic.qr-shown'
  | 'mechanic.expired'
  | 'mechanic.opened'
  | 'mechanic.refused'
  | 'board.offline'
  | 'board.online'
  // issue 7: a session ended after its door opened; an item sensor disagreed; staff cleared a quarantine
  | 'journey.abandoned'
  | 'compartment.item-mismatch'
  | 'compartment.quarantine-cleared'
  // issue 10: staff open a compartment from the back office
  | 'compartment.remote-open-requested'
  | 'compartment.remote-open-done'
  | 'compartment.remote-open-refused'
  | 'alarm.remote-open-throttled'
  // issue 12: the customer opens from the phone link
  | 'reservation.remote-open-requested'
  | 'reservation.remote-open-done'
  | 'reservation.remote-open-refused'
  // issue 12: paying at the locker and e-receipts (docs/protocol.md, "Payments", "Receipts")
  | 'payment.requested'
  | 'payment.check-requested'
  | 'payment.refused'
  | 'receipt.requested'
  | 'customer.club-consent';

export interface EventMessage {
  v: 1;
  type: 'event';
  /** Durable, gap-free per unit, from the outbox. The back office drops (unitId, seq) repeats. */
  seq: number;
  event: EventType | string;
  at: EventTime;
  payload: Record<string, unknown>;
  /**
   * A copy sent ahead of the stream (help calls): the same seq comes again in its place. The
   * back office acts on it at once, holds it beyond its contiguous prefix, and drops the repeat.
   */
  urgent?: true;
}

export interface ResultMessage {
  v: 1;
  type: 'result';
  /** The id of the command this answers. */
  commandId: string;
  ok: boolean;
  /** ok: what happened, e.g. { applied: false, reason: 'stale' }. */
  result?: Record<string, unknown>;
  error?: { code: ErrorCode; message: string };
}

// --- back office -> locker ---------------------------------------------------------------

export interface WelcomeMessage {
  v: 1;
  type: 'welcome';
  /** The back office's time, so the locker can tell whether its own clock is sane. */
  serverTime: string;
  /** Highest contiguous sequence number the back office holds for this unit (0 = none). */
  ackedSeq: number;
}

export interface AckMessage {
  v: 1;
  type: 'ack';
  /** Highest contiguous sequence number received; everything up to it may be dropped. */
  seq: number;
}

/**
 * The back office refuses one event for good (it cannot take it, e.g. its payload fails the
 * schema): the locker records the refusal, and the back office counts the seq as held, so its
 * acks move past it and the stream goes on.
 */
export interface NackMessage {
  v: 1;
  type: 'nack';
  seq: number;
  code: ErrorCode;
  /** For people: why; never personal data. */
  reason: string;
}

export interface ReservationWire {
  id: string;
  /** What staff type to reset it. */
  code: string;
  kind: 'dropoff' | 'pickup';
  workOrder: string;
  plate: string;
  driverName: string;
  /** E.164. */
  phones: string[];
  email: string | null;
  appointmentDate: string; // YYYY-MM-DD
  appointmentTime: string | null; // HH:MM
  /** scrypt$N$r$p$salt$hash (base64): the locker never receives the PIN itself. */
  pinHash: string;
  /** Pickup: the compartment the mechanic will (or did) put the key in. */
  compartmentId: number | null;
  paymentRequired: boolean;
  /**
   * What the customer must pay before the door opens (with paymentRequired), as the invoice
   * says now. Absent or null: the reservation does not state it, and payment.status carries it.
   */
  amountDue?: Money | null;
}

export interface Money {
  /** Minor units (øre, öre, cents). */
  amount: number;
  /** ISO 4217. */
  currency: string;
}

/**
 * A payment's state as the provider reports it (docs/protocol.md, "Payments"): `pending`
 * (nothing asked yet), `requested` (created at the provider, waiting for the customer),
 * `authorised` (approved, not yet captured), `paid` (captured: the only state that opens),
 * `failed` (refused by the customer or the provider), `cancelled`, `refunded`, `expired`.
 */
export type PaymentStateWire = 'pending' | 'requested' | 'authorised' | 'paid' | 'failed' | 'cancelled' | 'refunded' | 'expired';

export interface PaymentWire {
  reservationId: string;
  status: PaymentStateWire;
  /** Minor units (øre, öre, cents); bound to the reservation's amount due (docs/protocol.md, "Payments"). */
  amount: number;
  currency: string; // ISO 4217
  version: number;
  /** The payment page the customer opens (the top screen's QR); absent or null: none for this version. */
  link?: string | null;
  /** The method's name as accounting books it (e.g. vipps, card, klarna, vipps-manual); shown to nobody at the locker. */
  method?: string | null;
  /** The channel this customer chose for the last receipt (the back office remembers it): offered first. */
  receiptChannel?: 'sms' | 'email' | 'qr' | null;
}

export type CommandName =
  | 'reservation.upsert'
  | 'reservation.cancel'
  | 'reservation.reset'
  | 'payment.status'
  | 'help.update'
  | 'mechanic.request'
  | 'mechanic.open'
  | 'inventory.page'
  | 'lockout.lift'
  | 'compartment.clear-quarantine'
  | 'compartment.remote-open'
  | 'reservation.remote-open'
  | 'receipt.link';

export interface CommandArgs {
  'reservation.upsert': { reservation: ReservationWire; version: number };
  'reservation.cancel': { reservationId: string; version: number };
  /** Staff reset: clears the PIN lockout; needs the reservation's code. */
  'reservation.reset': { reservationId: string; code: string };
  'payment.status': PaymentWire;
  /** received: the back office has the call (sent at once, automatically); taken: a person answers; closed: done. */
  'help.update': { callId: string; state: HelpCallStateWire; by: string | null };
  /** A mechanic's tablet asks for a key (retrieve) or a compartment (deposit): the locker shows a one-time QR for it. */
  'mechanic.request': { requestId: string; reservationId: string; purpose: 'retrieve' | 'deposit'; tabletId: string };
  /** The token the tablet scanned, forwarded with the tablet the back office authenticated. */
  'mechanic.open': { requestId: string; token: string; tabletId: string };
  /** Read-only: one page of the locker's reservations, ordered by the UTF-8 bytes of their ids. */
  'inventory.page': { after: string | null; limit: number };
  /** Staff end a PIN lockout: the whole locker's back-off, or one reservation's lock (reservationId; null for the locker). */
  'lockout.lift': { scope: 'locker' | 'reservation'; reservationId: string | null };
  /** Staff looked into a quarantined compartment: back into service (kiosk/core/quarantine.ts clearQuarantine). */
  'compartment.clear-quarantine': { compartment: number; reason: string; by: string };
  /** Staff open a compartment from the back office, with a reason (kiosk/core/remote-open.ts): audited, throttled. */
  'compartment.remote-open': { compartment: number; reason: string; by: string };
  /** The customer opens their compartment from the phone link (kiosk/core/link-open.ts): nonce once, paid, key in, throttled. */
  'reservation.remote-open': { reservationId: string; compartment: number; nonce: string };
  /** The receipt the customer asked for as a QR (receipt.requested, channel qr): the top screen shows its link for 60 s. */
  'receipt.link': { reservationId: string; link: string };
}

export type HelpCallStateWire = 'received' | 'taken' | 'closed';

/** The largest page `inventory.page` gives (a page of 128-character ids stays well under 64 KiB). */
export const INVENTORY_PAGE_MAX = 200;

export type CommandMessage = {
  [N in CommandName]: {
    v: 1;
    type: 'command';
    /** Unique per command; the locker applies each id once and answers a repeat with the first result. */
    id: string;
    name: N;
    args: CommandArgs[N];
  };
}[CommandName];

// --- both ways --------------------------------------------------------------------------

export type ErrorCode =
  | 'MALFORMED' // not JSON, or not an object
  | 'UNKNOWN_TYPE'
  | 'SCHEMA' // a known type with the wrong shape
  | 'TOO_LARGE'
  | 'UNSUPPORTED_VERSION'
  | 'DUPLICATE_ID' // a command id reused with other content
  | 'NOT_FOUND'
  | 'CODE_MISMATCH' // reservation.reset with the wrong code
  | 'AMOUNT_MISMATCH' // payment.status for another amount than the reservation's
  | 'CONFLICT' // the command cannot apply in the current state
  | 'UNAUTHORISED'
  | 'INTERNAL';

export interface ErrorMessage {
  v: 1;
  type: 'error';
  code: ErrorCode;
  message: string;
  /** What the error is about: a command id, an event seq, or null. */
  ref: string | null;
}

export type LockerMessage = HelloMessage | EventMessage | ResultMessage | ErrorMessage;
export type BackOfficeMessage = WelcomeMessage | AckMessage | NackMessage | CommandMessage | ErrorMessage;
