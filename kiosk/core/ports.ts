/**
 * What the core needs from the world, as interfaces: the store (kiosk/store implements it),
 * the lock bank (controller/ implements it), the PIN guard. The core imports no wire format,
 * no database driver and no hardware library.
 */
import type { EventEmitter } from 'node:events';
import type { DoorState, LockBankEvents, OpenOutcome } from '../../controller/lock-bank.js';
import type { Compartment, CompartmentState, LockoutScope, LockoutState, PinCandidate, Reservation } from './types.js';

/** A compartment opened for a journey that has not finished yet. Survives a restart. */
export interface Inflight {
  compartmentId: number;
  reservationId: string;
  journey: 'dropoff' | 'pickup';
  sessionId: string;
  /** ISO wall time the opening was asked. */
  at: string;
}

export interface AuditEntry {
  compartmentId: number;
  action: 'open' | 'quarantine' | 'clear';
  phase: 'intent' | 'outcome';
  actor: string; // 'customer:<session>' | 'system' | 'technician' | 'back-office'
  reservationId: string | null;
  result: string | null; // outcome: 'opened', 'JAMMED', ...
  detail: Record<string, unknown>;
  /** An outcome names the intent it closes (the id `audit()` returned for it). */
  intentId?: number | null;
}


/** Writes that must land together, and the reads they are decided on. */
export interface JourneyTx {
  /** Reads inside the transaction: nothing can change what they saw before it commits. */
  reservation(id: string): Promise<Reservation | null>;
  compartment(id: number): Promise<Compartment | null>;
  /** `phones` in the patch are added to those on file (never replace them). */
  updateReservation(id: string, patch: Partial<Omit<Reservation, 'id'>>): Promise<void>;
  setCompartment(id: number, state: CompartmentState, reservationId: string | null, reason?: string | null): Promise<void>;
  /** Reserve the lowest-numbered free compartment for the reservation; null when none is free. Never a quarantined or disabled one. */
  allocateCompartment(reservationId: string): Promise<number | null>;
  /** Append an event for the back office (the outbox); returns its sequence number. */
  event(type: string, payload: Record<string, unknown>): Promise<number>;
  /** Append to the audit trail; returns the entry's id (an outcome passes its intent's as `intentId`). */
  audit(entry: AuditEntry): Promise<number>;
  timeline(reservationId: string, event: string, detail?: Record<string, unknown>): Promise<void>;
  setInflight(entry: Inflight): Promise<void>;
  clearInflight(compartmentId: number): Promise<void>;
  /** PIN lockout counters (kiosk/core/lockout.ts decides; these only read and write them). */
  lockout(scope: LockoutScope): Promise<LockoutState | null>;
  setLockout(state: LockoutState): Promise<void>;
  clearLockout(scope: LockoutScope): Promise<void>;
}

/** A payment's detail as the provider reports it (docs/protocol.md, "Payments"); the gate is Reservation.paymentStatus. */
export interface PaymentDetailsView {
  state: 'pending' | 'requested' | 'authorised' | 'paid' | 'failed' | 'cancelled' | 'refunded' | 'expired';
  /** The payment page (the top screen's QR); null: none for this version. */
  link: string | null;
  /** The customer's last receipt channel, as the back office remembers it (offered first). */
  receiptChannel: 'sms' | 'email' | 'qr' | null;
  /** The payment version it belongs to. */
  version: number;
}

/** What a typed PIN is looked up by: its unit index (null: no unit salt) and where legacy hashes may be. */
export interface PinCandidateQuery {
  index: string | null;
  dropoffDates: readonly string[];
  ids?: readonly string[];
}

