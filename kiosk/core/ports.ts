/**
 * What the core needs from the world, as interfaces: the store (kiosk/store implements it),
 * the lock bank (controller/ implements it), the PIN guard. The core imports no wire format,
 * no database driver and no hardware library.
 */
import type { EventEmitter } from 'node:events';
import type { DoorState, LockBankEvents, OpenOutcome } from '../../controller/lock-bank.js';
import type { Compartment, CompartmentState, Reservation } from './types.js';

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
}

export interface JourneyStore {
  transaction<T>(fn: (tx: JourneyTx) => Promise<T>): Promise<T>;
  reservation(id: string): Promise<Reservation | null>;
  /** Reservations of one kind whose appointment date is one of `dates` (YYYY-MM-DD). */
  reservationsOn(kind: Reservation['kind'], dates: readonly string[]): Promise<Reservation[]>;
  /** Pickup reservations whose key is (or will be) in the locker. */
  openPickups(): Promise<Reservation[]>;
  findByPlate(plate: string, date: string): Promise<Reservation[]>;
  findByPhone(phone: string, date: string): Promise<Reservation[]>;
  compartments(): Promise<Compartment[]>;
  compartment(id: number): Promise<Compartment | null>;
  inflight(): Promise<Inflight[]>;
  /** The audit id of the newest intent to open this compartment (what an in-flight journey's outcome names), or null. */
  latestIntentId(compartmentId: number): Promise<number | null>;
}

/** The part of the lock bank the core uses. */
export interface LockPort {
  open(compartment: number): Promise<OpenOutcome>;
  doorState(compartment: number): DoorState;
  readonly events: EventEmitter<LockBankEvents>;
}

/** PIN attempts and lockouts (kiosk/core/lockout.ts over the store). */
export interface PinGuard {
  /** null when PIN entry is allowed now; otherwise how long to wait. */
  lockedFor(now: Date): Promise<number | null>;
  /** Count a wrong PIN, locker-wide and for the reservation when known. */
  recordFailure(reservationId: string | null, now: Date): Promise<{ lockerLockedForMs: number | null; reservationLocked: boolean; attemptsLeft: number | null }>;
  recordSuccess(reservationId: string, now: Date): Promise<void>;
}
