/**
 * Issue 8 at the reference back office: a locker's token connects once (finding 6), and PINs
 * are unique among a unit's active reservations (finding 7). The real server on 127.0.0.1
 * port 0; the test plays the locker with its own key.
 */
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { createSilentLogger } from '../../kiosk/logging.js';
import { SUBPROTOCOL } from '../../kiosk/sync/messages.js';
import { startReferenceBackOffice, type ReferenceBackOffice } from '../reference-backoffice/start.js';
import { AUDIENCE, UNIT, token as signToken, unitKeys, type UnitKeys } from '../helpers/fake-locker.js';

async function start(t: Test, pinGenerator?: () => string): Promise<{ bo: ReferenceBackOffice; privateKey: UnitKeys }> {
  const bo = await startReferenceBackOffice({
    dataDir: t.testdir(),
    host: '127.0.0.1',
    port: 0,
    audience: AUDIENCE,
    logger: createSilentLogger(),
    timeZone: 'Europe/Oslo',
    demo: false,
    pinCost: { N: 2 ** 10, r: 1, p: 1 },
    ...(pinGenerator ? { pinGenerator } : {}),
  });
  t.teardown(() => bo.stop());
  const keys = await unitKeys();
  await bo.registerUnit(UNIT, keys.publicJwk);
  return { bo, privateKey: keys };
}

/** A fresh token (its own jti) of the unit, with the kid of its registered key. */
function token(keys: UnitKeys): Promise<string> {
  return signToken(keys);
}

/** Connects; resolves with the open socket, or the HTTP status of the refusal. */
function connect(url: string, bearer: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, SUBPROTOCOL, { headers: { Authorization: `Bearer ${bearer}` } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

function closeCode(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => (ws.readyState === WebSocket.CLOSED ? resolve(-1) : ws.once('close', (code) => resolve(code))));
}

t.test('finding 6: a token connects once; a replay is refused and does not push the real unit off', async (t) => {
  const { bo, privateKey } = await start(t);
  const bearer = await token(privateKey);
  const first = await connect(bo.lockerUrl, bearer);
  if (typeof first === 'number') throw new Error(`refused: ${first}`);
  const closed = closeCode(first);
  t.equal(await connect(bo.lockerUrl, bearer), 401, 'the same token again, while the unit is connected: 401');
  t.equal(first.readyState, WebSocket.OPEN, 'the real connection stays');
  first.close();
  t.equal(await closed, 1005);
  t.equal(await connect(bo.lockerUrl, bearer), 401, 'and after it closed: still 401');

  // What a second connection with a fresh token does (docs/protocol.md): it replaces the first.
  const a = await connect(bo.lockerUrl, await token(privateKey));
  if (typeof a === 'number') throw new Error(`refused: ${a}`);
  const aClosed = closeCode(a);
  const b = await connect(bo.lockerUrl, await token(privateKey));
  if (typeof b === 'number') throw new Error(`refused: ${b}`);
  t.equal(await aClosed, 4000, 'the older connection is closed with 4000 (replaced)');
  b.close();
});

t.test('finding 7: PINs are unique among a unit\'s active reservations', async (t) => {
  const drawn = ['482913', '482913', '482913', '613370'];
  const { bo } = await start(t, () => drawn.shift() ?? '700001');
  const base = { kind: 'dropoff', workOrder: 'WO-1', plate: 'AB 12345', driverName: 'Kari Nordmann' };
  const first = await bo.service.createReservation({ ...base });
  t.equal(first.pin, '482913');
  const second = await bo.service.createReservation({ ...base, workOrder: 'WO-2' });
  t.equal(second.pin, '613370', 'a drawn PIN that is taken is drawn again');
  await t.rejects(bo.service.createReservation({ ...base, workOrder: 'WO-3', pin: '613370' }), { code: 'CONFLICT', field: 'pin' }, 'a staff-chosen PIN that collides is refused');
  await t.rejects(bo.service.createReservation({ ...base, workOrder: 'WO-3', pin: '12' }), { code: 'BAD_INPUT', field: 'pin' });
  await bo.service.cancelReservation(first.id);
  const third = await bo.service.createReservation({ ...base, workOrder: 'WO-4', pin: '482913' });
  t.equal(third.pin, '482913', 'once the first is cancelled its PIN is free again');
});