export interface JourneyStore {
  transaction<T>(fn: (tx: JourneyTx) => Promise<T>): Promise<T>;
  reservation(id: string): Promise<Reservation | null>;
  /** Reservations of one kind whose appointment date is one of `dates` (YYYY-MM-DD). */
  reservationsOn(kind: Reservation['kind'], dates: readonly string[]): Promise<Reservation[]>;
  /**
   * A typed PIN's candidates in ONE read, so that a reservation re-hashed by the back office in
   * the meantime (legacy hash -> unit hash) is found on one side or the other, never missed
   * between two reads: every reservation (any status) whose unit hash has `index` (pin.ts), plus
   * the legacy hashes (no index) the PIN could open now: among `ids` (a plate lookup's matches)
   * when given, else drop-offs booked on `dropoffDates` and pickups whose key is in the locker.
   */
  pinCandidates(query: PinCandidateQuery): Promise<PinCandidate[]>;
  /** These reservations (a plate lookup's matches) as PIN candidates. */
  pinCandidatesByIds(ids: readonly string[]): Promise<PinCandidate[]>;
  /** When `event` was last written to the reservation's timeline (ISO), or null. */
  lastTimelineAt(reservationId: string, event: string): Promise<string | null>;
  lockout(scope: LockoutScope): Promise<LockoutState | null>;
  /** Ids of the reservations locked after too many wrong PINs. */
  lockedReservations(): Promise<string[]>;
  findByPlate(plate: string, date: string): Promise<Reservation[]>;
  findByPhone(phone: string, date: string): Promise<Reservation[]>;
  compartments(): Promise<Compartment[]>;
  compartment(id: number): Promise<Compartment | null>;
  inflight(): Promise<Inflight[]>;
  /** The audit id of the newest intent to open this compartment (what an in-flight journey's outcome names), or null. */
  latestIntentId(compartmentId: number): Promise<number | null>;
  /** The payment's detail (state, link) for the payment step; absent in stores without it: none shown. */
  paymentDetails?(reservationId: string): Promise<PaymentDetailsView | null>;
}

/** The part of the lock bank the core uses. */
export interface LockPort {
  open(compartment: number): Promise<OpenOutcome>;
  doorState(compartment: number): DoorState;
  /** The compartment's item sensor (true = something inside); null, or absent, without one. */
  itemPresent?(compartment: number): boolean | null;
  readonly events: EventEmitter<LockBankEvents>;
}

/** What a wrong PIN led to (kiosk/core/lockout.ts). */
export interface FailureResult {
  /** Set when this failure started a locker-wide back-off: its length. */
  lockerLockedForMs: number | null;
  /** The named reservation is locked (now or before). */
  reservationLocked: boolean;
  /** Wrong PINs left before the next lockout of either kind (the smaller). */
  attemptsLeft: number;
}

/**
 * PIN attempts and lockouts, implemented by kiosk/core/lockout.ts over the store's ports.
 * Writes happen inside the caller's transaction, with the events that tell the back office.
 */
export interface PinGuard {
  /** null when PIN entry is allowed now; otherwise how long to wait (ms). A read, no commit. */
  lockedFor(now: Date): Promise<number | null>;
  /** Count a wrong PIN (or a right one for a reservation that cannot be used), locker-wide and for `bound` when a plate lookup named it. */
  recordFailure(tx: JourneyTx, bound: string | null, now: Date): Promise<FailureResult>;
  /** A door opened for this customer: the locker-wide count and the reservation's end. */
  doorOpened(tx: JourneyTx, reservationId: string, now: Date): Promise<void>;
}

// --- the mechanic journey (core/mechanic-desk.ts) ---------------------------------------------

/** A tablet's request as the locker recorded it (the `mechanic.request` command). */
export interface MechanicRequestRecord {
  requestId: string;
  reservationId: string;
  purpose: 'retrieve' | 'deposit';
  tabletId: string;
  state: 'pending' | 'served' | 'expired' | 'refused';
}

/** The mechanic journey's rows, inside the same transaction as a JourneyTx. */
export interface MechanicTx {
  request(requestId: string): Promise<MechanicRequestRecord | null>;
  setRequestState(requestId: string, state: MechanicRequestRecord['state']): Promise<void>;
  /** A token was shown: its nonce, unused. */
  tokenIssued(token: { nonce: string; requestId: string; tabletId: string; bootId: string; issuedMono: number; at: string }): Promise<void>;
  /** Burns the nonce; false when it is unknown or was burnt before (a replay). */
  burnNonce(nonce: string, at: string): Promise<boolean>;
}

/** A transaction over both the journey's and the mechanic's rows. */
export interface MechanicStore {
  transaction<T>(fn: (tx: JourneyTx, mechanic: MechanicTx) => Promise<T>): Promise<T>;
  /** Requests still waiting to be served, oldest first (a restart shows them again). */
  pendingRequests(): Promise<MechanicRequestRecord[]>;
}
