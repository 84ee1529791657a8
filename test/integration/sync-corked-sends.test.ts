/**
 * The outbox sender sends a burst of events inside `corkedSends` (kiosk/sync/link.ts): the
 * frames leave the TCP socket in one write, not one per event. Shown on a real ws connection on
 * 127.0.0.1 by counting the writes that reach the client's TCP socket, and checked that every
 * frame still arrives whole and in order.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { corkedSends } from '../../kiosk/sync/link.js';

const BURST = 50;

/** A ws client connected to a server on 127.0.0.1; `arrived(n)` resolves with the first n messages the server got. */
async function connected(t: Test): Promise<{ client: WebSocket; arrived: (count: number) => Promise<string[]> }> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const received: string[] = [];
  const waiting: { count: number; done: (messages: string[]) => void }[] = [];
  wss.on('connection', (socket) =>
    socket.on('message', (data) => {
      received.push(String(data));
      for (const wait of waiting.filter((w) => received.length >= w.count)) wait.done(received.slice(0, wait.count));
    }),
  );
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  t.teardown(async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((done) => wss.close(() => done()));
    await new Promise<void>((done) => http.close(() => done()));
  });
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/`, { perMessageDeflate: false });
  await new Promise<void>((done, fail) => {
    client.once('open', () => done());
    client.once('error', fail);
  });
  t.teardown(() => client.terminate());
  const arrived = (count: number): Promise<string[]> =>
    received.length >= count ? Promise.resolve(received.slice(0, count)) : new Promise((done) => waiting.push({ count, done }));
  return { client, arrived };
}

t.test('a corked burst of frames is one write on the socket; each frame arrives whole, in order', async (t) => {
  const { client, arrived } = await connected(t);
  // Count the writes that reach the TCP socket (a Writable: one _write or _writev per flush).
  const tcp = (client as unknown as { _socket: { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void } })._socket;
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = tcp[method].bind(tcp);
    tcp[method] = (...args: unknown[]) => {
      writes += 1;
      original(...args);
    };
  }
  const message = (i: number) => JSON.stringify({ type: 'event', seq: i, payload: 'x'.repeat(i) });

  for (let i = 1; i <= BURST; i += 1) client.send(message(i));
  const uncorkedWrites = writes;
  writes = 0;
  const returned = corkedSends(client, () => {
    for (let i = BURST + 1; i <= 2 * BURST; i += 1) client.send(message(i));
    return 'sent';
  });
  const corkedWrites = writes;

  t.ok(uncorkedWrites > 1, `without corking the ${BURST} frames took ${uncorkedWrites} writes`);
  t.equal(corkedWrites, 1, `corked, the ${BURST} frames took one write`);
  t.equal(returned, 'sent', 'corkedSends returns what the burst returned');
  t.same(await arrived(2 * BURST), Array.from({ length: 2 * BURST }, (_, i) => message(i + 1)), 'every frame whole and in order');
  t.equal(corkedSends(null, () => 7), 7, 'without a socket the burst just runs');
});

t.test('a burst that throws still uncorks the socket: the frames before the throw and every later one go out', async (t) => {
  const { client, arrived } = await connected(t);
  const tcp = (client as unknown as { _socket: { writableCorked: number } })._socket;
  t.throws(
    () =>
      corkedSends(client, () => {
        client.send('one');
        client.send('two');
        throw new Error('a row that cannot be sent');
      }),
    /a row that cannot be sent/,
  );
  t.equal(tcp.writableCorked, 0, 'the socket is not left corked');
  client.send('three');
  t.same(await arrived(3), ['one', 'two', 'three'], 'nothing waits behind a cork that nobody lifts');
});
