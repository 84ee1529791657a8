/**
 * A locker whose wall clock is days off still connects (docs/protocol.md, "Clock"): the back
 * office refuses its first token (HTTP 401, CLOCK_SKEW, its own time in the body and the Date
 * header), the locker stamps its next token with that time and is accepted at once; the
 * welcome's serverTime then feeds the clock status, so the locker knows its clock is not to be
 * trusted (events say clockSynchronised: false).
 */
import t from 'tap';
import type { EventMessage, LockerMessage } from '../../kiosk/sync/messages.js';
import { MiniBackOffice, waitFor } from '../helpers/mini-back-office.js';
import { lockerSide, UNIT_ID } from '../helpers/sync.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const isEvent = (m: LockerMessage): m is EventMessage => m.type === 'event';

for (const [label, skewMs] of [['three days behind', -3 * DAY_MS], ['two days ahead', 2 * DAY_MS]] as const) {
  t.test(`a locker whose clock is ${label} is refused once, then connects with the back office's time`, async (t) => {
    const side = await lockerSide(t);
    await side.appendEvents(1, 1);
    const bo = new MiniBackOffice({ publicKeyJwk: side.identity.publicKeyJwk, unitId: UNIT_ID, ack: false });
    await bo.listen();
    t.teardown(() => bo.close());
    const wallClock = (): Date => new Date(Date.now() + skewMs);
    // Backoff of a minute: only the immediate clock retry can connect within the test.
    const sync = side.makeSync(bo.url, { reconnectInitialMs: 60_000, reconnectMaxMs: 60_000, wallClock });
    const online = waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
    const event = bo.nextMessage(isEvent);
    await sync.start();
    await online;
    t.equal(bo.refusals, 1, 'refused once');
    t.equal(bo.refusalLog[0]?.code, 'CLOCK_SKEW');
    t.equal(bo.connections.length, 1, 'then accepted');
    const token = bo.connections[0]?.token;
    t.ok(Math.abs((token?.iat ?? 0) * 1000 - Date.now()) < 60_000, "the accepted token is stamped with the back office's time");
    const offset = sync.clockStatus.serverOffsetMs ?? 0;
    t.ok(Math.abs(offset - skewMs) < 10_000, `the offset is known (${Math.round(offset / 1000)} s)`);
    t.equal(sync.clockStatus.synchronised, false, 'and the clock is not trusted');
    t.match((await event).message, { at: { clockSynchronised: false } }, 'events say their wall time is not to be believed');
    t.match(await sync.status(), { clockSynchronised: false, clockOffsetMs: offset });
  });
}

t.test('a refusal that is not about the clock waits the backoff: no retry at once', async (t) => {
  const side = await lockerSide(t);
  const bo = new MiniBackOffice({ publicKeyJwk: side.identity.publicKeyJwk, unitId: UNIT_ID, audience: 'another-back-office' });
  await bo.listen();
  t.teardown(() => bo.close());
  const sync = side.makeSync(bo.url, { reconnectInitialMs: 60_000, reconnectMaxMs: 60_000 });
  const refused = waitFor(bo.events, 'refused', (_status, refusal) => refusal, 5000, 'a refusal');
  await sync.start();
  t.equal((await refused).code, 'UNAUTHORISED');
  t.equal(sync.clockStatus.serverOffsetMs, null, 'the clock was right: nothing learnt');
  await sync.stop();
  t.equal(bo.refusals, 1, 'no second attempt within the backoff');
});
