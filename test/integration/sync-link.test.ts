/**
 * The locker's link to a back office, against a small in-test `ws` back office on 127.0.0.1:
 * authentication, the hello, replay after welcome, acks, reconnects, a half-open connection,
 * and frames the locker must refuse without changing anything.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { JWK } from 'jose';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { outbox, reservations } from '../../kiosk/store/repositories.js';
import { loadOrCreateIdentity } from '../../kiosk/sync/identity.js';
import { digestOf } from '../../kiosk/sync/inventory.js';
import { BackOfficeLink, checkBackOfficeUrl, LinkConfigError } from '../../kiosk/sync/link.js';
import type { ErrorMessage, EventMessage, LockerMessage, ResultMessage } from '../../kiosk/sync/messages.js';
import type { SyncService } from '../../kiosk/sync/sync-service.js';
import { isHello, MiniBackOffice, waitFor, type MiniBackOfficeOptions } from '../helpers/mini-back-office.js';
import { createFakeClock } from '../fakes/fake-clock.js';
import { sampleReservation } from '../helpers/store.js';
import { lockerSide, PIN_HASH, UNIT_ID, validator } from '../helpers/sync.js';

async function backOffice(t: Test, publicKeyJwk: JWK, options: Partial<MiniBackOfficeOptions> = {}): Promise<MiniBackOffice> {
  const bo = new MiniBackOffice({ publicKeyJwk, unitId: UNIT_ID, ...options });
  await bo.listen();
  t.teardown(() => bo.close());
  return bo;
}

function onlineOnce(sync: SyncService): Promise<void> {
  if (sync.state === 'online') return Promise.resolve();
  return waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online').then(() => undefined);
}

const isEvent = (m: LockerMessage): m is EventMessage => m.type === 'event';
const isError = (m: LockerMessage): m is ErrorMessage => m.type === 'error';
const isResult = (m: LockerMessage): m is ResultMessage => m.type === 'result';

t.test('plain ws:// is refused to anything but a loopback address', async (t) => {
  for (const url of ['ws://example.com/locker', 'ws://10.0.0.1:8090/locker', 'ws://192.168.1.20/locker', 'ws://[fe80::1]/locker', 'ws://127.example.com/']) {
    t.throws(() => checkBackOfficeUrl(url), LinkConfigError, url);
  }
  t.throws(() => checkBackOfficeUrl('ws://dms.example.com/locker'), { message: /plain ws:\/\/ to dms\.example\.com.*use wss:\/\//s });
  t.throws(() => checkBackOfficeUrl('http://example.com/'), { message: /must be wss:\/\// });
  t.throws(() => checkBackOfficeUrl('not a url'), LinkConfigError);
  for (const url of ['ws://127.0.0.1:8090/locker', 'ws://127.1.2.3/', 'ws://localhost:1/', 'ws://[::1]:8090/locker', 'wss://dms.example.com/locker']) {
    t.doesNotThrow(() => checkBackOfficeUrl(url), url);
  }
  const side = await lockerSide(t);
  t.throws(() => side.makeSync('ws://203.0.113.7/locker'), LinkConfigError, 'the service refuses to be built with such a URL');
  t.throws(
    () =>
      new BackOfficeLink({
        url: 'wss://127.0.0.1:1/',
        caFile: `${side.dir}/missing-ca.pem`,
        pingIntervalMs: 1000,
        reconnectInitialMs: 100,
        reconnectMaxMs: 1000,
        token: async () => 'x',
        validator: validator(),
        logger: createSilentLogger(),
      }).start(),
    { message: /caFile .*missing-ca\.pem cannot be read: ENOENT/ },
  );
});

t.test('connects with the subprotocol and a valid bearer token; the hello says where the locker stands', async (t) => {
  const testStartedAt = Date.now();
  const side = await lockerSide(t);
  await side.db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation({ id: 'r-hello', code: 'H1', version: 3, paymentVersion: 2, appointmentDate: new Date().toISOString().slice(0, 10) }));
  });
  await side.appendEvents(3, 3);
  await side.db.transaction((tx) => outbox.ackUpTo(tx, 1, new Date()));

  const bo = await backOffice(t, side.identity.publicKeyJwk, { welcome: false });
  const sync = side.makeSync(bo.url);
  const helloArrives = bo.nextMessage(isHello);
  await sync.start();
  const { message: hello, connection } = await helloArrives;

  t.equal(connection.protocol, 'keylocker.v1');
  t.equal(connection.token.iss, UNIT_ID);
  t.equal(connection.token.sub, UNIT_ID);
  t.equal(connection.token.aud, 'keylocker-backoffice');
  t.ok((connection.token.exp ?? 0) - (connection.token.iat ?? 0) <= 300);
  t.match(hello, {
    v: 1,
    type: 'hello',
    unitId: UNIT_ID,
    softwareVersion: '0.1.0-test',
    bootId: side.bootId,
    clock: { synchronised: false },
    timeZone: 'Europe/Oslo',
    link: { pingIntervalMs: 5000, maxInFlight: 500 },
    inventory: { count: 1, digest: digestOf([{ id: 'r-hello', version: 3, paymentVersion: 2 }]) },
    outbox: { firstUnacked: 2, firstHeld: 1, nextSeq: 4 },
  });
  const helloWall = Date.parse(hello.clock.wall);
  t.ok(helloWall >= testStartedAt - 1000 && helloWall <= Date.now() + 1000, 'the hello carries the wall time it was sent at');
  t.same(hello.compartments, [
    { id: 1, state: 'free', door: 'open', reservationId: null },
    { id: 2, state: 'free', door: 'closed', reservationId: null },
    { id: 3, state: 'free', door: 'closed', reservationId: null },
    { id: 4, state: 'free', door: 'closed', reservationId: null },
  ]);
  const checked = validator().validateLockerMessage(hello);
  t.ok(checked.ok, `the hello matches the published schema${checked.ok ? '' : `: ${checked.message}`}`);
  t.equal(sync.state, 'connecting', 'not online until welcomed');
  await sync.stop();
});

t.test('a back office that refuses the token gets retried with backoff and never sees the link online', async (t) => {
  const side = await lockerSide(t);
  const stranger = await loadOrCreateIdentity(`${side.dir}/stranger`, UNIT_ID);
  const bo = await backOffice(t, stranger.publicKeyJwk);
  const sync = side.makeSync(bo.url);
  let online = false;
  sync.events.on('state', (s) => (online ||= s === 'online'));
  await sync.start();
  await waitFor(bo.events, 'refused', () => (bo.refusals >= 3 ? true : undefined), 10_000, 'three refusals');
  t.equal(bo.connections.length, 0, 'no upgrade with a wrong key');
  t.notOk(online);
  t.not(sync.state, 'online');
  await sync.stop();
});

t.test('after welcome: events up to ackedSeq are marked delivered, the rest replayed in order; acks mark them delivered', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(5, 5);
  const bo = await backOffice(t, side.identity.publicKeyJwk, { ackedSeq: 2, ack: false });
  const sync = side.makeSync(bo.url);
  const fifth = bo.nextMessage((m) => isEvent(m) && m.seq === 5);
  await sync.start();
  const { connection } = await fifth;
  t.same(connection.received.filter(isEvent).map((e) => e.seq), [3, 4, 5], 'only what the back office lacks, in order');
  const first = connection.received.find(isEvent);
  t.match(first, { v: 1, type: 'event', seq: 3, event: 'compartment.closed', at: { bootId: side.bootId, clockSynchronised: false }, payload: { compartment: 4 } });
  t.ok(connection.received.filter(isEvent).every((e) => validator().validateLockerMessage(e).ok), 'events match the published schema');
  t.equal(await outbox.pendingCount(side.db), 3, 'events 1-2 marked delivered at welcome');

  // An ack marks delivered up to its seq (written asynchronously: wait for the count).
  const recorded = waitFor(sync.events, 'acked', (seq) => (seq >= 4 ? seq : undefined), 5000, 'ack 4 recorded');
  bo.send({ v: 1, type: 'ack', seq: 4 });
  await recorded;
  t.equal(await outbox.pendingCount(side.db), 1);
  t.equal((await outbox.oldestPending(side.db))?.seq, 5);

  // New events go out as soon as their transaction commits.
  const sixth = bo.nextMessage((m) => isEvent(m) && m.seq === 6);
  await side.store.transaction((tx) => tx.event('compartment.forced', { compartment: 2 }));
  const { message: six } = await sixth;
  t.match(six, { seq: 6, event: 'compartment.forced', payload: { compartment: 2 } });
  await sync.stop();
});

t.test('reconnects after the back office drops the connection, with a fresh token, and resends what was not acknowledged', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(3, 3);
  const bo = await backOffice(t, side.identity.publicKeyJwk, { ack: false });
  const sync = side.makeSync(bo.url);
  const third = bo.nextMessage((m) => isEvent(m) && m.seq === 3);
  await sync.start();
  const { connection: first } = await third;

  // The back office crashed before it stored them: after the reconnect it holds nothing.
  bo.stored.clear();
  bo.contiguous = 0;
  const reconnected = bo.nextConnection();
  const resent = bo.nextMessage((m, c) => c !== first && isEvent(m) && m.seq === 3);
  bo.dropAll();
  const second = await reconnected;
  await resent;
  t.not(second.token.jti, first.token.jti, 'a new token for the new connection');
  t.ok(second.received.some(isHello), 'hello again');
  t.same(second.received.filter(isEvent).map((e) => e.seq), [1, 2, 3], 'unacknowledged events sent again, in order');
  await onlineOnce(sync);
  t.equal(sync.state, 'online');
  const status = await sync.status();
  t.match(status, { state: 'online', outboxPending: 3, clockSynchronised: true });
  t.type(status.lastConnectedAt, 'string');
  t.ok(status.oldestPendingAgeS !== null && status.oldestPendingAgeS >= 0);
  await sync.stop();
  t.equal(sync.state, 'offline');
});

t.test('a half-open connection (pings never answered) is terminated at the second tick of the ping timer', async (t) => {
  // The ping timer runs on a fake clock: the test, not the machine's load, decides when a tick
  // comes, so "within two intervals" is checked as "at the second tick", never as a time.
  const side = await lockerSide(t);
  const bo = await backOffice(t, side.identity.publicKeyJwk, { autoPong: false });
  const pingIntervalMs = 200;
  const clock = createFakeClock(Date.now());
  const sync = side.makeSync(bo.url, { pingIntervalMs, reconnectInitialMs: 60_000, reconnectMaxMs: 60_000, clock });
  await sync.start();
  await onlineOnce(sync);
  const first = bo.connections[0];
  if (!first) throw new Error('no connection');
  const offline = waitFor(sync.events, 'state', (s) => (s !== 'online' ? s : undefined), 20_000, 'the link to go down');
  const closed = waitFor(bo.events, 'close', (c) => (c === first ? c : undefined), 20_000, 'the close');
  await clock.fake.tickAsync(pingIntervalMs - 1);
  t.equal(sync.state, 'online', 'no ping is due before the first interval');
  await clock.fake.tickAsync(1);
  t.equal(sync.state, 'online', 'first tick: a ping goes out; one unanswered ping is not yet a dead link');
  t.equal(first.closedAt, null, 'the back office still holds the connection');
  await clock.fake.tickAsync(pingIntervalMs);
  t.not(await offline, 'online', 'second tick with the ping unanswered: the link is down');
  t.ok((await closed).closedAt !== null, 'the back office sees the connection closed');
  await sync.stop();
});

t.test('a back office that never sends welcome is given up on and retried', async (t) => {
  const side = await lockerSide(t);
  const bo = await backOffice(t, side.identity.publicKeyJwk, { welcome: false });
  const sync = side.makeSync(bo.url, { pingIntervalMs: 1000, welcomeTimeoutMs: 150 });
  await sync.start();
  await waitFor(bo.events, 'connection', () => (bo.connections.length >= 2 ? true : undefined), 5000, 'a second connection');
  t.ok(bo.connections[0]?.closedAt !== null, 'the first was closed');
  await sync.stop();
});

t.test('bad frames get an error answer, change nothing, and the link stays up', async (t) => {
  const side = await lockerSide(t);
  await side.db.transaction((tx) => reservations.upsert(tx, sampleReservation({ id: 'r-keep', code: 'K1' })));
  await side.appendEvents(2, 2);
  const bo = await backOffice(t, side.identity.publicKeyJwk, { ack: false });
  const sync = side.makeSync(bo.url);
  const second = bo.nextMessage((m) => isEvent(m) && m.seq === 2);
  await sync.start();
  await onlineOnce(sync);
  const { connection } = await second;
  const snapshot = async (): Promise<unknown> => ({
    reservations: await side.db.all('SELECT * FROM reservations ORDER BY id'),
    compartments: await side.db.all('SELECT * FROM compartments ORDER BY id'),
    outbox: await side.db.all('SELECT seq, acked_at FROM outbox ORDER BY seq'),
    applied: await side.db.all('SELECT * FROM applied_commands'),
    help: await side.db.all('SELECT * FROM help_calls'),
  });
  const before = await snapshot();

  const cases: { name: string; frame: unknown; code: string; ref?: string | null }[] = [
    { name: 'not JSON', frame: '{"v":1,"type":', code: 'MALFORMED' },
    { name: 'JSON but not an object', frame: '[1,2,3]', code: 'MALFORMED' },
    { name: 'unknown type', frame: { v: 1, type: 'teleport', seq: 1 }, code: 'UNKNOWN_TYPE' },
    { name: 'wrong version', frame: { v: 2, type: 'ack', seq: 1 }, code: 'UNSUPPORTED_VERSION' },
    { name: 'ack with a string seq', frame: { v: 1, type: 'ack', seq: 'two' }, code: 'SCHEMA' },
    {
      name: 'command without an id (no result can name it)',
      frame: { v: 1, type: 'command', name: 'reservation.cancel', args: { reservationId: 'r-keep', version: 9 } },
      code: 'SCHEMA',
    },
    {
      name: 'a command of version 2',
      frame: { v: 2, type: 'command', id: 'cmd-v2', name: 'reservation.cancel', args: { reservationId: 'r-keep', version: 9 } },
      code: 'UNSUPPORTED_VERSION',
      ref: 'cmd-v2',
    },
    {
      name: 'a cancel of r-keep inside a 65 KiB frame',
      frame: JSON.stringify({ v: 1, type: 'command', id: 'cmd-big', name: 'reservation.cancel', args: { reservationId: 'r-keep', version: 99 }, pad: 'x'.repeat(65 * 1024) }),
      code: 'TOO_LARGE',
    },
    { name: 'binary frame', frame: Buffer.from('{"v":1,"type":"ack","seq":2}'), code: 'MALFORMED' },
  ];
  for (const c of cases) {
    const answer = bo.nextMessage(isError);
    if (Buffer.isBuffer(c.frame)) connection.socket.send(c.frame, { binary: true });
    else bo.send(c.frame, connection);
    const { message } = await answer;
    t.match(message, { v: 1, type: 'error', code: c.code, ref: c.ref ?? null }, c.name);
    t.ok(validator().validateLockerMessage(message).ok, `${c.name}: the error matches its schema`);
  }
  t.equal(bo.connections.length, 1, 'still the first connection');
  t.equal(connection.closedAt, null, 'never closed');
  t.equal(sync.state, 'online');
  t.same(await snapshot(), before, 'nothing changed in the database');

  // And it still works: a good command gets its result on the same connection.
  const result = bo.nextMessage(isResult);
  bo.send({ v: 1, type: 'command', id: 'cmd-ok', name: 'reservation.reset', args: { reservationId: 'r-keep', code: 'K1' } }, connection);
  t.match((await result).message, { commandId: 'cmd-ok', ok: true });
  await sync.stop();
});

t.test('a command over the wire gets exactly one result, and the same result when repeated after a reconnect', async (t) => {
  const side = await lockerSide(t);
  const bo = await backOffice(t, side.identity.publicKeyJwk);
  const sync = side.makeSync(bo.url);
  await sync.start();
  await onlineOnce(sync);
  const command = {
    v: 1,
    type: 'command',
    id: 'cmd-upsert-1',
    name: 'reservation.upsert',
    args: {
      version: 1,
      reservation: {
        id: 'r-wire', code: 'W1', kind: 'dropoff', workOrder: 'WO-9', plate: 'el 12345', driverName: 'Test Person', phones: ['+4791234567'],
        email: null, appointmentDate: '2025-03-14', appointmentTime: '08:30', pinHash: PIN_HASH, compartmentId: null, paymentRequired: false,
      },
    },
  };
  const first = bo.nextMessage(isResult);
  bo.send(command);
  const { message: r1 } = await first;
  t.match(r1, { v: 1, type: 'result', commandId: 'cmd-upsert-1', ok: true, result: { applied: true, created: true } });
  t.ok(validator().validateLockerMessage(r1).ok, 'the result matches its schema');
  t.match(await reservations.getById(side.db, 'r-wire'), { plate: 'EL12345', plateDisplay: 'el 12345', version: 1 });

  const reconnected = bo.nextConnection();
  bo.dropAll();
  await reconnected;
  await onlineOnce(sync);
  const again = bo.nextMessage(isResult);
  bo.send(command);
  t.same((await again).message, r1, 'the stored result, word for word');
  t.equal(bo.connections.flatMap((c) => c.received).filter(isResult).length, 2, 'one result per command sent');
  await sync.stop();
});

t.test('an outbox event the published schema refuses is reported loudly (the back office will refuse it)', async (t) => {
  const side = await lockerSide(t);
  const lines: { level: number; msg: string; seq?: number; problem?: string }[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  // help.requested as kiosk/core/journeys.ts writes it today: no callId.
  await side.store.transaction((tx) => tx.event('help.requested', { session: 's-1', step: 'welcome', journey: null, compartment: null }));
  const bo = await backOffice(t, side.identity.publicKeyJwk, { ack: false });
  const sync = side.makeSync(bo.url, { logger });
  const sent = bo.nextMessage((m) => isEvent(m) && m.seq === 1);
  await sync.start();
  await sent;
  await sync.stop();
  await new Promise((resolve) => setImmediate(resolve));
  t.match(
    lines.find((l) => l.seq === 1),
    { level: 50, msg: /does not match the protocol schema/, problem: /payload\.callId is required/ },
  );
});

const opensslMissing = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0;

t.test(
  'wss:// with a pinned CA (backOffice.caFile): trusted with it, refused without it',
  { skip: opensslMissing ? 'openssl is needed to make a test certificate (apt-get install openssl)' : false },
  async (t) => {
    const side = await lockerSide(t);
    const dir = side.dir;
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-days', '1', '-subj', '/CN=back office test', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    t.equal(made.status, 0, 'test certificate made');
    const tls = { cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) };
    const bo = await backOffice(t, side.identity.publicKeyJwk, { tls });
    t.match(bo.url, /^wss:\/\/127\.0\.0\.1:/);

    const pinned = side.makeSync(bo.url, { caFile: join(dir, 'cert.pem') });
    await pinned.start();
    await onlineOnce(pinned);
    t.equal(pinned.state, 'online', 'the pinned CA is trusted');
    await pinned.stop();

    const unpinned = side.makeSync(bo.url, { caFile: null });
    let online = false;
    unpinned.events.on('state', (s) => (online ||= s === 'online'));
    const tries = waitFor(unpinned.events, 'state', (s) => (s === 'offline' ? true : undefined), 5000, 'a failed attempt');
    await unpinned.start();
    await tries;
    t.notOk(online, 'a certificate the system does not trust is refused');
    t.equal(bo.connections.length, 1, 'only the pinned client got through');
    await unpinned.stop();
  },
);
