/**
 * No lock output is on at boot before the first commanded pulse, even when the last life was
 * killed with journeys in flight and recovery has work to do: checked on the recording board,
 * which sees every call the lock bank makes from its construction.
 */
import t from 'tap';
import { checkInvariants } from './check.js';
import { addReadyPickup, addReservation, bootLocker } from './store-fixture.js';

t.test('a boot after a kill with two journeys in flight: outputs off first, recovery pulses nothing', async (t) => {
  const dir = t.testdir();
  const first = await bootLocker(dir);
  await addReservation(first, { id: 'r-1' });
  await addReadyPickup(first, 'p-1', 16);
  t.ok((await first.actuator.openNewFor((await first.store.reservation('r-1'))!, 's-1', 'customer:s-1')).ok);
  t.ok((await first.actuator.openReservedFor((await first.store.reservation('p-1'))!, 's-2', 'customer:s-2')).ok);
  t.equal((await first.store.inflight()).length, 2, 'two journeys in flight');
  await first.bank.stop();
  await first.db.close(); // killed: nothing more is written

  const second = await bootLocker(dir);
  t.teardown(() => second.stop());
  t.equal(second.board.calls[0], 'allOff', 'the first thing the board is told: every output off');
  t.notOk(second.board.calls.some((call) => call.startsWith('pulse')), 'recovery pulsed nothing');
  t.same(second.sim.energised(), [], 'nothing is energised');
  t.same(await second.store.inflight(), [], 'recovery resolved both journeys');
  t.same(await checkInvariants(second.path), []);

  await addReservation(second, { id: 'r-2' });
  const opened = await second.actuator.openNewFor((await second.store.reservation('r-2'))!, 's-3', 'customer:s-3');
  t.ok(opened.ok);
  const pulses = second.board.calls.filter((call) => call.startsWith('pulse'));
  t.same(pulses, [`pulse 0/${(opened as { compartment: number }).compartment - 1}`], 'the first pulse is the one the journey commanded');
});
