/**
 * The back office's end of the v1 protocol (docs/protocol.md): the WebSocket endpoint
 * `/locker`, subprotocol `keylocker.v1`.
 *
 * - The upgrade is authenticated before anything else (auth.ts): anything but a valid token of
 *   a registered unit is HTTP 401 with our time, and no upgrade.
 * - Every frame is checked with kiosk/sync/validate.ts; a bad one gets an `error` and changes
 *   nothing, and the connection goes on. An event that fails its schema but has a seq is
 *   refused for good: `nack`, held as refused, and the acks move past it.
 * - hello -> welcome { serverTime, ackedSeq }, then every unanswered command of the unit in
 *   creation order (again after each reconnect, with the same ids: the locker dedupes).
 * - event -> stored once per (unit, seq); `ack` of the highest contiguous seq, never past a gap.
 * - result -> stored against its command.
 * - The back office pings too; a connection with no pong by the next ping is terminated.
 *
 * One connection per unit: a newer one (a fresh token: each `jti` connects once) replaces
 * the older, which is closed with 4000. Frames of one connection are handled one after
 * another, so acks and commands leave in a well-defined order.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Logger } from '../../kiosk/logging.js';
import {
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  type BackOfficeMessage,
  type CommandMessage,
  type ErrorCode,
  type LockerMessage,
} from '../../kiosk/sync/messages.js';
import { parseFrame, type ProtocolValidator } from '../../kiosk/sync/validate.js';
import { refuseUpgrade, TokenChecker } from './auth.js';
import type { BackOfficeService } from './service.js';

export interface ProtocolServerOptions {
  service: BackOfficeService;
  /** The `aud` a locker's token must carry. */
  audience: string;
  logger: Logger;
  /** The compiled protocol schemas (kiosk/sync/validate.ts). */
  validator: ProtocolValidator;
  /** How often the back office pings each locker; a connection silent for a whole interval is closed. */
  pingIntervalMs?: number;
  now?: () => Date;
}

/**
 * Frames up to this size are read so that a too-large one can be answered with TOO_LARGE;
 * beyond it ws closes the connection (1009) without reading it.
 */
const HARD_MAX_PAYLOAD = 1024 * 1024;

interface Link {
  unitId: string;
  socket: WebSocket;
  welcomed: boolean;
  /** Command ids sent on this connection; a new connection starts empty, so all pending are re-sent. */
  sent: Set<string>;
  alive: boolean;
  /** Frames and flushes of this connection, one after another. */
  chain: Promise<void>;
}

