/**
 * What a journey's opened compartment holds when the customer leaves without pressing Confirm
 * (walks away, or abandons), and what is recorded. Issue 7, points 7 and 8: a door tells the
 * truth, and an item sensor, where fitted, confirms it.
 *
 * - Leaving to `finish` (the session ends at "place the key" / "take the key"): a closed door
 *   finishes the step, unconfirmed: the drop-off is deposited, the pickup collected. An item
 *   sensor that disagrees (empty after a drop-off, a key still in after a pickup) raises
 *   `compartment.item-mismatch` and quarantines.
 * - Leaving to `undo` (the customer abandoned): a drop-off's compartment seen empty is free
 *   again and the booking stays open; a pickup's seen holding the key keeps it for the
 *   customer. A sensor that shows the opposite records what it shows (a key left in is
 *   deposited, a key taken is collected): nothing is lost and nothing is guessed. Without a
 *   sensor the content after an abandon is truly unknown: quarantined.
 * - A door not seen closed (open, or its board not answering): quarantined.
 */
import type { DoorState } from '../../controller/lock-bank.js';
import type { Actuator } from './actuator.js';
import type { JourneyKind } from './session-view.js';

export type Leaving = 'finish' | 'undo';

export type Settlement =
  | { kind: 'deposit' } // the key is in: deposited, unconfirmed
  | { kind: 'collect' } // the key is out: collected, unconfirmed
  | { kind: 'release' } // drop-off undone, compartment seen empty: free again, booking still open
  | { kind: 'keep' } // pickup undone, the key seen back in: still the customer's
  | { kind: 'mismatch'; expected: 'present' | 'absent' } // the item sensor disagrees: alarm and quarantine
  | { kind: 'quarantine'; why: 'door-not-closed' | 'content-unknown' };

/** Pure: what leaving now means for the compartment. `item`: the sensor (true = something inside), null without one. */
export function settle(journey: JourneyKind, leaving: Leaving, door: DoorState, item: boolean | null): Settlement {
  if (door !== 'closed') return { kind: 'quarantine', why: 'door-not-closed' };
  if (leaving === 'finish') {
    const expected = journey === 'dropoff';
    if (item === null || item === expected) return { kind: journey === 'dropoff' ? 'deposit' : 'collect' };
    return { kind: 'mismatch', expected: expected ? 'present' : 'absent' };
  }
  if (item === null) return { kind: 'quarantine', why: 'content-unknown' };
  if (journey === 'dropoff') return { kind: item ? 'deposit' : 'release' };
  return { kind: item ? 'keep' : 'collect' };
}

/**
 * What the idle warning says will happen (ui/i18n `idle.ends.<key>`), for a settlement, or
 * `restart` where nothing was opened.
 */
export type IdleEnding = 'restart' | 'deposited' | 'collected' | 'released' | 'key-kept' | 'staff-check';

export function endingOf(settlement: Settlement | null): IdleEnding {
  switch (settlement?.kind) {
    case undefined:
      return 'restart';
    case 'deposit':
      return 'deposited';
    case 'collect':
      return 'collected';
    case 'release':
      return 'released';
    case 'keep':
      return 'key-kept';
    default:
      return 'staff-check';
  }
}

export interface SettleRequest {
  compartment: number;
  reservationId: string;
  journey: JourneyKind;
  /** Why the session ended: the customer abandoned, or walked away (idle). */
  reason: string;
  addedPhone: string | null;
  remark: string | null;
}

/** Record the settlement; returns what was recorded. A compartment no longer held for the journey (forced meanwhile) is left to the quarantine. */
export async function recordSettlement(actuator: Actuator, settlement: Settlement, request: SettleRequest): Promise<Settlement> {
  const { compartment, reservationId, journey, reason } = request;
  const how = { confirmed: false } as const;
  try {
    switch (settlement.kind) {
      case 'deposit':
        await actuator.deposited(compartment, reservationId, { addedPhone: request.addedPhone, remark: request.remark }, how);
        return settlement;
      case 'collect':
        await actuator.collected(compartment, reservationId, how);
        return settlement;
      case 'release':
      case 'keep':
        await actuator.leftAsItWas(compartment, reservationId, journey, reason);
        return settlement;
      case 'mismatch':
        await actuator.itemMismatch(compartment, reservationId, journey, settlement.expected, reason);
        return settlement;
      case 'quarantine':
        await actuator.abandonedAfterOpen(compartment, reservationId, journey, reason);
        return settlement;
    }
  } catch {
    // The compartment is no longer held for this journey (a forced door quarantined it): the
    // quarantine stands, and the session still ends.
    await actuator.abandonedAfterOpen(compartment, reservationId, journey, reason);
    return { kind: 'quarantine', why: 'content-unknown' };
  }
}
