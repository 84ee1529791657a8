/**
 * A small back office for the sync tests: a `ws` server on 127.0.0.1 (port 0) that checks the
 * locker's bearer token, answers hello with welcome, keeps the events it receives once per seq
 * and acknowledges the highest contiguous one. Deliberately not the reference back office
 * (test/reference-backoffice/): these tests pin the locker's side of the contract on their own.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventMessage, HelloMessage, LockerMessage } from '../../kiosk/sync/messages.js';

export interface MiniBackOfficeOptions {
  /** The locker's public key; tokens are checked against it. */
  publicKeyJwk: JWK;
  unitId: string;
  audience?: string;
  /** false: never answer pings (a half-open link as the locker sees it). */
  autoPong?: boolean;
  /** false: do not answer hello with welcome. */
  welcome?: boolean;
  /** false: receive events without acknowledging them. */
  ack?: boolean;
  /** Acknowledge every n-th event only (1: each). */
  ackEvery?: number;
  /** The ackedSeq to start from (what this back office already holds). */
  ackedSeq?: number;
  /** A broken back office: each event is acknowledged at once as its seq plus this (beyond what was sent). */
  ackBeyondBy?: number;
  /** A broken back office: events of these types are refused with a nack (SCHEMA), however valid. */
  nackTypes?: readonly string[];
  /**
   * Events received but not yet acknowledged are lost when a connection closes, as in a back
   * office that commits in batches and acknowledges what it committed.
   */
  forgetUnackedOnClose?: boolean;
  /** Serve wss:// with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The back office's clock (for tokens and welcome.serverTime); default the system's. */
  now?: () => Date;
  /** How far a token's iat/exp may be from `now` (docs/protocol.md, "Clock"); default 60 s. */
  clockToleranceS?: number;
}

export interface Connection {
  socket: WebSocket;
  protocol: string;
  token: JWTPayload;
  received: LockerMessage[];
  closedAt: number | null;
}

/** Why a token was refused: CLOCK_SKEW when only its times were wrong. */
export type Refusal = { code: 'CLOCK_SKEW' | 'UNAUTHORISED'; serverTime: string };

export interface MiniBackOfficeEvents {
  connection: [Connection];
  message: [Connection, LockerMessage];
  close: [Connection];
  refused: [status: number, refusal: Refusal];
}

export class MiniBackOffice {
  readonly events = new EventEmitter<MiniBackOfficeEvents>();
  readonly connections: Connection[] = [];
  /** Events kept, by seq (repeats dropped). */
  readonly stored = new Map<number, EventMessage>();
  /** Every event frame received, repeats included, in arrival order (urgent copies apart). */
  readonly arrivals: number[] = [];
  /** Seqs of urgent copies received (sent ahead of the stream), in arrival order. */
  readonly urgentArrivals: number[] = [];
  /** Highest contiguous seq held. */
  contiguous: number;
  /** Highest seq acknowledged so far. */
  lastAck: number;
  refusals = 0;
  readonly refusalLog: Refusal[] = [];
  readonly options: MiniBackOfficeOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  #url = '';
  #ackTimer: NodeJS.Timeout | null = null;

