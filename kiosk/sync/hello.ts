/**
 * The locker's `hello` (docs/protocol.md, "Session"): who it is, its clock and time zone, how it
 * runs the link, every compartment, a fixed-size summary of the reservations it holds (the back
 * office pages through them with `inventory.page` when the digest is not what it expects), and
 * where its outbox stands, and how to hash PINs for it. Its size does not grow with the number of reservations.
 */
import type { UnitPinHashing } from '../core/pin.js';
import type { Db } from '../store/db.js';
import { compartments } from '../store/repositories.js';
import { inventorySummary } from './inventory.js';
import { PROTOCOL_VERSION, type DoorStateWire, type HelloMessage } from './messages.js';
import { outboxPosition } from './stream-store.js';

export interface HelloSource {
  db: Db;
  unitId: string;
  softwareVersion: string;
  bootId: string;
  timeZone: string;
  pingIntervalMs: number;
  maxInFlight: number;
  wallClock: () => Date;
  clockSynchronised: () => boolean;
  /** The lock bank's view of a door; a throw reads as unknown. */
  doorState: (compartmentId: number) => DoorStateWire;
  /** The unit's PIN salt and cost (docs/protocol.md, "PINs"); null: none published. */
  pinHashing: UnitPinHashing | null;
}

export async function buildHello(source: HelloSource): Promise<HelloMessage> {
  const { db } = source;
  const wall = source.wallClock();
  const [rows, position, inventory] = await Promise.all([compartments.list(db), outboxPosition(db), inventorySummary(db)]);
  const door = (id: number): DoorStateWire => {
    try {
      return source.doorState(id);
    } catch {
      return 'unknown';
    }
  };
  return {
    v: PROTOCOL_VERSION,
    type: 'hello',
    unitId: source.unitId,
    softwareVersion: source.softwareVersion,
    bootId: source.bootId,
    clock: { wall: wall.toISOString(), synchronised: source.clockSynchronised() },
    timeZone: source.timeZone,
    link: { pingIntervalMs: source.pingIntervalMs, maxInFlight: source.maxInFlight },
    compartments: rows.map((c) => ({ id: c.id, state: c.state, door: door(c.id), reservationId: c.reservationId })),
    inventory,
    outbox: position,
    ...(source.pinHashing ? { pinHashing: { salt: source.pinHashing.salt, N: source.pinHashing.N, r: source.pinHashing.r, p: source.pinHashing.p } } : {}),
  };
}
