/**
 * The reference back office's staff side (issue 10), over its HTTP API and WebSocket: remote
 * open and "ignore a help call" refuse bad input naming the field and store nothing; ignoring
 * is recorded per staff name and sends the locker nothing; the tablet's work-order feed needs
 * the tablet's credential (HTTP and WebSocket), and a revoked tablet's feed is closed.
 */
import t from 'tap';
import WebSocket from 'ws';
import { FEED_REVOKED } from '../reference-backoffice/tablet-feed.js';
import { UNIT, postJson, start, unitKeys } from '../helpers/fake-locker.js';

const commandCount = async (db: { get<T>(sql: string): Promise<T | undefined> }) => (await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM commands'))?.n ?? 0;

t.test('remote open: bad input is refused naming the field, nothing stored; a good one queues compartment.remote-open', async (t) => {
  const { bo, db } = await start(t);
  await bo.registerUnit(UNIT, (await unitKeys()).publicJwk);
  const path = (c: number | string, unit = UNIT) => `/api/units/${unit}/compartments/${c}/remote-open`;
  const cases: [string, unknown, string][] = [
    [path(3), { reason: '', by: 'Kari' }, 'reason'],
    [path(3), { reason: '   ', by: 'Kari' }, 'reason'],
    [path(3), { reason: 'x'.repeat(501), by: 'Kari' }, 'reason'],
    [path(3), { reason: 'bag left', by: '' }, 'by'],
    [path(3), { reason: 'bag left' }, 'by'],
    [path(3), { reason: 'bag left', by: 'Kari', extra: 1 }, 'extra'],
    [path(17), { reason: 'bag left', by: 'Kari' }, 'compartment'],
    [path('x'), { reason: 'bag left', by: 'Kari' }, 'compartment'],
    [path(3, 'no-such-unit'), { reason: 'bag left', by: 'Kari' }, 'unitId'],
  ];
  for (const [url, body, field] of cases) {
    const res = await postJson(bo.url, url, body);
    t.equal(res.status, 400, `${JSON.stringify(body)} -> 400`);
    t.equal(res.body.error.field, field, `names ${field}`);
  }
  t.equal(await commandCount(db), 0, 'nothing stored');
  const ok = await postJson(bo.url, path(3), { reason: 'bag left', by: 'Kari' });
  t.equal(ok.status, 202);
  const [command] = await bo.service.pendingCommands(UNIT);
  t.match(command, { id: ok.body.commandId, name: 'compartment.remote-open', args: { compartment: 3, reason: 'bag left', by: 'Kari' } });
});

t.test('ignore a help call: per staff name, nothing sent to the locker; bad input and closed calls refused', async (t) => {
  const { bo, db } = await start(t);
  await bo.registerUnit(UNIT, (await unitKeys()).publicJwk);
  const at = new Date().toISOString();
  await db.transaction(async (tx) => {
    await tx.run("INSERT INTO help_calls (call_id, unit_id, step, journey, event_seq, created_at, updated_at) VALUES ('call-1', ?, 'identify', 'dropoff', 1, ?, ?)", [UNIT, at, at]);
    await tx.run("INSERT INTO help_calls (call_id, unit_id, state, taken_by, event_seq, created_at, updated_at) VALUES ('call-2', ?, 'taken', 'Per', 2, ?, ?)", [UNIT, at, at]);
  });
  t.match(await postJson(bo.url, '/api/help/call-1/ignore', {}), { status: 400, body: { error: { field: 'staff' } } }, 'a staff name is required');
  t.match(await postJson(bo.url, '/api/help/call-1/ignore', { staff: ' ' }), { status: 400, body: { error: { field: 'staff' } } });
  t.match(await postJson(bo.url, '/api/help/call-1/ignore', { staff: 'x'.repeat(61) }), { status: 400, body: { error: { field: 'staff' } } });
  t.equal((await postJson(bo.url, '/api/help/nope/ignore', { staff: 'Ola' })).status, 404);
  t.equal((await postJson(bo.url, '/api/help/call-2/ignore', { staff: 'Ola' })).status, 409, 'a taken call cannot be ignored');
  t.same((await bo.service.staffState()).staff.ignoredHelp, [], 'nothing recorded');

  t.equal((await postJson(bo.url, '/api/help/call-1/ignore', { staff: 'Ola', unitId: UNIT })).status, 200);
  t.equal((await postJson(bo.url, '/api/help/call-1/ignore', { staff: 'Ola' })).status, 200, 'twice is fine');
  t.same((await bo.service.staffState()).staff.ignoredHelp, [{ unitId: UNIT, callId: 'call-1', staff: 'Ola' }], 'recorded for Ola only');
  t.equal(await commandCount(db), 0, 'the locker is not told');
  const taken = await postJson(bo.url, '/api/help/call-1/take', { by: 'Kari' });
  t.equal(taken.status, 200, 'Kari can still take it');
  t.same((await bo.service.staffState()).staff.ignoredHelp, [], 'a call no longer waiting is not listed as ignored');
});

t.test("the tablet's work-order feed needs its credential: HTTP and WebSocket; a revoked tablet's feed is closed", async (t) => {
  const { bo } = await start(t);
  const wsUrl = `${bo.url.replace('http', 'ws')}staff?view=tablet`;
  const refused = (protocols?: string[]) =>
    new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, protocols);
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => {
        socket.terminate();
        reject(new Error('the feed opened without a credential'));
      });
      socket.on('error', () => undefined);
    });
  t.equal((await fetch(new URL('/api/tablet', bo.url))).status, 401, 'HTTP without a credential: 401');
  t.equal(await refused(), 401, 'WebSocket without a credential: 401');
  t.equal(await refused(['keylocker.tablet', `kt1.${'A'.repeat(43)}`]), 401, 'WebSocket with an unknown credential: 401');

  const { code } = (await postJson(bo.url, '/api/tablets/enrolment-code', {})).body;
  const { credential, tabletId } = (await postJson(bo.url, '/api/tablets/enrol', { code, name: 'Bay 1' })).body;
  t.equal((await fetch(new URL('/api/tablet', bo.url), { headers: { Authorization: `Bearer ${credential}` } })).status, 200, 'HTTP with it: 200');

  const socket = new WebSocket(wsUrl, ['keylocker.tablet', credential]);
  t.teardown(() => socket.terminate());
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    socket.once('message', (data) => resolve(JSON.parse(String(data)) as Record<string, unknown>));
    socket.once('error', reject);
  });
  t.equal(first.type, 'tablet', 'WebSocket with it: the feed');
  t.equal(socket.protocol, 'keylocker.tablet', 'the credential is not echoed back');

  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  t.equal((await postJson(bo.url, `/api/tablets/${tabletId}/revoke`, {})).status, 200);
  bo.service.emit('changed'); // the next push finds the tablet revoked
  t.equal(await closed, FEED_REVOKED, 'a revoked tablet loses its feed');
});
