/**
 * The outcome of a remote open (staff's `compartment.remote-open`, the customer's phone link
 * `reservation.remote-open`), recorded the same way for both after the pulse: the audit outcome
 * closing the intent, and the done event, in one transaction.
 */
import type { AuditEntry, JourneyStore, LockPort } from './ports.js';

type OpenOutcome = Awaited<ReturnType<LockPort['open']>>;

export interface OpenOutcomeRecord {
  compartment: number;
  /** The intent this outcome closes. */
  intentId: number;
  actor: string;
  reservationId: string | null;
  purpose: string;
  /** The done event and its payload, given the result. */
  doneEvent: 'compartment.remote-open-done' | 'reservation.remote-open-done';
  donePayload: (result: string) => Record<string, unknown>;
}

/** How the pulse went, in one word for the done event. */
export function openResult(outcome: OpenOutcome): string {
  return outcome.ok ? (outcome.alreadyOpen ? 'already-open' : outcome.confirmed ? 'confirmed' : 'no-door-signal') : outcome.error;
}

/** The audit row of an open's outcome, naming the intent it closes (every open writes one). */
export function openOutcomeAudit(outcome: OpenOutcome, open: { compartment: number; intentId: number; actor: string; reservationId: string | null }, detail: Record<string, unknown>): AuditEntry {
  return {
    compartmentId: open.compartment,
    action: 'open',
    phase: 'outcome',
    intentId: open.intentId,
    actor: open.actor,
    reservationId: open.reservationId,
    result: outcome.ok ? 'opened' : outcome.error,
    detail,
  };
}

/** Records the outcome; returns the done event's result. */
export async function recordOpenOutcome(store: Pick<JourneyStore, 'transaction'>, outcome: OpenOutcome, record: OpenOutcomeRecord): Promise<string> {
  const { compartment, intentId, actor, reservationId, purpose } = record;
  const result = openResult(outcome);
  await store.transaction(async (tx) => {
    await tx.audit(openOutcomeAudit(outcome, { compartment, intentId, actor, reservationId }, { pulses: outcome.pulses, purpose }));
    await tx.event(record.doneEvent, record.donePayload(result));
  });
  return result;
}
