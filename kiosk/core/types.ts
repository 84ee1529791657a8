/**
 * The domain's vocabulary, shared by the core, the store and (later) the sync layer.
 * No wire format and no hardware here.
 */

export type ReservationKind = 'dropoff' | 'pickup';

/**
 * Life of a reservation:
 * - dropoff: booked -> deposited (key in the locker) -> retrieved (a mechanic took it)
 * - pickup:  booked (compartment reserved) -> ready (mechanic put the key in) -> collected
 * - any -> cancelled (back office) ; `locked` is not a status: see pinLockedAt.
 */
export type ReservationStatus = 'booked' | 'deposited' | 'retrieved' | 'ready' | 'collected' | 'cancelled';

export type PaymentStatus = 'none' | 'pending' | 'paid' | 'cancelled' | 'refunded';

export interface Reservation {
  id: string; // stable id (uuid or the back office's id)
  code: string; // reservation code staff use to reset it
  kind: ReservationKind;
  workOrder: string;
  plate: string; // normalised (see normalise.ts): uppercase letters and digits only
  plateDisplay: string; // as the back office wrote it
  driverName: string;
  phones: string[]; // E.164
  email: string | null;
  appointmentDate: string; // YYYY-MM-DD in the locker's time zone
  appointmentTime: string | null; // HH:MM
  pinHash: string; // scrypt hash, see pin.ts; never the PIN
  /** The hash part when pinHash is a unit hash (pin.ts indexOfHash): typed PINs are looked up by it. Null: a legacy hash. */
  pinIndex: string | null;
  status: ReservationStatus;
  compartmentId: number | null;
  remark: string | null;
  paymentRequired: boolean;
  paymentStatus: PaymentStatus;
  paymentAmount: number | null; // minor units (øre, öre, cents)
  paymentCurrency: string | null;
  paymentVersion: number;
  version: number; // back office's version of this reservation
  failedPinAttempts: number;
  pinLockedAt: string | null; // ISO time; set after too many wrong PINs
  createdAt: string;
  updatedAt: string;
}

/**
 * Compartment states:
 * - free: empty, may be allocated
 * - reserved: held for a reservation (drop-off in progress, or a pickup awaiting its key)
 * - occupied: holds a key for `reservationId`
 * - quarantined: content uncertain (abandoned after opening, jammed, forced, restart mid-journey):
 *   never allocated until a technician or staff clears it
 * - disabled: taken out of service by a technician
 */
export type CompartmentState = 'free' | 'reserved' | 'occupied' | 'quarantined' | 'disabled';

export interface Compartment {
  id: number;
  state: CompartmentState;
  reservationId: string | null;
  quarantineReason: string | null;
  updatedAt: string;
}

/** What the back office is told, through the outbox, in order. */
export interface OutboxEvent {
  seq: number;
  type: string; // e.g. 'key.deposited', 'compartment.quarantined', 'help.requested'
  payload: Record<string, unknown>;
  wallTime: string; // ISO
  monoTime: number; // ms since process start when recorded; with bootId, orders events across a wrong clock
  bootId: string;
  ackedAt: string | null;
}

export type AuditPhase = 'intent' | 'outcome';

/**
 * One line of the audit trail. An actuation writes an `intent` (committed before the lock is
 * pulsed) and later an `outcome` that points back at it through `intentId`; an intent left
 * without an outcome after a restart means the process died mid-actuation.
 */
export interface AuditEntry {
  id: number;
  at: string; // ISO
  compartmentId: number | null;
  action: string; // e.g. 'open', 'quarantine', 'service-open'
  phase: AuditPhase;
  intentId: number | null; // outcome only: the intent it closes
  actor: string; // e.g. 'customer', 'mechanic:<tablet>', 'backoffice', 'technician'
  reservationId: string | null;
  result: string | null; // outcome only, e.g. 'opened', 'jammed'
  detail: Record<string, unknown>; // no personal data
  bootId: string;
}

/** What happened to a reservation, for the back office's timeline. */
export interface TimelineEntry {
  id: number;
  reservationId: string;
  at: string; // ISO
  event: string; // e.g. 'pin.accepted', 'key.deposited'
  detail: Record<string, unknown>;
}

/** Scope of a PIN lockout: the whole locker, or one reservation. */
export type LockoutScope = 'locker' | `reservation:${string}`;

/**
 * PIN lockout counters, persisted so that a restart does not wipe them.
 * - locker: `failures` wrong PINs in the current streak (decaying with time, see
 *   core/lockout.ts), `level` back-offs in it, `lockedUntil` the end of the back-off the back
 *   office was told of (null once it was told it ended).
 * - reservation: `failures` wrong PINs, `level` 1 once locked (until staff reset it),
 *   `lockedUntil` unused (null).
 */
export interface LockoutState {
  scope: LockoutScope;
  failures: number;
  level: number;
  lockedUntil: string | null; // ISO
  /** When `failures` last changed (ISO): the locker-wide count decays from here. */
  updatedAt: string | null;
}

/** A reservation a typed PIN may belong to, with what the locker knows about its key. */
export interface PinCandidate {
  reservation: Reservation;
  /** Pickup: its compartment is occupied and names this reservation (the key is in this locker now). */
  keyInLocker: boolean;
}
