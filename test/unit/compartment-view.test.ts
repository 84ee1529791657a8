/**
 * The staff's compartment view (test/reference-backoffice/compartment-view.ts): the hello's
 * compartments brought forward by the events written after it, and only those.
 */
import t from 'tap';
import type { HelloMessage } from '../../kiosk/sync/messages.js';
import { foldCompartments } from '../reference-backoffice/compartment-view.js';
import type { StoredEvent } from '../reference-backoffice/store.js';

const hello = {
  compartments: [
    { id: 1, state: 'free', door: 'closed', reservationId: null },
    { id: 2, state: 'occupied', door: 'closed', reservationId: 'r-2' },
    { id: 3, state: 'free', door: 'unknown', reservationId: null },
  ],
  outbox: { firstUnacked: null, firstHeld: 1, nextSeq: 10 },
} as unknown as HelloMessage;

const ev = (seq: number, type: string, payload: Record<string, unknown>): StoredEvent => ({
  unitId: 'u',
  seq,
  type,
  at: { wall: '2026-11-28T10:00:00.000Z', mono: seq, bootId: 'b', clockSynchronised: true },
  payload,
  receivedAt: '2026-11-28T10:00:00.000Z',
});

t.test('no hello: nothing to show', async (t) => {
  t.same(foldCompartments(null, [ev(1, 'compartment.opened', { compartment: 1 })]), []);
});

t.test('events after the hello move state and door; earlier ones (already in the hello) and refused ones do not', async (t) => {
  const tiles = foldCompartments(hello, [
    ev(9, 'key.collected', { reservationId: 'r-2', compartment: 2 }), // before the hello: already counted
    ev(12, 'key.deposited', { reservationId: 'r-1', compartment: 1 }),
    ev(10, 'compartment.opened', { compartment: 1, reservationId: 'r-1', purpose: 'dropoff' }),
    ev(11, 'compartment.closed', { compartment: 1 }),
    ev(13, 'compartment.quarantined', { compartment: 3, reason: 'open failed: JAMMED' }),
    ev(14, 'compartment.remote-open-done', { compartment: 2, by: 'Kari', opened: true, result: 'confirmed', pulses: 1 }),
    { ...ev(15, 'key.collected', { reservationId: 'r-2', compartment: 2 }), refused: { code: 'SCHEMA', reason: 'x' } },
    ev(16, 'compartment.opened', { compartment: 99 }),
  ]);
  t.same(tiles, [
    { id: 1, state: 'occupied', door: 'closed', reservationId: 'r-1', quarantineReason: null },
    { id: 2, state: 'occupied', door: 'open', reservationId: 'r-2', quarantineReason: null },
    { id: 3, state: 'quarantined', door: 'unknown', reservationId: null, quarantineReason: 'open failed: JAMMED' },
  ]);
});

t.test('clearing, collecting and an abandoned journey', async (t) => {
  const tiles = foldCompartments(hello, [
    ev(10, 'compartment.quarantined', { compartment: 1, reason: 'forced' }),
    ev(11, 'compartment.quarantine-cleared', { compartment: 1, state: 'free', reservationId: null, reason: 'ok', by: 'Ola' }),
    ev(12, 'key.collected', { reservationId: 'r-2', compartment: 2 }),
    ev(13, 'journey.abandoned', { compartment: 3, content: 'unknown', quarantined: true }),
    ev(14, 'compartment.remote-open-done', { compartment: 1, by: 'Kari', opened: true, result: 'no-door-signal', pulses: 1 }),
  ]);
  t.same(tiles.map((x) => [x.id, x.state, x.door, x.reservationId]), [
    [1, 'free', 'closed', null],
    [2, 'free', 'closed', null],
    [3, 'quarantined', 'unknown', null],
  ]);
});
