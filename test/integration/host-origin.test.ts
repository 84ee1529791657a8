/**
 * Issue 8, finding 4: who may talk to the screens' server and to the reference back office.
 * DNS rebinding (a page of evil.example whose name now resolves to 127.0.0.1) sends its own
 * Host and Origin; a cross-origin page sends its Origin; a LAN host without the screens'
 * secret sends neither. Raw HTTP requests, so the headers are exactly what a browser sends.
 */
import { request } from 'node:http';
import t from 'tap';
import WebSocket from 'ws';
import { ConfigError, decodeConfig } from '../../kiosk/config/load.js';
import type { Locker } from '../../kiosk/locker.js';
import { withLocker } from '../helpers/locker.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  raw(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** Opens a WebSocket; resolves with 'open' or the HTTP status it was refused with. */
function upgrade(url: string, headers: Record<string, string> = {}): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => {
      socket.terminate();
      resolve('open');
    });
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
  });
}

const port = (locker: Locker) => new URL(locker.server.url).port;

t.test("the screens' server: a rebinding page, a cross-origin page and a cross-origin WebSocket are refused", async (t) => {
  const locker = await withLocker(t);
  const url = `${locker.server.url}/api/session`;
  const evilHost = `evil.example:${port(locker)}`;

  const rebinding = await postJson(url, { type: 'start', journey: 'pickup' }, { host: evilHost, origin: `http://${evilHost}` });
  t.equal(rebinding.status, 421, 'Host evil.example: Misdirected Request');
  const crossOrigin = await postJson(url, { type: 'start', journey: 'pickup' }, { origin: 'http://evil.example' });
  t.equal(crossOrigin.status, 403, 'Origin evil.example: Forbidden');
  const nullOrigin = await postJson(url, { type: 'start', journey: 'pickup' }, { origin: 'null' });
  t.equal(nullOrigin.status, 403, 'Origin null (a sandboxed frame): Forbidden');
  t.equal(locker.journeys.view().step, 'welcome', 'nothing was started');
  const sim = await postJson(`${locker.server.url}/api/sim`, { action: 'forceDoor', compartment: 1 }, { host: evilHost });
  t.equal(sim.status, 421, '/api/sim too');
  const read = await raw(`${locker.server.url}/api/session`, { headers: { host: evilHost } });
  t.equal(read.status, 421, 'and reads: a rebound page learns nothing');

  const sameOrigin = await postJson(url, { type: 'start', journey: 'pickup' }, { origin: locker.server.url });
  t.equal(sameOrigin.status, 200, 'the screen itself (same origin) is served');
  const localhost = await raw(`${locker.server.url}/health`, { headers: { host: `localhost:${port(locker)}` } });
  t.equal(localhost.status, 200, 'localhost is one of its names');

  const ws = `${locker.server.url.replace('http', 'ws')}/ws?screen=bottom`;
  t.equal(await upgrade(ws, { origin: 'http://evil.example' }), 403, 'a cross-origin WebSocket: 403');
  t.equal(await upgrade(ws, { host: evilHost }), 421, 'a rebound WebSocket: 421');
  t.equal(await upgrade(ws, { origin: locker.server.url }), 'open', 'the screen itself');
});

t.test('the reference back office: a rebinding request cannot mark a payment paid', async (t) => {
  const locker = await withLocker(t);
  const bo = locker.backOffice;
  const boPort = new URL(bo.url).port;
  const evil = `evil.example:${boPort}`;
  const path = `${bo.url}api/reservations/demo-pickup-unpaid/payment`;
  const rebinding = await postJson(path, { status: 'paid' }, { host: evil, origin: `http://${evil}` });
  t.equal(rebinding.status, 421);
  const state = await bo.service.staffState();
  t.equal(state.reservations.find((r) => r.id === 'demo-pickup-unpaid')?.paymentStatus, 'pending', 'still unpaid');
  t.equal((await postJson(path, { status: 'paid' }, { origin: 'http://evil.example' })).status, 403, 'cross-origin: 403');
  t.equal(await upgrade(`${bo.url.replace('http', 'ws')}staff`, { origin: 'http://evil.example' }), 403, 'the staff push (demo PINs) to another site: 403');
  t.equal(await upgrade(`${bo.url.replace('http', 'ws')}staff`, { host: evil }), 421);
  t.equal((await postJson(path, { status: 'paid' }, { origin: bo.url.replace(/\/$/, '') })).status, 200, 'the staff page itself may');
});

t.test("beyond loopback: an explicit setting and a secret, or the locker does not start", async (t) => {
  const refused = (raw: unknown, key: string) => {
    try {
      decodeConfig(raw, null);
      t.fail(`accepted: ${JSON.stringify(raw)}`);
    } catch (error) {
      t.ok(error instanceof ConfigError, 'a ConfigError');
      t.match((error as Error).message, new RegExp(`key "${key.replace('.', '\\.')}"`), `names ${key}`);
    }
  };
  refused({ server: { host: '0.0.0.0' } }, 'server.allowNonLoopback');
  refused({ server: { host: '192.168.1.20', allowNonLoopback: true } }, 'server.screenSecret');
  refused({ server: { host: '0.0.0.0', allowNonLoopback: true, screenSecret: 'short' } }, 'server.screenSecret');
  t.doesNotThrow(() => decodeConfig({ server: { host: '0.0.0.0', allowNonLoopback: true, screenSecret: 'k'.repeat(32) } }, null));
  t.doesNotThrow(() => decodeConfig({ server: { host: '127.0.0.2' } }, null), 'any loopback address needs neither');
});

t.test("with a screens' secret, a screen presents it once and keeps it as a cookie", async (t) => {
  const secret = 's3cret-'.repeat(6);
  const locker = await withLocker(t, { server: { host: '127.0.0.1', port: 0, screenSecret: secret } });
  const base = locker.server.url;
  t.equal((await raw(`${base}/bottom/`)).status, 401, 'no key: 401');
  t.equal((await postJson(`${base}/api/session`, { type: 'start', journey: 'pickup' })).status, 401);
  t.equal((await raw(`${base}/bottom/?screenKey=wrong`)).status, 401, 'a wrong key: 401');
  t.equal((await raw(`${base}/health`)).status, 200, 'health stays open (no personal data)');
  const first = await raw(`${base}/bottom/?screenKey=${encodeURIComponent(secret)}`);
  t.equal(first.status, 303, 'the key is accepted, and the URL cleaned of it');
  t.equal(first.headers.location, '/bottom/');
  const cookie = String(first.headers['set-cookie']).split(';')[0] ?? '';
  t.match(String(first.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
  t.equal((await raw(`${base}/bottom/`, { headers: { cookie } })).status, 200, 'then the cookie');
  t.equal((await postJson(`${base}/api/session`, { type: 'start', journey: 'pickup' }, { cookie })).status, 200);
  const ws = `${base.replace('http', 'ws')}/ws?screen=bottom`;
  t.equal(await upgrade(ws), 401, 'a WebSocket without it: 401');
  t.equal(await upgrade(ws, { cookie }), 'open');
});
