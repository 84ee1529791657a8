/**
 * For the reference back office's tests: start it on 127.0.0.1 port 0 with a second connection
 * to its database, and play a locker against it with a tiny ws client (its own Ed25519 key, a
 * JWT signed with jose, `kid` its RFC 7638 thumbprint). Every message the back office sends is
 * checked against the published schemas. The fake locker answers `inventory.page` by itself from
 * `inventory` (what it pretends to hold), so tests see only the other commands.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import type { Test } from 'tap';
import WebSocket from 'ws';
import { startReferenceBackOffice, type ReferenceBackOffice } from '../reference-backoffice/start.js';
import { openBackOfficeDatabase } from '../reference-backoffice/store.js';
import { createSilentLogger, type Logger } from '../../kiosk/logging.js';
import type { Db } from '../../kiosk/store/db.js';
import { jwkThumbprint } from '../../kiosk/sync/identity.js';
import { digestOf } from '../../kiosk/sync/inventory.js';
import { SUBPROTOCOL, type HelloMessage, type InventoryItem } from '../../kiosk/sync/messages.js';
import { createValidator } from '../../kiosk/sync/validate.js';
import { scratchDir } from './scratch.js';

export const AUDIENCE = 'test-backoffice';
export const TIME_ZONE = 'Europe/Oslo';
export const UNIT = 'unit-test-1';
const LOW_COST = { N: 2 ** 10, r: 1, p: 1 };
const WAIT_MS = 20_000;
const { validateBackOfficeMessage } = createValidator();

export interface UnitKeys {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

export async function unitKeys(): Promise<UnitKeys> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, kid: jwkThumbprint({ kty: String(publicJwk.kty), crv: String(publicJwk.crv), x: String(publicJwk.x) }) };
}

export async function token(
  keys: UnitKeys,
  overrides: { unitId?: string; audience?: string; iat?: number; exp?: number; alg?: string; kid?: string | null } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const unitId = overrides.unitId ?? UNIT;
  return new SignJWT({})
    .setProtectedHeader({ alg: overrides.alg ?? 'EdDSA', ...(overrides.kid === null ? {} : { kid: overrides.kid ?? keys.kid }) })
    .setIssuer(unitId)
    .setSubject(unitId)
    .setAudience(overrides.audience ?? AUDIENCE)
    .setIssuedAt(overrides.iat ?? now)
    .setExpirationTime(overrides.exp ?? now + 240)
    .setJti(randomUUID())
    .sign(keys.privateKey);
}

export async function start(t: Test, options: { demo?: boolean; pingIntervalMs?: number; logger?: Logger } = {}): Promise<{ bo: ReferenceBackOffice; db: Db; dir: string }> {
  const dir = scratchDir(t);
  const bo = await startReferenceBackOffice({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    audience: AUDIENCE,
    logger: options.logger ?? createSilentLogger(),
    timeZone: TIME_ZONE,
    demo: options.demo ?? false,
    pinCost: LOW_COST,
    pingIntervalMs: options.pingIntervalMs ?? 60_000,
  });
  // A second connection to the same file, to look at the tables (WAL: readers do not block).
  const db = await openBackOfficeDatabase(join(dir, 'backoffice.db'), createSilentLogger());
  t.teardown(async () => {
    await bo.stop();
    await db.close();
  });
  return { bo, db, dir };
}

export type Received = Record<string, unknown> & { type: string };

/** The locker's side of one connection: every frame received is queued and schema-checked. */
export class FakeLocker {
  /** What this locker pretends to hold: inventory.page is answered from it, and the hello's digest is computed from it. */
  inventory: InventoryItem[] = [];
  /** inventory.page commands answered so far. */
  pagesServed = 0;
  /** Commands received, by id: an ok result sent for one updates `inventory` as a real locker's would. */
  readonly #commands = new Map<string, Received>();
  readonly invalid: string[] = [];
  readonly #queue: Received[] = [];
  readonly #waiters: ((message: Received) => void)[] = [];
  closed: Promise<number>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as Received;
      const checked = validateBackOfficeMessage(message);
      if (!checked.ok) this.invalid.push(`${message.type}: ${checked.message}`);
      if (message.type === 'command' && message['name'] === 'inventory.page') {
        this.#answerPage(message);
        return;
      }
      if (message.type === 'command') this.#commands.set(String(message['id']), message);
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#queue.push(message);
    });
    this.closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  }

  static async connect(url: string, bearer: string): Promise<FakeLocker> {
    const ws = new WebSocket(url, SUBPROTOCOL, { headers: { Authorization: `Bearer ${bearer}` } });
    const locker = new FakeLocker(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return locker;
  }

  /** The next frame, whatever it is; fails after WAIT_MS. */
  next(): Promise<Received> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new Error('no frame from the back office in time'));
      }, WAIT_MS);
      const waiter = (message: Received): void => {
        clearTimeout(timer);
        resolve(message);
      };
      this.#waiters.push(waiter);
    });
  }

  async nextN(n: number): Promise<Received[]> {
    const out: Received[] = [];
    for (let i = 0; i < n; i += 1) out.push(await this.next());
    return out;
  }

  pending(): number {
    return this.#queue.length;
  }

  send(message: unknown): void {
    const m = message as { type?: unknown; ok?: unknown; commandId?: unknown };
    if (m.type === 'result' && m.ok === true) this.#applied(this.#commands.get(String(m.commandId)));
    this.ws.send(JSON.stringify(message));
  }

  /** What an applied command changes in the inventory this locker pretends to hold. */
  #applied(command: Received | undefined): void {
    if (!command) return;
    const args = command['args'] as { reservation?: { id: string }; reservationId?: string; version?: number };
    const id = args.reservation?.id ?? args.reservationId;
    if (id === undefined || typeof args.version !== 'number') return;
    const item = this.inventory.find((i) => i.id === id) ?? { id, version: 0, paymentVersion: 0, status: 'booked' as const };
    if (!this.inventory.includes(item)) this.inventory.push(item);
    if (command['name'] === 'payment.status') item.paymentVersion = Math.max(item.paymentVersion, args.version);
    else if (command['name'] === 'reservation.upsert' || command['name'] === 'reservation.cancel') item.version = Math.max(item.version, args.version);
    if (command['name'] === 'reservation.cancel') item.status = 'cancelled';
  }

  #answerPage(command: Received): void {
    const { after, limit } = command['args'] as { after: string | null; limit: number };
    const sorted = [...this.inventory].sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
    const rest = after === null ? sorted : sorted.filter((item) => Buffer.compare(Buffer.from(item.id), Buffer.from(after)) > 0);
    const items = rest.slice(0, limit);
    const next = rest.length > limit ? (items[items.length - 1]?.id ?? null) : null;
    const last = next === null;
    this.pagesServed += 1;
    this.send({
      v: 1,
      type: 'result',
      commandId: command['id'],
      ok: true,
      result: { items, next, count: last ? this.inventory.length : null, digest: last ? digestOf(this.inventory) : null },
    });
  }

  /** hello (its inventory from `inventory` unless given), and the welcome it gets. */
  async hello(overrides: Partial<HelloMessage> = {}): Promise<Received> {
    this.send(hello({ inventory: { count: this.inventory.length, digest: digestOf(this.inventory) }, ...overrides }));
    const welcome = await this.next();
    if (welcome.type !== 'welcome') throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
    return welcome;
  }

  /**
   * Proof that nothing else is queued: frames of a connection are handled in order, so an
   * event's ack comes after anything the back office had to send before it.
   */
  async settle(seq: number, event: string = 'compartment.closed', payload: Record<string, unknown> = { compartment: 1 }): Promise<Received[]> {
    this.send(eventMessage(seq, event, payload));
    const before: Received[] = [];
    for (let i = 0; i < 100; i += 1) {
      const message = await this.next();
      if (message.type === 'ack') return before;
      before.push(message);
    }
    throw new Error('no ack');
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }
}

