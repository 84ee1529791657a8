/**
 * The back office goes away in the middle of a drop-off: the customer finishes as if nothing
 * happened, the screen shows the link is down, and when the back office is back every event
 * reaches it, in order, once.
 */
import { createServer } from 'node:net';
import t from 'tap';
import { startReferenceBackOffice } from '../reference-backoffice/start.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { loadOrCreateIdentity } from '../../kiosk/sync/identity.js';
import { TEST_PIN_COST, ok, recordedEvents, until, withLocker } from '../helpers/locker.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('the link drops mid-journey; the journey goes on; the events arrive later', async (t) => {
  const port = await freePort();
  const locker = await withLocker(t, { backOffice: { reconnectInitialMs: 100, reconnectMaxMs: 1000, pingIntervalMs: 1000 } }, { backOfficePort: port });
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });

  await locker.backOffice.stop(); // the back office goes away
  await until(() => locker.journeys.view().link === 'offline', 'the screen shows the link down');

  await ok(t, locker, { type: 'details', phone: null, remark: 'left rear tyre' });
  await ok(t, locker, { type: 'confirm' });
  locker.hardware.sim?.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'door closed');
  const done = await ok(t, locker, { type: 'confirm' });
  t.equal(done.step, 'done', 'the drop-off finishes offline');
  t.ok((await locker.sync.status()).outboxPending >= 3, 'the events wait in the outbox');

  // The back office comes back (same store, same port).
  const again = await startReferenceBackOffice({
    dataDir: `${locker.config.dataDir}/backoffice`, host: '127.0.0.1', port, audience: locker.config.backOffice.audience,
    logger: createSilentLogger(), timeZone: locker.config.timeZone, demo: false, pinCost: TEST_PIN_COST,
  });
  t.teardown(() => again.stop());
  await again.registerUnit(locker.config.unitId, (await loadOrCreateIdentity(locker.config.dataDir, locker.config.unitId)).publicKeyJwk);
  await until(async () => (await locker.sync.status()).outboxPending === 0, 'every event delivered');
  t.equal(locker.journeys.view().link, 'online');

  const sent = (await recordedEvents(locker)).map((e) => e.type);
  const state = await again.service.staffState();
  const card = state.reservations.find((r) => r.id === 'demo-dropoff-1');
  t.match(card, { status: 'deposited', remark: 'left rear tyre' }, 'the staff view has the key and the remark');
  t.same(sent.slice(-3), ['compartment.opened', 'compartment.closed', 'key.deposited']);
});
