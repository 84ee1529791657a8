/**
 * The customer session as an explicit state machine: which step may follow which, and on what
 * event. Pure: no store, no hardware, no timers. The journey service (journeys.ts) decides
 * what happened (a PIN was right, a door opened) and asks this table whether the step change
 * is allowed; anything not in the table is refused, so a stray tap or a replayed request can
 * never skip a step (for example from `identify` straight to `opening`).
 *
 * A session may start without a journey ("I have a PIN"): it is undecided until the PIN (or a
 * plate lookup and then the PIN) names a reservation, whose kind decides the journey. The
 * journey may be chosen, or switched when the customer typed a PIN for the other one, only at
 * `identify` (mayChooseJourney); nothing before identification depends on it.
 */
import type { JourneyKind, SessionStep } from './session-view.js';

export type SessionEvent =
  | 'start' // welcome: the customer chose drop-off, pickup, or "I have a PIN" (undecided)
  | 'identified' // the PIN was accepted
  | 'lookedUp' // a plate/phone lookup answered (matched or not)
  | 'pinSent' // "Send" on the lookup result
  | 'retryIdentify' // back to the keypad (after lookup-sent, or "back")
  | 'lockedOut' // too many wrong PINs
  | 'paymentNeeded' // pickup: payment required and not paid
  | 'paid' // pickup: payment confirmed
  | 'confirmDetails' // drop-off: details confirmed, open a compartment
  | 'opened' // the door of the allocated compartment opened
  | 'openFailed' // no compartment could be opened
  | 'finished' // key placed (drop-off) or taken (pickup); receipt chosen or timed out
  | 'receiptOffered' // pickup: key taken after a paid pickup: the receipt step
  | 'abandonOpen' // abandoned with the door open: first the door must close
  | 'end'; // back to welcome: abandon, idle timeout, done timer, failed acknowledged

/** The steps each journey goes through, for "step n of m". */
export const JOURNEY_STEPS: Record<JourneyKind, readonly SessionStep[]> = {
  dropoff: ['identify', 'details', 'place-key', 'done'],
  pickup: ['identify', 'payment', 'take-key', 'done'],
};

type Table = Partial<Record<SessionStep, Partial<Record<SessionEvent, SessionStep>>>>;

const COMMON: Table = {
  welcome: { start: 'identify' },
  identify: { identified: 'opening', lookedUp: 'lookup-result', lockedOut: 'locked-out', end: 'welcome' },
  'lookup-result': { pinSent: 'lookup-sent', retryIdentify: 'identify', end: 'welcome' },
  'lookup-sent': { retryIdentify: 'identify', end: 'welcome' },
  // No 'end' while a lock works: the outcome must be recorded first.
  opening: { opened: 'opening', openFailed: 'failed' },
  done: { end: 'welcome' },
  'locked-out': { retryIdentify: 'identify', end: 'welcome' },
  failed: { end: 'welcome' },
};

/** Before the PIN decides: only the steps that identify the customer. */
const UNDECIDED: Table = {
  welcome: COMMON.welcome,
  identify: { lookedUp: 'lookup-result', lockedOut: 'locked-out', end: 'welcome' },
  'lookup-result': COMMON['lookup-result'],
  'lookup-sent': COMMON['lookup-sent'],
  'locked-out': COMMON['locked-out'],
};

const TABLES: Record<JourneyKind, Table> = {
  dropoff: {
    ...COMMON,
    identify: { ...COMMON.identify, identified: 'details' },
    details: { confirmDetails: 'opening', end: 'welcome' },
    opening: { ...COMMON.opening, opened: 'place-key' },
    'place-key': { finished: 'done', abandonOpen: 'close-door', end: 'welcome' },
    'close-door': { end: 'welcome' },
  },
  pickup: {
    ...COMMON,
    identify: { ...COMMON.identify, identified: 'opening', paymentNeeded: 'payment' },
    payment: { paid: 'opening', end: 'welcome' },
    opening: { ...COMMON.opening, opened: 'take-key' },
    'take-key': { finished: 'done', receiptOffered: 'receipt', abandonOpen: 'close-door', end: 'welcome' },
    receipt: { finished: 'done', end: 'welcome' },
    'close-door': { end: 'welcome' },
  },
};

/** The next step, or null when `event` is not allowed at `step` of this journey (null: not decided yet). */
export function nextStep(journey: JourneyKind | null, step: SessionStep, event: SessionEvent): SessionStep | null {
  return (journey === null ? UNDECIDED : TABLES[journey])[step]?.[event] ?? null;
}

/**
 * Whether the journey may be decided or switched at this step: only while the customer is
 * identifying, before anything was opened, shown or paid for.
 */
export function mayChooseJourney(step: SessionStep): boolean {
  return step === 'identify';
}

/** Every (step, event) pair a journey allows (null: undecided): for tests and documentation. */
export function allowedTransitions(journey: JourneyKind | null): [SessionStep, SessionEvent, SessionStep][] {
  return Object.entries(journey === null ? UNDECIDED : TABLES[journey]).flatMap(([step, events]) =>
    Object.entries(events ?? {}).map(([event, to]): [SessionStep, SessionEvent, SessionStep] => [step as SessionStep, event as SessionEvent, to as SessionStep]),
  );
}

/** "Step n of m" for a step of a journey, or null where it does not apply. */
export function progressOf(journey: JourneyKind | null, step: SessionStep): { index: number; count: number } | null {
  if (!journey) return null;
  const steps = JOURNEY_STEPS[journey];
  const shown: Partial<Record<SessionStep, SessionStep>> = {
    'lookup-result': 'identify',
    'lookup-sent': 'identify',
    'locked-out': 'identify',
    opening: journey === 'dropoff' ? 'place-key' : 'take-key',
    'close-door': journey === 'dropoff' ? 'place-key' : 'take-key',
    receipt: 'done',
  };
  const index = steps.indexOf(shown[step] ?? step);
  return index < 0 ? null : { index: index + 1, count: steps.length };
}
