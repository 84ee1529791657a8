/**
 * The staff's compartment view of one unit: what the locker said in its last hello (state,
 * door, holder of each compartment), brought forward by the events it wrote since (seq at or
 * after the hello's outbox.nextSeq; older events are already in the hello). A pure fold, so
 * the view of any moment is reproducible from what the back office stored.
 */
import type { HelloMessage } from '../../kiosk/sync/messages.js';
import type { StoredEvent } from './store.js';
import { num, str } from './views.js';

export type TileState = HelloMessage['compartments'][number]['state'];
export type TileDoor = HelloMessage['compartments'][number]['door'];

export interface CompartmentTile {
  id: number;
  state: TileState;
  door: TileDoor;
  reservationId: string | null;
  /** Why it is quarantined (from the newest compartment.quarantined), else null. */
  quarantineReason: string | null;
}

/** The tiles after applying `events` (any order; only those at or after the hello's nextSeq count). */
export function foldCompartments(hello: HelloMessage | null, events: readonly StoredEvent[]): CompartmentTile[] {
  if (!hello) return [];
  const tiles = new Map<number, CompartmentTile>(
    hello.compartments.map((c) => [c.id, { id: c.id, state: c.state, door: c.door, reservationId: c.reservationId, quarantineReason: null }]),
  );
  const since = hello.outbox.nextSeq;
  const ordered = events.filter((e) => e.seq >= since && !e.refused).sort((a, b) => a.seq - b.seq);
  for (const event of ordered) {
    const p = event.payload;
    const tile = tiles.get(num(p.compartment) ?? -1);
    if (!tile) continue;
    switch (event.type) {
      case 'compartment.opened':
      case 'mechanic.opened':
        tile.door = 'open';
        if (tile.state === 'free' && str(p.reservationId)) {
          tile.state = 'reserved';
          tile.reservationId = str(p.reservationId);
        }
        break;
      case 'compartment.forced':
      case 'compartment.left-open':
        tile.door = 'open';
        break;
      case 'compartment.remote-open-done':
        if (p.opened === true && p.result !== 'no-door-signal') tile.door = 'open';
        break;
      case 'compartment.closed':
        tile.door = 'closed';
        break;
      case 'key.deposited':
      case 'key.returned':
        Object.assign(tile, { state: 'occupied', reservationId: str(p.reservationId) });
        break;
      case 'key.collected':
      case 'key.retrieved':
        Object.assign(tile, { state: 'free', reservationId: null });
        break;
      case 'compartment.quarantined':
        Object.assign(tile, { state: 'quarantined', quarantineReason: str(p.reason) });
        break;
      case 'compartment.quarantine-cleared':
        Object.assign(tile, { state: p.state === 'occupied' ? 'occupied' : 'free', reservationId: str(p.reservationId), quarantineReason: null });
        break;
      case 'journey.abandoned':
        if (p.quarantined === true) tile.state = 'quarantined';
        else if (p.content === 'empty') Object.assign(tile, { state: 'free', reservationId: null });
        break;
      default:
        break;
    }
  }
  return [...tiles.values()].sort((a, b) => a.id - b.id);
}