export class LockerProtocolServer {
  readonly #service: BackOfficeService;
  readonly #audience: string;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #validator: ProtocolValidator;
  readonly #wss: WebSocketServer;
  readonly #links = new Map<string, Link>();
  readonly #tokens: TokenChecker;
  readonly #pinger: NodeJS.Timeout;
  /** Set by close(): a connection still being authenticated must not slip in afterwards. */
  #closing = false;
  readonly #onCommand = (unitId: string): void => {
    const link = this.#links.get(unitId);
    if (link?.welcomed) this.#enqueue(link, () => this.#flush(link));
  };

  constructor(options: ProtocolServerOptions) {
    this.#service = options.service;
    this.#audience = options.audience;
    this.#log = options.logger;
    this.#now = options.now ?? (() => new Date());
    this.#validator = options.validator;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: HARD_MAX_PAYLOAD,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.#tokens = new TokenChecker({
      audience: options.audience,
      getUnit: (id) => this.#service.getUnit(id),
      useTokenId: (unitId, jti, expiresAt) => this.#service.useTokenId(unitId, jti, expiresAt),
      now: this.#now,
      logger: this.#log,
    });
    this.#service.on('command', this.#onCommand);
    this.#pinger = setInterval(() => this.#pingAll(), options.pingIntervalMs ?? 15_000);
    this.#pinger.unref();
  }

  /** Units with an open connection. */
  connectedUnits(): string[] {
    return [...this.#links.keys()];
  }

  /** For the HTTP server's 'upgrade' on /locker. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    void this.#tokens.check(request).then(
      (auth) => {
        if (this.#closing) {
          refuseUpgrade(socket, 503, 'UNAVAILABLE', 'the back office is stopping', this.#now());
          return;
        }
        if (!auth.ok) {
          const message = auth.code === 'CLOCK_SKEW'
            ? "the token's iat or exp is too far from the back office's time (serverTime): sign the next one with it"
            : 'a valid bearer token of a registered unit is required';
          refuseUpgrade(socket, 401, auth.code, message, this.#now());
          return;
        }
        const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
        if (!offered.includes(SUBPROTOCOL)) {
          refuseUpgrade(socket, 400, 'SUBPROTOCOL', `the subprotocol ${SUBPROTOCOL} is required`, this.#now());
          return;
        }
        this.#wss.handleUpgrade(request, socket, head, (ws) => this.#connected(auth.unitId, ws));
      },
      (error: unknown) => {
        this.#log.error({ err: String(error) }, 'authentication failed unexpectedly');
        refuseUpgrade(socket, 500, 'INTERNAL', 'internal error', this.#now());
      },
    );
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#pinger);
    this.#service.off('command', this.#onCommand);
    const links = [...this.#links.values()];
    // Every socket, also one replaced or not yet welcomed: ws waits for all of them before
    // it calls back from close().
    const sockets = [...this.#wss.clients];
    for (const socket of sockets) socket.close(1001, 'back office stopping');
    // Give each a moment to close cleanly, then cut what is left.
    await Promise.all(sockets.map((socket) => closed(socket, 1000)));
    await Promise.all(links.map((link) => link.chain));
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  // --- connection ------------------------------------------------------------------------

  #connected(unitId: string, socket: WebSocket): void {
    if (this.#closing) {
      socket.terminate();
      return;
    }
    const previous = this.#links.get(unitId);
    const link: Link = { unitId, socket, welcomed: false, sent: new Set(), alive: true, chain: Promise.resolve() };
    this.#links.set(unitId, link);
    if (previous) previous.socket.close(4000, 'replaced by a newer connection');
    this.#log.info({ unitId }, 'locker connected');

    socket.on('message', (data, isBinary) => this.#enqueue(link, () => this.#frame(link, data, isBinary)));
    socket.on('pong', () => {
      link.alive = true;
      this.#enqueue(link, () => this.#service.lockerSeen(unitId));
    });
    socket.on('error', (error) => this.#log.warn({ unitId, err: error.message }, 'locker connection error'));
    socket.on('close', (code) => {
      this.#log.info({ unitId, code }, 'locker disconnected');
      if (this.#links.get(unitId) !== link) return; // replaced: the newer link owns the unit's state
      this.#links.delete(unitId);
      this.#enqueue(link, () => this.#service.lockerGone(unitId));
    });
  }

  #enqueue(link: Link, work: () => Promise<void>): void {
    link.chain = link.chain.then(work).catch((error: unknown) => {
      this.#log.error({ unitId: link.unitId, err: String(error) }, 'locker frame handling failed');
      this.#send(link, { v: 1, type: 'error', code: 'INTERNAL', message: 'the back office could not handle that', ref: null });
    });
  }

  #pingAll(): void {
    for (const link of this.#links.values()) {
      if (!link.alive) {
        this.#log.warn({ unitId: link.unitId }, 'no pong from locker: connection closed');
        link.socket.terminate();
        continue;
      }
      link.alive = false;
      link.socket.ping();
    }
  }

  #send(link: Link, message: BackOfficeMessage): void {
    if (link.socket.readyState !== link.socket.OPEN) return;
    link.socket.send(JSON.stringify(message));
  }

  #error(link: Link, code: ErrorCode, message: string, ref: string | number | null = null): void {
    this.#send(link, { v: 1, type: 'error', code, message, ref: ref === null ? null : String(ref) });
  }

  async #frame(link: Link, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) {
      this.#error(link, 'MALFORMED', 'frames are JSON text');
      return;
    }
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const parsed = parseFrame(bytes, MAX_FRAME_BYTES);
    if (!parsed.ok) {
      this.#error(link, parsed.code, parsed.message);
      return;
    }
    const checked = this.#validator.validateLockerMessage(parsed.value);
    if (!checked.ok) {
      const refused = refusableEvent(parsed.value);
      if (refused && checked.code === 'SCHEMA' && link.welcomed) {
        // Refused for good: the stream must not stall on it.
        const { ackedSeq } = await this.#service.lockerRefusedEvent(link.unitId, refused.seq, refused.type, checked.message);
        this.#send(link, { v: PROTOCOL_VERSION, type: 'nack', seq: refused.seq, code: 'SCHEMA', reason: checked.message });
        if (ackedSeq > 0) this.#send(link, { v: PROTOCOL_VERSION, type: 'ack', seq: ackedSeq });
        return;
      }
      this.#error(link, checked.code, checked.message, refOf(parsed.value));
      return;
    }
    await this.#message(link, checked.message);
  }

  async #message(link: Link, message: LockerMessage): Promise<void> {
    switch (message.type) {
      case 'hello': {
        if (message.unitId !== link.unitId) {
          this.#error(link, 'UNAUTHORISED', 'hello names another unit than the token');
          return;
        }
        const { ackedSeq } = await this.#service.lockerHello(link.unitId, message);
        this.#send(link, { v: PROTOCOL_VERSION, type: 'welcome', serverTime: this.#now().toISOString(), ackedSeq });
        link.welcomed = true;
        await this.#flush(link);
        return;
      }
      case 'event': {
        const { ackedSeq } = await this.#service.lockerEvent(link.unitId, message);
        if (ackedSeq > 0) this.#send(link, { v: PROTOCOL_VERSION, type: 'ack', seq: ackedSeq });
        return;
      }
      case 'result':
        await this.#service.lockerResult(link.unitId, message);
        return;
      case 'error':
        this.#log.warn({ unitId: link.unitId, code: message.code, ref: message.ref }, 'locker reported an error');
        return;
    }
  }

  /** Sends every unanswered command of the unit not yet sent on this connection, oldest first. */
  async #flush(link: Link): Promise<void> {
    if (!link.welcomed || this.#links.get(link.unitId) !== link) return;
    for (const command of await this.#service.pendingCommands(link.unitId)) {
      if (link.sent.has(command.id)) continue;
      if (link.socket.readyState !== link.socket.OPEN) return;
      link.sent.add(command.id);
      this.#send(link, { v: PROTOCOL_VERSION, type: 'command', id: command.id, name: command.name, args: command.args } as CommandMessage);
      await this.#service.markSent(command.id);
    }
  }
}

/** An event frame of v1 with a usable seq (whatever else is wrong with it), or null. */
function refusableEvent(value: unknown): { seq: number; type: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { v, type, seq, event } = value as { v?: unknown; type?: unknown; seq?: unknown; event?: unknown };
  if (v !== 1 || type !== 'event' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return null;
  return { seq, type: typeof event === 'string' && event.length <= 64 ? event : 'unknown' };
}

/** What a refused message was about, when it says: an event's seq or a result's command id. */
function refOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const { seq, commandId } = value as { seq?: unknown; commandId?: unknown };
  if (typeof seq === 'number' && Number.isSafeInteger(seq)) return String(seq);
  if (typeof commandId === 'string' && commandId.length <= 128) return commandId;
  return null;
}

function closed(socket: WebSocket, graceMs: number): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    // After the grace period the socket is cut; 'close' follows either way.
    const timer = setTimeout(() => socket.terminate(), graceMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
