/**
 * compartment.clear-quarantine (issue 7): staff put a quarantined compartment back into
 * service from the back office. Applied once like every command, audited, with an event;
 * refused (nothing changed) when the compartment is not quarantined or its door is not seen
 * closed. The core operation is kiosk/core/quarantine.ts clearQuarantine.
 */
import t, { type Test } from 'tap';
import { audit, compartments, outbox, reservations } from '../../kiosk/store/repositories.js';
import type { DoorStateWire } from '../../kiosk/sync/messages.js';
import { commandFixture } from '../helpers/command-fixture.js';
import { sampleReservation } from '../helpers/store.js';

async function fixture(t: Test) {
  const doors = new Map<number, DoorStateWire>();
  const f = await commandFixture(t, 4, { doorState: (id) => doors.get(id) ?? 'closed' });
  const now = new Date();
  await f.db.transaction(async (tx) => {
    await compartments.setState(tx, 1, { state: 'quarantined', reason: 'dropoff abandoned after the door opened' }, now);
    await reservations.upsert(tx, sampleReservation({ id: 'pick', code: 'P-1', kind: 'pickup', status: 'ready', compartmentId: 2 }));
    await compartments.setState(tx, 2, { state: 'quarantined', reason: 'open failed: JAMMED', reservationId: 'pick' }, now);
  });
  const events = async () => (await f.db.all<{ type: string; payload: string }>('SELECT type, payload FROM outbox ORDER BY seq')).map((r) => ({ type: r.type, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  return { ...f, doors, events };
}

t.test('a quarantine with no claim is cleared to free, audited, with an event; applied once', async (t) => {
  const f = await fixture(t);
  const args = { compartment: 1, reason: 'Looked inside: empty', by: 'Ole' };
  const first = await f.run('c-1', 'compartment.clear-quarantine', args);
  t.same(first, { v: 1, type: 'result', commandId: 'c-1', ok: true, result: { applied: true, compartment: 1, state: 'free', reservationId: null } });
  t.match(await compartments.get(f.db, 1), { state: 'free', reservationId: null, quarantineReason: null });
  const trail = await audit.list(f.db, { compartmentId: 1, limit: 5 });
  t.match(trail[0], { action: 'clear', phase: 'outcome', actor: 'staff:Ole', result: 'free', detail: { reason: 'Looked inside: empty', by: 'Ole', quarantinedFor: 'dropoff abandoned after the door opened' } });
  t.same(await f.events(), [{ type: 'compartment.quarantine-cleared', payload: { compartment: 1, state: 'free', reservationId: null, reason: 'Looked inside: empty', by: 'Ole' } }]);
  const again = await f.run('c-1', 'compartment.clear-quarantine', args);
  t.same(again, first, 'a repeat gets the first result');
  t.equal(await outbox.pendingCount(f.db), 1, 'and changes nothing');
});

t.test('a compartment holding a ready pickup\'s key goes back to occupied for it', async (t) => {
  const f = await fixture(t);
  const result = await f.run('c-2', 'compartment.clear-quarantine', { compartment: 2, reason: 'Key is there', by: 'Ole' });
  t.match(result.result, { state: 'occupied', reservationId: 'pick' });
  t.match(await compartments.get(f.db, 2), { state: 'occupied', reservationId: 'pick' });
});

t.test('refused with a clear error, nothing changed: not quarantined, door open, door unknown, no such compartment, empty reason', async (t) => {
  const f = await fixture(t);
  f.doors.set(1, 'open');
  f.doors.set(2, 'unknown');
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['c-3', { compartment: 3, reason: 'x', by: 'Ole' }, 'CONFLICT', /compartment 3 is free, not quarantined/],
    ['c-4', { compartment: 1, reason: 'x', by: 'Ole' }, 'CONFLICT', /door 1 is open: close it first/],
    ['c-5', { compartment: 2, reason: 'x', by: 'Ole' }, 'CONFLICT', /door 2 cannot be read/],
    ['c-6', { compartment: 16, reason: 'x', by: 'Ole' }, 'NOT_FOUND', /compartment 16 does not exist/],
    ['c-7', { compartment: 1, reason: '   ', by: 'Ole' }, 'SCHEMA', /reason/],
  ];
  for (const [id, args, code, message] of cases) {
    const result = await f.run(id, 'compartment.clear-quarantine', args as never);
    t.equal(result.ok, false, `${id} refused`);
    t.equal(result.error?.code, code, `${id}: ${code}`);
    t.match(result.error?.message, message);
  }
  t.match(await compartments.get(f.db, 1), { state: 'quarantined' });
  t.match(await compartments.get(f.db, 2), { state: 'quarantined', reservationId: 'pick' });
  t.same(await f.events(), [], 'no event');
});

t.test('without the lock bank\'s door states (no doorState given), nothing is cleared', async (t) => {
  const f = await commandFixture(t);
  await f.db.transaction((tx) => compartments.setState(tx, 1, { state: 'quarantined', reason: 'x' }, new Date()));
  const result = await f.run('c-8', 'compartment.clear-quarantine', { compartment: 1, reason: 'ok', by: 'Ole' });
  t.equal(result.error?.code, 'CONFLICT');
});
