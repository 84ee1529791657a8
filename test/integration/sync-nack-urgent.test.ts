/**
 * Head-of-line blocking, undone: the back office can refuse one event for good (`nack`), the
 * locker records it (and /health shows it) and the stream moves on; and a help call is sent ahead
 * of any backlog, outside the window of unacknowledged events.
 */
import t, { type Test } from 'tap';
import { outbox } from '../../kiosk/store/repositories.js';
import type { ErrorMessage, EventMessage, LockerMessage } from '../../kiosk/sync/messages.js';
import type { SyncService } from '../../kiosk/sync/sync-service.js';
import { MiniBackOffice, waitFor, type MiniBackOfficeOptions } from '../helpers/mini-back-office.js';
import { lockerSide, UNIT_ID, type LockerSide } from '../helpers/sync.js';

const isEvent = (m: LockerMessage): m is EventMessage => m.type === 'event';
const isError = (m: LockerMessage): m is ErrorMessage => m.type === 'error';

async function backOffice(t: Test, side: LockerSide, options: Partial<MiniBackOfficeOptions> = {}): Promise<MiniBackOffice> {
  const bo = new MiniBackOffice({ publicKeyJwk: side.identity.publicKeyJwk, unitId: UNIT_ID, ...options });
  await bo.listen();
  t.teardown(() => bo.close());
  return bo;
}

function online(sync: SyncService): Promise<unknown> {
  return waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
}

t.test('a nack records the refusal, shows it in the status, and the back office acks past it', async (t) => {
  const side = await lockerSide(t);
  await side.store.transaction(async (tx) => {
    await tx.event('compartment.closed', { compartment: 1 });
    await tx.event('compartment.forced', { compartment: 2 });
    await tx.event('compartment.closed', { compartment: 3 });
  });
  const bo = await backOffice(t, side, { ack: false });
  const sync = side.makeSync(bo.url);
  const third = bo.nextMessage((m) => isEvent(m) && m.seq === 3);
  await sync.start();
  await third;

  const refused = waitFor(sync.events, 'refused', (seq) => seq, 5000, 'the refusal recorded');
  bo.send({ v: 1, type: 'nack', seq: 2, code: 'CONFLICT', reason: 'compartment 2 is not one this back office knows' });
  t.equal(await refused, 2);
  const acked = waitFor(sync.events, 'acked', (seq) => (seq >= 3 ? true : undefined), 5000, 'ack 3');
  bo.send({ v: 1, type: 'ack', seq: 3 });
  await acked;
  t.equal(await outbox.pendingCount(side.db), 0, 'the stream moved past the refused event');
  const status = await sync.status();
  t.match(status.refusedEvents, {
    count: 1,
    latest: [{ seq: 2, type: 'compartment.forced', code: 'CONFLICT', reason: 'compartment 2 is not one this back office knows', refusedAt: /^\d{4}-/ }],
  });

  // A repeated nack is recorded once; a nack of a seq never sent is refused.
  bo.send({ v: 1, type: 'nack', seq: 2, code: 'CONFLICT', reason: 'again' });
  const unsent = bo.nextMessage(isError);
  bo.send({ v: 1, type: 'nack', seq: 9, code: 'SCHEMA', reason: 'x' });
  t.match((await unsent).message, { code: 'CONFLICT', ref: '9', message: /not sent/ });
  t.equal((await sync.status()).refusedEvents.count, 1);
});

t.test('a help call does not wait behind a backlog of 10,000 events: it is sent at once, outside the window, and again in its place', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(10_000, 2500);
  // A back office that never acknowledges: the window (500) fills and stays full.
  const bo = await backOffice(t, side, { ack: false });
  const sync = side.makeSync(bo.url, { maxInFlight: 500 });
  const windowFull = bo.nextMessage((m) => isEvent(m) && m.seq === 500);
  await sync.start();
  await online(sync);
  await windowFull;

  const urgent = bo.nextMessage((m) => isEvent(m) && m.urgent === true);
  await side.store.transaction((tx) => tx.event('help.requested', { callId: 'call-9', step: 'place-key', journey: 'dropoff', compartment: 4 }));
  const { message, connection } = await urgent;
  t.match(message, { seq: 10_001, event: 'help.requested', urgent: true, payload: { callId: 'call-9' } });
  t.equal(Math.max(...connection.received.filter((m): m is EventMessage => isEvent(m) && !m.urgent).map((e) => e.seq)), 500, 'the stream is still at 500: the call went ahead of 9,500 waiting events');
  t.ok(isEvent(message) && validator(message), 'the urgent copy matches the schema');

  // It comes again in its place once the backlog drains (acknowledged as it arrives).
  const inPlace = bo.nextMessage((m) => isEvent(m) && m.seq === 10_001 && !m.urgent, 30_000);
  bo.events.on('message', (_c, m) => {
    if (isEvent(m) && !m.urgent && m.seq % 250 === 0) bo.send({ v: 1, type: 'ack', seq: m.seq });
  });
  bo.send({ v: 1, type: 'ack', seq: 500 });
  await inPlace;
  t.same(bo.urgentArrivals, [10_001], 'one urgent copy');
});

t.test('after a reconnect, pending help calls are sent first, before the backlog', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(1000, 1000);
  await side.store.transaction((tx) => tx.event('help.requested', { callId: 'call-1', step: 'welcome', journey: null, compartment: null }));
  await side.appendEvents(1000, 1000);
  const bo = await backOffice(t, side, { ack: false });
  const sync = side.makeSync(bo.url);
  const first = bo.nextMessage(isEvent);
  await sync.start();
  t.match((await first).message, { seq: 1001, event: 'help.requested', urgent: true }, 'the first event after the welcome');
});

import { validator as sharedValidator } from '../helpers/sync.js';
function validator(message: EventMessage): boolean {
  return sharedValidator().validateLockerMessage(message).ok;
}
