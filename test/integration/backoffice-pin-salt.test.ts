/**
 * Issue 13 at the reference back office: a unit's published PIN salt (hello.pinHashing) is used
 * for every new reservation, and live ones made before it are rehashed at the hello, so the
 * locker finds every PIN by index.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { indexOfHash, newUnitPinHashing, verifyPin } from '../../kiosk/core/pin.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { SUBPROTOCOL, type HelloMessage, type ReservationWire } from '../../kiosk/sync/messages.js';
import { startReferenceBackOffice, type ReferenceBackOffice } from '../reference-backoffice/start.js';

const AUDIENCE = 'test-backoffice';
const UNIT = 'unit-salt-1';

async function start(t: Test): Promise<{ bo: ReferenceBackOffice; privateKey: CryptoKey }> {
  const bo = await startReferenceBackOffice({
    dataDir: t.testdir(),
    port: 0,
    audience: AUDIENCE,
    logger: createSilentLogger(),
    timeZone: 'Europe/Oslo',
    demo: false,
    pinCost: { N: 2 ** 10, r: 1, p: 1 },
  });
  t.teardown(() => bo.stop());
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  await bo.registerUnit(UNIT, (await exportJWK(publicKey)) as JWK);
  return { bo, privateKey };
}

function token(privateKey: CryptoKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setIssuer(UNIT).setSubject(UNIT).setAudience(AUDIENCE).setIssuedAt(now).setExpirationTime(now + 240).setJti(randomUUID()).sign(privateKey);
}

function connect(url: string, bearer: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, SUBPROTOCOL, { headers: { Authorization: `Bearer ${bearer}` } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function hello(pinHashing?: HelloMessage['pinHashing']): HelloMessage {
  return {
    v: 1,
    type: 'hello',
    unitId: UNIT,
    softwareVersion: '0.1.0',
    bootId: 'boot-1',
    clock: { wall: new Date().toISOString(), synchronised: true },
    compartments: Array.from({ length: 16 }, (_, i) => ({ id: i + 1, state: 'free' as const, door: 'closed' as const, reservationId: null })),
    applied: { reservations: {}, payments: {} },
    outbox: { firstUnacked: null, nextSeq: 1 },
    ...(pinHashing ? { pinHashing } : {}),
  };
}

/** Frames from the back office, in order. */
function frames(ws: WebSocket): { next: (type: string) => Promise<Record<string, unknown>> } {
  const queue: Record<string, unknown>[] = [];
  const waiting: (() => void)[] = [];
  ws.on('message', (data) => {
    queue.push(JSON.parse(String(data)) as Record<string, unknown>);
    waiting.splice(0).forEach((wake) => wake());
  });
  return {
    async next(type) {
      for (let round = 0; round < 200; round += 1) {
        const index = queue.findIndex((m) => m.type === type);
        if (index >= 0) return queue.splice(index, 1)[0] as Record<string, unknown>;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiting.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      throw new Error(`no ${type} from the back office`);
    },
  };
}

t.test("issue 13: the unit's published salt is used for new reservations, and live ones are rehashed at hello", async (t) => {
  const { bo, privateKey } = await start(t);
  const before = await bo.service.createReservation({ kind: 'dropoff', workOrder: 'WO-1', plate: 'AB 12345', driverName: 'Kari Nordmann' });
  const unit = newUnitPinHashing({ N: 2 ** 10, r: 8, p: 1 });
  t.equal(indexOfHash(before.pinHash, unit), null, 'before the hello: a legacy hash (random salt)');

  const ws = await connect(bo.lockerUrl, await token(privateKey));
  t.teardown(() => ws.terminate());
  const inbox = frames(ws);
  ws.send(JSON.stringify(hello(unit)));
  await inbox.next('welcome');
  const upserts: ReservationWire[] = [];
  for (let i = 0; i < 2; i += 1) {
    const command = await inbox.next('command');
    upserts.push((command.args as { reservation: ReservationWire; version: number }).reservation);
  }
  const last = upserts.at(-1);
  t.equal(last?.id, before.id);
  t.not(indexOfHash(last?.pinHash ?? '', unit), null, 'rehashed with the unit salt, as a new version');
  t.equal(await verifyPin(before.pin, last?.pinHash ?? ''), true, 'the same PIN');

  const after = await bo.service.createReservation({ kind: 'pickup', workOrder: 'WO-2', plate: 'CD 34567', driverName: 'Ingrid Berg' });
  t.not(indexOfHash(after.pinHash, unit), null, 'after the hello: hashed with the unit salt');
});
