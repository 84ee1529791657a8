/**
 * A locker whose back office is not configured is unprovisioned, never a demo: it starts no
 * back office of its own, serves the reservations it already holds, and keeps every event in
 * the outbox until a back office is configured.
 */
import t from 'tap';
import { decodeConfig } from '../../kiosk/config/load.js';
import { startLocker } from '../../kiosk/locker.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { ok, startTestLocker, TEST_LOCKS, until } from '../helpers/locker.js';

t.test('unprovisioned: no back office started, held reservations still work, events wait', async (t) => {
  const dir = t.testdir();
  // First provisioned, to receive the demo reservations; then the back office is taken away.
  const first = await startTestLocker(dir);
  await first.stop();

  const config = decodeConfig(
    { dataDir: dir, server: { host: '127.0.0.1', port: 0 }, locks: TEST_LOCKS },
    null,
  );
  t.equal(config.backOffice.url, null);
  const locker = await startLocker({ config, logger: createSilentLogger() });
  t.teardown(() => locker.stop());
  t.equal(locker.sync, null, 'no link');
  const health = (await (await fetch(locker.urls.health)).json()) as Record<string, unknown>;
  t.match(health, { backOffice: { provisioned: false, state: 'unprovisioned', reason: /backOffice\.url/ } });
  t.equal(locker.journeys.view().link, 'offline', 'the screens show it is not connected');

  const before = (health.backOffice as { outboxPending: number }).outboxPending;
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: null, remark: null });
  const placing = await ok(t, locker, { type: 'confirm' });
  t.equal(placing.step, 'place-key', 'a drop-off for a reservation already held opens a compartment');
  locker.hardware.sim?.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'door closed');
  t.equal((await ok(t, locker, { type: 'confirm' })).step, 'done');
  const after = (await (await fetch(locker.urls.health)).json()) as { backOffice: { outboxPending: number } };
  t.ok(after.backOffice.outboxPending >= before + 3, 'the events wait in the outbox for a back office');
});