export function hello(overrides: Partial<HelloMessage> = {}): HelloMessage {
  return {
    v: 1,
    type: 'hello',
    unitId: UNIT,
    softwareVersion: '0.1.0',
    bootId: 'boot-1',
    clock: { wall: new Date().toISOString(), synchronised: true },
    timeZone: TIME_ZONE,
    link: { pingIntervalMs: 15_000, maxInFlight: 500 },
    compartments: Array.from({ length: 16 }, (_, i) => ({ id: i + 1, state: 'free' as const, door: 'closed' as const, reservationId: null })),
    inventory: { count: 0, digest: digestOf([]) },
    outbox: { firstUnacked: null, firstHeld: null, nextSeq: 1 },
    ...overrides,
  };
}

export function eventMessage(seq: number, event = 'compartment.closed', payload: Record<string, unknown> = { compartment: 1 }): Record<string, unknown> {
  return { v: 1, type: 'event', seq, event, at: { wall: new Date().toISOString(), mono: seq * 10, bootId: 'boot-1', clockSynchronised: true }, payload };
}

/** The upgrade's HTTP status when the back office refuses it. */
export function refusedStatus(url: string, headers: Record<string, string>, protocol: string | undefined = SUBPROTOCOL): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocol, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', () => undefined);
  });
}

export async function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(path, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

export async function counts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of ['reservations', 'commands', 'timeline', 'help_calls']) {
    out[table] = (await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n ?? -1;
  }
  return out;
}

export const DROPOFF = { kind: 'dropoff', workOrder: 'WO-7', plate: 'ab 12345', driverName: 'Kari Nordmann', phones: ['912 34 567'], email: 'kari@example.com', appointmentTime: '08:30' };

