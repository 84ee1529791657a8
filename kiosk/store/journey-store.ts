/**
 * The core's JourneyStore port over the SQLite repositories. Each event and audit entry is
 * stamped here with wall time, monotonic time and this boot's id, so the core never deals
 * with clocks it cannot trust (the Pi has no real-time clock).
 */
import type { Inflight, JourneyStore, JourneyTx } from '../core/ports.js';
import type { Db, Tx } from './db.js';
import * as paymentDetails from './payment-details.js';
import { audit, compartments, inflight, lockouts, outbox, reservations, timeline } from './repositories.js';

export interface StoreStamps {
  wallClock: () => Date;
  /** Monotonic milliseconds since this process started. */
  monoClock: () => number;
  /** Changes at every start of the service. */
  bootId: string;
}

export interface JourneyStoreHooks {
  /**
   * Called after a transaction that appended outbox events has committed (never before, and
   * not after a rollback), with the highest seq appended: the sync layer sends them now
   * instead of at its next poll. An exception from it is swallowed.
   */
  onEventsCommitted?: (lastSeq: number) => void;
}

/**
 * The core's JourneyTx over a transaction someone else opened (the sync's command batch), so
 * core services (the lockout) write there with their events, stamped like the journey store's.
 */
export function journeyTxOf(tx: Tx, stamps: StoreStamps): JourneyTx {
  return txPort(tx, stamps, { lastSeq: 0 });
}

function txPort(tx: Tx, stamps: StoreStamps, appended: { lastSeq: number }): JourneyTx {
  return {
    reservation: (id) => reservations.getById(tx, id),
    compartment: (id) => compartments.get(tx, id),
    async updateReservation(id, patch) {
      const now = stamps.wallClock();
      const { phones, ...rest } = patch;
      await reservations.update(tx, id, rest, now);
      for (const phone of phones ?? []) await reservations.addPhone(tx, id, phone, now);
    },
    async setCompartment(id, state, reservationId, reason) {
      const now = stamps.wallClock();
      switch (state) {
        case 'free':
          await compartments.setState(tx, id, { state }, now);
          return;
        case 'reserved':
        case 'occupied':
          if (!reservationId) throw new Error(`compartment ${id} cannot be ${state} without a reservation`);
          await compartments.setState(tx, id, { state, reservationId }, now);
          return;
        case 'quarantined':
          await compartments.setState(tx, id, { state, reason: reason ?? 'unspecified', reservationId }, now);
          return;
        case 'disabled':
          await compartments.setState(tx, id, { state, reservationId }, now);
          return;
      }
    },
    async allocateCompartment(reservationId) {
      return (await compartments.allocateFree(tx, reservationId, stamps.wallClock()))?.id ?? null;
    },
    async event(type, payload) {
      const seq = await outbox.append(tx, type, payload, { wallTime: stamps.wallClock().toISOString(), monoTime: Math.round(stamps.monoClock()), bootId: stamps.bootId });
      appended.lastSeq = seq;
      return seq;
    },
    audit: (entry) => audit.append(tx, { ...entry, at: stamps.wallClock().toISOString(), bootId: stamps.bootId }),
    async timeline(reservationId, event, detail = {}) {
      await timeline.append(tx, reservationId, event, detail, stamps.wallClock());
    },
    setInflight: (entry: Inflight) => inflight.set(tx, entry),
    clearInflight: (compartmentId) => inflight.clear(tx, compartmentId),
    lockout: (scope) => lockouts.get(tx, scope),
    setLockout: (state) => lockouts.set(tx, state),
    clearLockout: (scope) => lockouts.clear(tx, scope),
  };
}

export function createJourneyStore(db: Db, stamps: StoreStamps, hooks: JourneyStoreHooks = {}): JourneyStore {
  return {
    async transaction(fn) {
      const appended = { lastSeq: 0 };
      const result = await db.transaction((tx) => fn(txPort(tx, stamps, appended)));
      if (appended.lastSeq > 0) {
        try {
          hooks.onEventsCommitted?.(appended.lastSeq);
        } catch {
          // Committed is committed: a failing listener must not look like a failed write.
        }
      }
      return result;
    },
    reservation: (id) => reservations.getById(db, id),
    reservationsOn: (kind, dates) => reservations.listByKindOnDates(db, kind, dates),
    pinCandidates: (query) => reservations.pinCandidates(db, query),
    pinCandidatesByIds: (ids) => reservations.candidatesByIds(db, ids),
    lastTimelineAt: (reservationId, event) => timeline.lastAt(db, reservationId, event),
    lockout: (scope) => lockouts.get(db, scope),
    lockedReservations: () => lockouts.lockedReservations(db),
    findByPlate: (plate, date) => reservations.findByPlate(db, plate, date),
    findByPhone: (phone, date) => reservations.findByPhone(db, phone, date),
    compartments: () => compartments.list(db),
    compartment: (id) => compartments.get(db, id),
    inflight: () => inflight.list(db),
    latestIntentId: (compartmentId) => audit.latestIntentId(db, compartmentId, 'open'),
    paymentDetails: (reservationId) => paymentDetails.get(db, reservationId),
  };
}
