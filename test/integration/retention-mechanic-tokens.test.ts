/**
 * Issue 10: the mechanic journey's one-time QR tokens (`mechanic_tokens`) are purged by the
 * retention sweep a day after they were made; a purged nonce is refused like a used one.
 */
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { createMechanicStore } from '../../kiosk/store/mechanic-store.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { MECHANIC_TOKEN_KEEP_MS, startRetention } from '../../kiosk/store/retention.js';
import { recordMechanicRequest } from '../../kiosk/sync/command-store.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { openTempDb, sampleReservation } from '../helpers/store.js';

const T0 = new Date('2026-11-28T12:00:00.000Z');
const HOUR = 3_600_000;

t.test('tokens older than a day are deleted by the sweep; younger ones stay; a deleted nonce cannot be burnt', async (t) => {
  const { db } = await openTempDb(t);
  const stamps = { wallClock: () => T0, monoClock: () => 0, bootId: 'boot-1' };
  const mechanic = createMechanicStore(db, stamps);
  await db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation({ id: 'r-1', status: 'deposited' }));
    await recordMechanicRequest(tx, { requestId: 'req-1', commandId: 'c-1', reservationId: 'r-1', purpose: 'retrieve', tabletId: 'tablet-1' }, T0);
  });
  const issue = (nonce: string, ageMs: number) =>
    mechanic.transaction((_j, m) => m.tokenIssued({ nonce, requestId: 'req-1', tabletId: 'tablet-1', bootId: 'boot-1', issuedMono: 0, at: new Date(T0.getTime() - ageMs).toISOString() }));
  await issue('old-used', MECHANIC_TOKEN_KEEP_MS + HOUR);
  await issue('old-unused', MECHANIC_TOKEN_KEEP_MS + 1);
  await issue('recent', 2 * HOUR);
  await mechanic.transaction((_j, m) => m.burnNonce('old-used', T0.toISOString()));

  const clock = createFakeClock(0);
  const retention = startRetention({
    db,
    clock,
    wallClock: () => T0,
    settings: { personalDataDays: 7, ackedEventsDays: 1, sweepIntervalMs: HOUR },
    logger: createSilentLogger(),
  });
  t.teardown(() => retention.stop());
  const result = await retention.sweepNow();
  t.equal(result?.mechanicTokensDeleted, 2, 'two tokens older than a day deleted');
  const left = await db.all<{ nonce: string }>('SELECT nonce FROM mechanic_tokens ORDER BY nonce');
  t.same(left.map((row) => row.nonce), ['recent'], 'the recent one stays');
  t.equal(await mechanic.transaction((_j, m) => m.burnNonce('old-unused', T0.toISOString())), false, 'a purged nonce is refused (as a replay)');
  t.equal((await retention.sweepNow())?.mechanicTokensDeleted, 0, 'a second sweep finds nothing more');
});
