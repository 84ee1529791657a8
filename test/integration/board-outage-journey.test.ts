/**
 * A lock board outage seen by a customer (issue 7, point 4): an open refused before any pulse
 * takes no compartment out of service and tries no second one; the compartment stays as it
 * was (a drop-off's free, a pickup's holding its key), the outcome is audited and the back
 * office gets `compartment.open-refused`. A compartment that was pulsed and not seen open is
 * still quarantined. The whole locker, on the simulator, a real database and the server.
 */
import t from 'tap';
import { audit, inflight, reservations } from '../../kiosk/store/repositories.js';
import { createValidator } from '../../kiosk/sync/validate.js';
import { toEventMessage } from '../../kiosk/sync/outbox-sender.js';
import { act, ok, recordedEvents, until, withLocker, type TestLocker } from '../helpers/locker.js';

function simOf(locker: TestLocker) {
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('simulator expected');
  return sim;
}

/** The board stops answering, and the lock bank has noticed. */
async function silenceBoard(locker: TestLocker): Promise<void> {
  simOf(locker).setSilent(true);
  await until(() => locker.hardware.bank.boardStatus().every((b) => !b.online), 'the lock bank sees the board offline');
}

async function everyEventPassesTheSchema(locker: TestLocker): Promise<string[]> {
  const validator = createValidator();
  const rows = await locker.db.all<{ seq: number; type: string; payload: string; wall_time: string; mono_time: number; boot_id: string }>('SELECT * FROM outbox ORDER BY seq');
  const problems: string[] = [];
  for (const row of rows) {
    const event = { seq: row.seq, type: row.type, payload: JSON.parse(row.payload) as Record<string, unknown>, wallTime: row.wall_time, monoTime: row.mono_time, bootId: row.boot_id, ackedAt: null };
    const verdict = validator.validateLockerMessage(toEventMessage(event, false));
    if (!verdict.ok) problems.push(`${row.type} #${row.seq}: ${verdict.message}`);
  }
  return problems;
}

t.test('drop-off during an outage: nothing pulsed, nothing quarantined, no second compartment, the back office told', async (t) => {
  const locker = await withLocker(t);
  const sim = simOf(locker);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  const states = async () => (await locker.store.compartments()).map((c) => `${c.id}:${c.state}:${c.reservationId ?? ''}`);
  const before = await states();
  await silenceBoard(locker);
  const reply = await act(locker, { type: 'confirm' });
  t.match(reply.view, { step: 'failed', error: { code: 'OPEN_FAILED' } });

  t.equal(sim.pulseCount, 0, 'no pulse went out');
  t.same(await states(), before, 'every compartment as it was: none quarantined, none held');
  t.match(await locker.store.compartment(1), { state: 'free' });
  const sent = await recordedEvents(locker);
  t.same(sent.map((e) => e.type), ['board.offline', 'compartment.open-refused'], 'no open-failed, no quarantined, one compartment tried');
  t.match(sent[1]?.payload, { compartment: 1, reservationId: 'demo-dropoff-1', error: 'BOARD_OFFLINE', reason: /board 0/ });
  const trail = await audit.list(locker.db, { limit: 20 });
  t.same(
    trail.map((a) => `${a.compartmentId}:${a.action}:${a.phase}:${a.result ?? ''}`).reverse(),
    ['1:open:intent:', '1:open:outcome:BOARD_OFFLINE'],
    'intent and outcome recorded, for compartment 1 only',
  );
  t.match(trail[0]?.detail, { pulses: 0 });
  t.same(await inflight.list(locker.db), [], 'nothing left in flight');
  t.match(await reservations.getById(locker.db, 'demo-dropoff-1'), { status: 'booked' }, 'the booking is still open');
  t.same(await everyEventPassesTheSchema(locker), []);

  // The board answers again: the same customer's next try opens compartment 1, still in service.
  sim.setSilent(false);
  await until(() => locker.hardware.bank.boardStatus().every((b) => b.online), 'the board is seen again');
  await ok(t, locker, { type: 'confirm' }); // leaves the failed screen
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  const view = await ok(t, locker, { type: 'confirm' });
  t.match(view, { step: 'place-key', compartment: 1 });
});

t.test('pickup during an outage: the compartment keeps its key for its reservation', async (t) => {
  const locker = await withLocker(t);
  const sim = simOf(locker);
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  await silenceBoard(locker);
  const reply = await act(locker, { type: 'pin', pin: '345678' });
  t.match(reply.view, { step: 'failed', error: { code: 'OPEN_FAILED' } });
  t.equal(sim.pulseCount, 0);
  t.match(await locker.store.compartment(16), { state: 'occupied', reservationId: 'demo-pickup-paid', quarantineReason: null });
  t.match(await reservations.getById(locker.db, 'demo-pickup-paid'), { status: 'ready', compartmentId: 16 });
  const sent = await recordedEvents(locker);
  t.same(sent.map((e) => e.type), ['board.offline', 'compartment.open-refused']);
  t.match(sent[1]?.payload, { compartment: 16, reservationId: 'demo-pickup-paid', error: 'BOARD_OFFLINE' });
  t.same(await everyEventPassesTheSchema(locker), []);
});

t.test('a board that stops answering right after the pulse: that compartment is quarantined, no other is tried', async (t) => {
  const locker = await withLocker(t);
  const sim = simOf(locker);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  sim.setJammed(0, true);
  sim.silenceAfterNextPulse();
  const reply = await act(locker, { type: 'confirm' });
  t.match(reply.view, { step: 'failed' });
  t.equal(sim.pulseCount, 1, 'one pulse, never a second to a silent board');
  t.match(await locker.store.compartment(1), { state: 'quarantined', quarantineReason: 'open failed: BOARD_OFFLINE' });
  t.match(await locker.store.compartment(2), { state: 'free' }, 'the next compartment was not tried: the board is not answering');
  const types = (await recordedEvents(locker)).map((e) => e.type);
  t.ok(types.includes('compartment.open-failed') && types.includes('compartment.quarantined'), types.join(', '));
  t.notOk(types.includes('compartment.open-refused'));
  t.same(await everyEventPassesTheSchema(locker), []);
});
