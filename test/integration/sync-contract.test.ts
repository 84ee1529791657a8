/**
 * The cases docs/protocol.md used to leave undefined, as the locker handles them: a command that
 * fails its schema (a SCHEMA result, not an error frame), fields the locker does not know (ignored),
 * an ack beyond what was sent, acks before the welcome, a second welcome, a welcome.ackedSeq
 * beyond the last seq this unit made or below the oldest it still holds.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { recordApplied } from '../../kiosk/sync/command-store.js';
import { contentHash } from '../../kiosk/sync/commands.js';
import { outbox, reservations } from '../../kiosk/store/repositories.js';
import type { ErrorMessage, EventMessage, LockerMessage, ResultMessage } from '../../kiosk/sync/messages.js';
import type { SyncService } from '../../kiosk/sync/sync-service.js';
import { MiniBackOffice, waitFor, type MiniBackOfficeOptions } from '../helpers/mini-back-office.js';
import { lockerSide, PIN_HASH, UNIT_ID, type LockerSide } from '../helpers/sync.js';

const isEvent = (m: LockerMessage): m is EventMessage => m.type === 'event';
const isError = (m: LockerMessage): m is ErrorMessage => m.type === 'error';
const isResult = (m: LockerMessage): m is ResultMessage => m.type === 'result';

async function connected(t: Test, side: LockerSide, options: Partial<MiniBackOfficeOptions> = {}): Promise<{ bo: MiniBackOffice; sync: SyncService }> {
  const bo = new MiniBackOffice({ publicKeyJwk: side.identity.publicKeyJwk, unitId: UNIT_ID, ...options });
  await bo.listen();
  t.teardown(() => bo.close());
  const sync = side.makeSync(bo.url);
  const online = options.welcome === false ? bo.nextConnection() : waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
  await sync.start();
  await online;
  return { bo, sync };
}

const reservation = (id: string, extra: Record<string, unknown> = {}) => ({
  id, code: `code-${id}`, kind: 'dropoff', workOrder: 'WO-1', plate: 'EL 12345', driverName: 'Test Person', phones: [], email: null,
  appointmentDate: '2025-03-14', appointmentTime: null, pinHash: PIN_HASH, compartmentId: null, paymentRequired: false, ...extra,
});

t.test('every command gets one result: one that fails its schema gets a SCHEMA result in its place, and its id stays free', async (t) => {
  const side = await lockerSide(t);
  const { bo } = await connected(t, side);
  const results: ResultMessage[] = [];
  bo.events.on('message', (_c, m) => void (isResult(m) && results.push(m)));
  const third = bo.nextMessage((m) => isResult(m) && m.commandId === 'c3');
  bo.send({ v: 1, type: 'command', id: 'c1', name: 'reservation.upsert', args: { reservation: reservation('r-1'), version: 1 } });
  bo.send({ v: 1, type: 'command', id: 'c2', name: 'reservation.cancel', args: { reservationId: 'r-1', version: 'nine' } });
  bo.send({ v: 1, type: 'command', id: 'c2b', name: 'reservation.teleport', args: {} });
  bo.send({ v: 1, type: 'command', id: 'c3', name: 'reservation.reset', args: { reservationId: 'r-1', code: 'code-r-1' } });
  await third;
  t.same(results.map((r) => [r.commandId, r.ok, r.error?.code ?? null]), [
    ['c1', true, null],
    ['c2', false, 'SCHEMA'],
    ['c2b', false, 'SCHEMA'],
    ['c3', true, null],
  ], 'results in the order the commands came, one each');
  t.match(results[1]?.error?.message, /^args\.version must be integer$/, 'the message names the field');
  t.match(results[2]?.error?.message, /^name /);
  t.notOk(bo.connections[0]?.received.some(isError), 'no error frame for a command with an id');
  t.equal((await side.db.all('SELECT id FROM applied_commands WHERE id IN (?, ?)', ['c2', 'c2b'])).length, 0, 'not remembered');

  const fixed = bo.nextMessage((m) => isResult(m) && m.commandId === 'c2');
  bo.send({ v: 1, type: 'command', id: 'c2', name: 'reservation.cancel', args: { reservationId: 'r-1', version: 2 } });
  t.match((await fixed).message, { ok: true, result: { applied: true, status: 'cancelled' } }, 'the same id with valid content applies');
});

t.test('fields the locker does not know are ignored, at every level', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(2, 2);
  const { bo, sync } = await connected(t, side, { welcome: false });
  bo.send({ v: 1, type: 'welcome', serverTime: new Date().toISOString(), ackedSeq: 0, region: 'north', features: { nack: true } });
  await waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 5000, 'online');
  await bo.nextMessage((m) => isEvent(m) && m.seq === 2);
  const acked = waitFor(sync.events, 'acked', (seq) => (seq >= 2 ? true : undefined), 5000, 'ack 2');
  bo.send({ v: 1, type: 'ack', seq: 2, receivedAt: 'now' });
  await acked;
  const result = bo.nextMessage(isResult);
  bo.send({
    v: 1, type: 'command', id: 'c-extra', name: 'reservation.upsert', priority: 'high',
    args: { reservation: reservation('r-extra', { colour: 'blue', loyalty: { tier: 2 } }), version: 1, source: 'dms-7' },
  });
  t.match((await result).message, { commandId: 'c-extra', ok: true, result: { applied: true, created: true } });
  t.match(await reservations.getById(side.db, 'r-extra'), { workOrder: 'WO-1' });
  t.notOk(bo.connections[0]?.received.some(isError), 'no error for any of them');
});

t.test('an ack beyond what was sent is refused (error CONFLICT) and marks nothing; acks and nacks before the welcome too', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(3, 3);
  const { bo, sync } = await connected(t, side, { welcome: false, ack: false });
  const early = bo.nextMessage(isError);
  bo.send({ v: 1, type: 'ack', seq: 1 });
  t.match((await early).message, { code: 'CONFLICT', ref: '1', message: /before the welcome/ });
  const earlyNack = bo.nextMessage(isError);
  bo.send({ v: 1, type: 'nack', seq: 1, code: 'SCHEMA', reason: 'x' });
  t.match((await earlyNack).message, { code: 'CONFLICT', ref: '1' });

  const third = bo.nextMessage((m) => isEvent(m) && m.seq === 3);
  bo.send({ v: 1, type: 'welcome', serverTime: new Date().toISOString(), ackedSeq: 0 });
  await third;
  const beyond = bo.nextMessage(isError);
  bo.send({ v: 1, type: 'ack', seq: 7 });
  t.match((await beyond).message, { v: 1, type: 'error', code: 'CONFLICT', ref: '7', message: /beyond the last sent on this connection \(3\)/ });
  t.equal(await outbox.pendingCount(side.db), 3, 'nothing marked delivered');

  // Still works: a true ack after it.
  const acked = waitFor(sync.events, 'acked', (seq) => (seq >= 3 ? true : undefined), 5000, 'ack 3');
  bo.send({ v: 1, type: 'ack', seq: 3 });
  await acked;
  t.equal(await outbox.pendingCount(side.db), 0);
  // A fourth event is not yet sent: an ack of 4 is beyond.
  const again = bo.nextMessage(isError);
  bo.send({ v: 1, type: 'ack', seq: 4 });
  t.match((await again).message, { code: 'CONFLICT', ref: '4' });
});

t.test('a second welcome on one connection is refused (error CONFLICT) and changes nothing', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(4, 4);
  const { bo } = await connected(t, side, { ack: false });
  const connection = bo.connections[0];
  await bo.nextMessage((m) => isEvent(m) && m.seq === 4);
  const error = bo.nextMessage(isError);
  bo.send({ v: 1, type: 'welcome', serverTime: new Date().toISOString(), ackedSeq: 2 });
  t.match((await error).message, { code: 'CONFLICT', message: /second welcome/ });
  t.equal(await outbox.pendingCount(side.db), 4, 'its ackedSeq marked nothing');
  t.same(connection?.received.filter(isEvent).map((e) => e.seq), [1, 2, 3, 4], 'nothing sent again');
  t.equal(connection?.closedAt, null, 'the connection goes on');
});

t.test('a welcome.ackedSeq beyond the last seq this unit made: the sequence moves past it, undelivered events are renumbered, none is lost', async (t) => {
  const side = await lockerSide(t);
  await side.store.transaction(async (tx) => {
    await tx.event('compartment.closed', { compartment: 1 });
    await tx.event('compartment.closed', { compartment: 2 });
    await tx.event('compartment.closed', { compartment: 3 });
  });
  await side.db.transaction((tx) => outbox.ackUpTo(tx, 1, new Date()));
  // The back office already holds seqs up to 40 (from this unit's database before it was replaced).
  const { bo } = await connected(t, side, { ackedSeq: 40, ack: false });
  const arrived = await bo.nextMessage((m) => isEvent(m) && m.seq === 42);
  const received = arrived.connection.received.filter(isEvent);
  t.same(received.map((e) => [e.seq, e.payload['compartment']]), [[41, 2], [42, 3]], 'the two undelivered events, in order, under new seqs');
  const next = bo.nextMessage((m) => isEvent(m) && m.seq === 43);
  await side.store.transaction((tx) => tx.event('compartment.closed', { compartment: 4 }));
  t.match((await next).message, { payload: { compartment: 4 } }, 'new events continue after them');
  t.same((await side.db.all<{ seq: number }>('SELECT seq FROM outbox WHERE acked_at IS NULL ORDER BY seq')).map((r) => r.seq), [41, 42, 43]);
});

t.test('a welcome.ackedSeq below the oldest event still held: what is held is sent, acknowledged or not', async (t) => {
  const side = await lockerSide(t);
  await side.appendEvents(6, 6);
  await side.db.transaction(async (tx) => {
    await outbox.ackUpTo(tx, 5, new Date());
    await tx.run('DELETE FROM outbox WHERE seq <= 2'); // purged after their ack
  });
  const hello = await side.makeSync('ws://127.0.0.1:1/x').buildHello();
  t.match(hello.outbox, { firstUnacked: 6, firstHeld: 3, nextSeq: 7 }, 'the hello says what is gone for good');
  // A back office restored from a backup: it holds nothing.
  const { bo } = await connected(t, side, { ackedSeq: 0, ack: false });
  const sixth = await bo.nextMessage((m) => isEvent(m) && m.seq === 6);
  t.same(sixth.connection.received.filter(isEvent).map((e) => e.seq), [3, 4, 5, 6], 'seqs 3-5 again (acknowledged but still held), then 6');
});

t.test('command ids are remembered for 30 days after their answer, and purged only while the clock is trusted', async (t) => {
  const side = await lockerSide(t);
  const day = 24 * 60 * 60 * 1000;
  const args = { reservationId: 'nope', version: 2 };
  const outcome = { ok: false, error: { code: 'NOT_FOUND', message: 'reservation nope is not known to this locker' } };
  await side.db.transaction(async (tx) => {
    await recordApplied(tx, { id: 'old', name: 'reservation.cancel', contentHash: contentHash('reservation.cancel', args), outcome }, new Date(Date.now() - 31 * day));
    await recordApplied(tx, { id: 'recent', name: 'reservation.cancel', contentHash: contentHash('reservation.cancel', args), outcome }, new Date(Date.now() - 29 * day));
  });
  const ids = async (): Promise<string[]> => (await side.db.all<{ id: string }>('SELECT id FROM applied_commands ORDER BY id')).map((r) => r.id);

  const untrusted = side.makeSync('ws://127.0.0.1:1/locker', { reconnectInitialMs: 60_000, reconnectMaxMs: 60_000 });
  await untrusted.start();
  await untrusted.stop();
  t.same(await ids(), ['old', 'recent'], 'an untrusted clock purges nothing (it could be far ahead)');

  const flag = join(side.dir, 'synchronized');
  await writeFile(flag, '');
  const trusted = side.makeSync('ws://127.0.0.1:1/locker', { reconnectInitialMs: 60_000, reconnectMaxMs: 60_000, timesyncFlagPath: flag });
  await trusted.start();
  await trusted.stop();
  t.same(await ids(), ['recent'], 'answered more than 30 days ago: forgotten; within: kept');
  t.same(await trusted.commands.apply({ v: 1, type: 'command', id: 'recent', name: 'reservation.cancel', args: { reservationId: 'nope', version: 3 } }), {
    v: 1, type: 'result', commandId: 'recent', ok: false, error: { code: 'DUPLICATE_ID', message: 'command id recent was already used for other content' },
  }, 'a remembered id still belongs to its content');
});