  constructor(options: MiniBackOfficeOptions) {
    this.options = options;
    this.contiguous = options.ackedSeq ?? 0;
    this.lastAck = this.contiguous;
    const notFound = (_req: IncomingMessage, res: import('node:http').ServerResponse): void => void res.writeHead(404).end();
    this.#http = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, notFound) : createServer(notFound);
    this.#wss = new WebSocketServer({
      noServer: true,
      autoPong: options.autoPong ?? true,
      maxPayload: 1024 * 1024,
      handleProtocols: (protocols) => (protocols.has('keylocker.v1') ? 'keylocker.v1' : false),
    });
    this.#http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      void this.#authenticate(request).then((token) => {
        if ('refused' in token) {
          this.refusals += 1;
          this.refusalLog.push(token.refused);
          const body = JSON.stringify({ error: { code: token.refused.code, message: 'token refused', serverTime: token.refused.serverTime } });
          const date = new Date(token.refused.serverTime).toUTCString();
          socket.end(`HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nDate: ${date}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
          this.events.emit('refused', 401, token.refused);
          return;
        }
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connected(ws, token.payload));
      });
    });
  }

  get url(): string {
    return this.#url;
  }

  get current(): Connection | undefined {
    const last = this.connections.at(-1);
    return last && last.closedAt === null ? last : undefined;
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.#http.listen(port, '127.0.0.1', resolve));
    const { port: bound } = this.#http.address() as AddressInfo;
    this.#url = `${this.options.tls ? 'wss' : 'ws'}://127.0.0.1:${bound}/locker`;
    return this.#url;
  }

  send(message: unknown, connection = this.current): void {
    if (!connection) throw new Error('no connection to send on');
    connection.socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** Cuts every connection without a closing handshake. */
  dropAll(): void {
    for (const c of this.connections) if (c.closedAt === null) c.socket.terminate();
  }

  async close(): Promise<void> {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  /** Resolves with the first message received from now on (any connection) that matches. */
  nextMessage<T extends LockerMessage>(predicate: (m: LockerMessage, c: Connection) => m is T, timeoutMs?: number): Promise<{ message: T; connection: Connection }>;
  nextMessage(predicate: (m: LockerMessage, c: Connection) => boolean, timeoutMs?: number): Promise<{ message: LockerMessage; connection: Connection }>;
  nextMessage(predicate: (m: LockerMessage, c: Connection) => boolean, timeoutMs = 10_000): Promise<{ message: LockerMessage; connection: Connection }> {
    return waitFor(this.events, 'message', (c, m) => (predicate(m, c) ? { message: m, connection: c } : undefined), timeoutMs, 'a matching message');
  }

  nextConnection(timeoutMs = 10_000): Promise<Connection> {
    return waitFor(this.events, 'connection', (c) => c, timeoutMs, 'a connection');
  }

  /** Resolves when every seq 1..n is stored. */
  storedAll(n: number, timeoutMs = 20_000): Promise<void> {
    if (this.contiguous >= n) return Promise.resolve();
    return waitFor(this.events, 'message', () => (this.contiguous >= n ? true : undefined), timeoutMs, `events up to ${n}`).then(() => undefined);
  }

  async #authenticate(request: IncomingMessage): Promise<{ payload: JWTPayload } | { refused: Refusal }> {
    const now = this.options.now?.() ?? new Date();
    const refused = (code: Refusal['code']) => ({ refused: { code, serverTime: now.toISOString() } });
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    if (!match?.[1]) return refused('UNAUTHORISED');
    try {
      const key = await importJWK(this.options.publicKeyJwk, 'EdDSA');
      const { payload } = await jwtVerify(match[1], key, {
        algorithms: ['EdDSA'],
        issuer: this.options.unitId,
        subject: this.options.unitId,
        audience: this.options.audience ?? 'keylocker-backoffice',
        maxTokenAge: 300,
        clockTolerance: this.options.clockToleranceS ?? 60,
        currentDate: now,
        requiredClaims: ['iat', 'exp', 'jti'],
      });
      return { payload };
    } catch (error) {
      const { code, claim } = error as { code?: string; claim?: string };
      const timing = code === 'ERR_JWT_EXPIRED' || (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (claim === 'iat' || claim === 'nbf'));
      return refused(timing ? 'CLOCK_SKEW' : 'UNAUTHORISED');
    }
  }

  #connected(socket: WebSocket, token: JWTPayload): void {
    const connection: Connection = { socket, protocol: socket.protocol, token, received: [], closedAt: null };
    this.connections.push(connection);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as LockerMessage;
      connection.received.push(message);
      this.#handle(connection, message);
      this.events.emit('message', connection, message);
    });
    socket.on('close', () => {
      connection.closedAt = Date.now();
      if (this.options.forgetUnackedOnClose) {
        for (const seq of this.stored.keys()) if (seq > this.lastAck) this.stored.delete(seq);
        this.contiguous = this.lastAck;
      }
      this.events.emit('close', connection);
    });
    this.events.emit('connection', connection);
  }

  #handle(connection: Connection, message: LockerMessage): void {
    if (message.type === 'hello' && this.options.welcome !== false) {
      connection.socket.send(JSON.stringify({ v: 1, type: 'welcome', serverTime: (this.options.now?.() ?? new Date()).toISOString(), ackedSeq: this.contiguous }));
    }
    if (message.type === 'event') {
      if (message.urgent) {
        this.urgentArrivals.push(message.seq);
        return; // held beyond the contiguous prefix: the stream brings it again
      }
      this.arrivals.push(message.seq);
      if (this.options.nackTypes?.includes(message.event)) {
        connection.socket.send(JSON.stringify({ v: 1, type: 'nack', seq: message.seq, code: 'SCHEMA', reason: 'this back office does not take this event' }));
        this.stored.set(message.seq, message);
        while (this.stored.has(this.contiguous + 1)) this.contiguous += 1;
        return;
      }
      if (this.options.ackBeyondBy !== undefined) {
        connection.socket.send(JSON.stringify({ v: 1, type: 'ack', seq: message.seq + this.options.ackBeyondBy }));
        return;
      }
      if (!this.stored.has(message.seq)) this.stored.set(message.seq, message);
      while (this.stored.has(this.contiguous + 1)) this.contiguous += 1;
      if (this.options.ack === false) return;
      const every = this.options.ackEvery ?? 1;
      if (this.arrivals.length % every === 0) this.#ack(connection);
      else {
        // The rest of a batch is acknowledged once the stream pauses.
        if (this.#ackTimer) clearTimeout(this.#ackTimer);
        this.#ackTimer = setTimeout(() => this.#ack(connection), 20);
      }
    }
  }

  #ack(connection: Connection): void {
    if (this.#ackTimer) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    if (connection.closedAt !== null || this.contiguous <= 0) return;
    connection.socket.send(JSON.stringify({ v: 1, type: 'ack', seq: this.contiguous }));
    this.lastAck = this.contiguous;
  }
}

export function isHello(m: LockerMessage): m is HelloMessage {
  return m.type === 'hello';
}

/**
 * A failing test's bound, never shorter than this whatever a caller asks: the events waited for
 * come in milliseconds on an idle machine, and a machine running two busy loops beside the suite
 * may delay them by seconds; a short bound would turn that delay into a false failure.
 */
const MIN_WAIT_MS = 20_000;

/**
 * Resolves with `pick(...args)` at the first emission of `event` for which it is defined;
 * rejects after `timeoutMs` (at least MIN_WAIT_MS: a failing test, not a wait: the event
 * normally comes first).
 */
export function waitFor<E extends Record<keyof E, unknown[]>, K extends keyof E & string, R>(
  emitter: EventEmitter<E>,
  event: K,
  pick: (...args: E[K]) => R | undefined,
  timeoutMs: number,
  what: string,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const limitMs = Math.max(timeoutMs, MIN_WAIT_MS);
    const timer = setTimeout(() => {
      (emitter as EventEmitter).off(event, listener);
      reject(new Error(`timed out after ${limitMs} ms waiting for ${what}`));
    }, limitMs);
    const listener = (...args: unknown[]): void => {
      const value = pick(...(args as E[K]));
      if (value === undefined) return;
      clearTimeout(timer);
      (emitter as EventEmitter).off(event, listener);
      resolve(value);
    };
    (emitter as EventEmitter).on(event, listener);
  });
}
