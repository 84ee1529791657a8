/**
 * The repositories, one namespace each. Every function takes the handle first: reads accept a
 * Db or a Tx (`Queryable`), writes require a Tx, so the core composes an actuation's audit
 * entry, the compartment change and the outbox event into one transaction:
 *
 *   await db.transaction(async (tx) => {
 *     await compartments.setState(tx, 3, { state: 'occupied', reservationId }, now);
 *     await outbox.append(tx, 'key.deposited', { reservationId, compartmentId: 3 }, stamp);
 *   });
 */
export * as audit from './audit.js';
export * as compartments from './compartments.js';
export * as inflight from './inflight.js';
export * as lockouts from './lockouts.js';
export * as outbox from './outbox.js';
export * as reservations from './reservations.js';
export * as settings from './settings.js';
export * as timeline from './timeline.js';
