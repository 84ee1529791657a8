/**
 * The locker's one WebSocket to its back office (docs/protocol.md, "Connection"): connects,
 * authenticates with a fresh JWT each time, finds a dead connection by ping, reconnects with
 * backoff, and turns incoming frames into checked messages. What the messages mean is the
 * SyncService's business; this file only keeps a good connection up.
 *
 * States: `connecting` (from dialling until the back office's `welcome`), `online` (welcomed),
 * `offline` (waiting to retry, or stopped).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { EventEmitter } from 'node:events';
import WebSocket, { type RawData } from 'ws';
import { Backoff } from '../lib/backoff.js';
import { createSystemClock, type Clock } from '../lib/clock.js';
import type { Logger } from '../logging.js';
import { MAX_FRAME_BYTES, SUBPROTOCOL, type BackOfficeMessage, type ErrorCode, type LockerMessage } from './messages.js';
import { checkBackOfficeUrl, LinkConfigError, readRefusal, type UpgradeRefusal } from './link-checks.js';
import { parseFrame, type ProtocolValidator } from './validate.js';

export { checkBackOfficeUrl, isLoopbackHost, LinkConfigError, readRefusal, type UpgradeRefusal } from './link-checks.js';

export type LinkState = 'connecting' | 'online' | 'offline';

export interface LinkEvents {
  state: [LinkState];
  /** A checked message from the back office. */
  message: [BackOfficeMessage];
  /**
   * A command that failed its schema but has a usable id: it gets a SCHEMA `result` (every
   * command gets exactly one result), not an `error` frame.
   */
  invalidCommand: [commandId: string, problem: string];
  /** The WebSocket is open: time to say hello. */
  open: [];
}

export interface LinkOptions {
  /** wss://… (ws:// only to a loopback address). */
  url: string;
  /** A PEM file of the CA to trust for wss://, or null for the system's CAs. */
  caFile: string | null;
  pingIntervalMs: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  /** A fresh bearer token for each connection attempt. Never logged. */
  token: () => Promise<string>;
  validator: ProtocolValidator;
  logger: Logger;
  clock?: Clock;
  /** For the backoff's jitter; injectable for tests. */
  random?: () => number;
  /** Open but no welcome for this long: treat as dead. Default two ping intervals. */
  welcomeTimeoutMs?: number;
  /** Dial + TLS + upgrade must finish within this. Default max(5 s, ping interval). */
  handshakeTimeoutMs?: number;
  /**
   * The back office refused the upgrade (HTTP 401, ...), telling its time (the body's
   * `error.serverTime`, else the `Date` header). Return true to try again at once (the token's
   * time was corrected), false to wait the backoff.
   */
  onRefused?: (refusal: UpgradeRefusal) => boolean;
}

/** A refusal's body is read up to this many bytes, at most this long. */
const REFUSAL_BODY_MAX = 4096;
const REFUSAL_READ_MS = 2000;

/**
 * Frames up to this size are read, so that one over MAX_FRAME_BYTES (64 KiB, the protocol's
 * limit, enforced below with a TOO_LARGE answer) does not cost the connection; beyond it ws
 * closes the connection (1009) without buffering more, so a broken peer cannot exhaust memory.
 */
export const HARD_MAX_PAYLOAD = 1024 * 1024;

/**
 * Runs `sends` with the WebSocket's TCP socket corked: the frames it sends leave in one write
 * (one writev system call) rather than one or two each. A burst of 200 outbox events then costs
 * one system call on each side instead of 200; ws corks each frame's header and body the same
 * way, and corks nest. Without an open socket it just runs `sends`.
 */
export function corkedSends<T>(socket: WebSocket | null, sends: () => T): T {
  const tcp = (socket as (WebSocket & { _socket?: { cork(): void; uncork(): void } }) | null)?._socket;
  if (!tcp) return sends();
  tcp.cork();
  try {
    return sends();
  } finally {
    tcp.uncork();
  }
}

export class BackOfficeLink {
  readonly events = new EventEmitter<LinkEvents>();
  readonly #o: LinkOptions;
  readonly #url: URL;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #backoff: Backoff;
  readonly #welcomeTimeoutMs: number;
  readonly #handshakeTimeoutMs: number;
  #ca: Buffer | undefined;
  #socket: WebSocket | null = null;
  #state: LinkState = 'offline';
  #running = false;
  #retryTimer: unknown = null;
  #pingTimer: unknown = null;
  #welcomeTimer: unknown = null;
  /** Something (a pong or any frame) came in since the last ping. */
  #alive = true;
  #closed: Promise<void> = Promise.resolve();
  #failuresLogged = 0;
  /** The last refusal asked to try again at once (a corrected clock). */
  #retryNow = false;

  constructor(options: LinkOptions) {
    this.#url = checkBackOfficeUrl(options.url);
    this.#o = options;
    this.#clock = options.clock ?? createSystemClock();
    this.#log = options.logger;
    this.#backoff = new Backoff({
      initialMs: options.reconnectInitialMs,
      maxMs: options.reconnectMaxMs,
      jitter: 'full',
      ...(options.random ? { random: options.random } : {}),
    });
    this.#welcomeTimeoutMs = options.welcomeTimeoutMs ?? 2 * options.pingIntervalMs;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? Math.max(5000, options.pingIntervalMs);
  }

  get state(): LinkState {
    return this.#state;
  }

  /** Starts connecting (and keeps reconnecting until stop()). Throws if the CA file cannot be read. */
  start(): void {
    if (this.#running) return;
    if (this.#o.caFile !== null) {
      try {
        this.#ca = readFileSync(this.#o.caFile);
      } catch (error) {
        throw new LinkConfigError(`backOffice.caFile ${this.#o.caFile} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
    }
    this.#running = true;
    void this.#connect();
  }

  /** Closes the connection and stops reconnecting. Resolves when the socket is closed. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#clearTimer('retry');
    const socket = this.#socket;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      socket.close(1001, 'locker stopping');
      // A peer that does not answer the close within a second is cut.
      const cut = this.#clock.setTimeout(() => socket.terminate(), 1000);
      await this.#closed;
      this.#clock.clearTimeout(cut);
    }
    this.#setState('offline');
  }

  /** Sends a message if the connection is open; false otherwise (it will be sent again after reconnecting, if it matters). */
  send(message: LockerMessage): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /** Runs `sends` so that the frames it sends leave in one write (corkedSends). */
  corked<T>(sends: () => T): T {
    return corkedSends(this.#socket, sends);
  }

  /** Cuts the current connection (it is then re-established as after any failure). */
  drop(reason: string): void {
    if (this.#socket) {
      this.#log.warn({ reason }, 'back-office connection dropped');
      this.#socket.terminate();
    }
  }

  async #connect(): Promise<void> {
    this.#retryTimer = null;
    if (!this.#running) return;
    this.#setState('connecting');
    let token: string;
    try {
      token = await this.#o.token();
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, 'could not sign a token for the back office');
      this.#scheduleReconnect();
      return;
    }
    if (!this.#running) return;

    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#url, SUBPROTOCOL, {
        headers: { Authorization: `Bearer ${token}` },
        maxPayload: HARD_MAX_PAYLOAD,
        handshakeTimeout: this.#handshakeTimeoutMs,
        perMessageDeflate: false,
        followRedirects: false,
        ...(this.#ca ? { ca: this.#ca } : {}),
      });
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, 'could not open a connection to the back office');
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    let resolveClosed!: () => void;
    this.#closed = new Promise((resolve) => (resolveClosed = resolve));

    socket.on('open', () => {
      this.#alive = true;
      this.#armPing(socket);
      this.#welcomeTimer = this.#clock.setTimeout(() => {
        this.#welcomeTimer = null;
        this.#log.warn({ waitedMs: this.#welcomeTimeoutMs }, 'no welcome from the back office: reconnecting');
        socket.terminate();
      }, this.#welcomeTimeoutMs);
      this.events.emit('open');
    });
    socket.on('pong', () => {
      this.#alive = true;
    });
    socket.on('unexpected-response', (_request, response) => this.#refused(socket, response));
    socket.on('message', (data, isBinary) => {
      this.#alive = true; // any frame proves the connection carries traffic
      this.#frame(socket, data, isBinary);
    });
    socket.on('error', (error) => {
      // 'close' always follows; the message names the cause (e.g. "Unexpected server response: 401"), never the token.
      const quiet = this.#failuresLogged >= 3 && this.#state !== 'online';
      this.#log[quiet ? 'debug' : 'warn']({ err: error.message }, 'back-office connection error');
      this.#failuresLogged += 1;
    });
    socket.on('close', (code) => {
      const wasOnline = this.#state === 'online';
      this.#clearTimer('ping');
      this.#clearTimer('welcome');
      if (this.#socket === socket) this.#socket = null;
      resolveClosed();
      if (!this.#running) {
        this.#log.info({ code }, 'back-office connection closed (stopping)');
        return;
      }
      if (wasOnline) this.#log.warn({ code }, 'back-office connection closed');
      this.#scheduleReconnect();
    });
  }

  /**
   * The upgrade was answered with an HTTP error: read what it says (bounded), let the owner
   * learn the server's time from it, then end the attempt (ws then emits error and close).
   */
  #refused(socket: WebSocket, response: IncomingMessage): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#clock.clearTimeout(timer);
      response.destroy();
      const refusal = readRefusal(response, Buffer.concat(chunks).toString('utf8'));
      this.#log.warn({ status: refusal.status, code: refusal.code }, 'the back office refused the connection');
      this.#retryNow = this.#o.onRefused?.(refusal) ?? false;
      socket.terminate();
    };
    const timer = this.#clock.setTimeout(finish, REFUSAL_READ_MS);
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= REFUSAL_BODY_MAX) chunks.push(chunk);
      else finish();
    });
    response.on('end', finish);
    response.on('error', finish);
  }

  #scheduleReconnect(): void {
    this.#setState('offline');
    if (!this.#running || this.#retryTimer !== null) return;
    if (this.#retryNow) {
      this.#retryNow = false;
      this.#log.info('trying again at once with a token stamped with the back office\'s time');
      this.#retryTimer = this.#clock.setTimeout(() => void this.#connect(), 0);
      return;
    }
    const delay = this.#backoff.next();
    this.#log.debug({ delayMs: delay, failures: this.#backoff.failures }, 'reconnecting to the back office');
    this.#retryTimer = this.#clock.setTimeout(() => void this.#connect(), delay);
  }

  /**
   * Pings every interval; a ping still unanswered (and nothing else heard) at the next tick
   * means the connection is dead even if TCP has not noticed (a half-open link after a router
   * restart): it is terminated, so it is found within two intervals.
   */
  #armPing(socket: WebSocket): void {
    this.#pingTimer = this.#clock.setTimeout(() => {
      this.#pingTimer = null;
      if (socket.readyState !== WebSocket.OPEN) return;
      if (!this.#alive) {
        this.#log.warn({ pingIntervalMs: this.#o.pingIntervalMs }, 'no pong from the back office: connection is dead');
        socket.terminate();
        return;
      }
      this.#alive = false;
      socket.ping();
      this.#armPing(socket);
    }, this.#o.pingIntervalMs);
  }

  #frame(socket: WebSocket, data: RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#reject(socket, 'MALFORMED', 'frames are JSON text', null);
      return;
    }
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const parsed = parseFrame(bytes, MAX_FRAME_BYTES);
    if (!parsed.ok) {
      this.#reject(socket, parsed.code, parsed.message, null);
      return;
    }
    const checked = this.#o.validator.validateBackOfficeMessage(parsed.value);
    if (!checked.ok) {
      const commandId = commandIdOf(parsed.value);
      if (commandId !== null && checked.code === 'SCHEMA') {
        this.#log.warn({ commandId, problem: checked.message }, 'command refused: it does not match its schema');
        this.events.emit('invalidCommand', commandId, checked.message);
        return;
      }
      this.#reject(socket, checked.code, checked.message, commandId);
      return;
    }
    const message = checked.message;
    if (message.type === 'welcome') {
      this.#clearTimer('welcome');
      this.#backoff.reset();
      this.#retryNow = false;
      this.#failuresLogged = 0;
      if (this.#state !== 'online') this.#log.info('back office online');
      this.#setState('online');
    }
    this.events.emit('message', message);
  }

  /** A frame we cannot take: say so and carry on; nothing has changed. */
  #reject(socket: WebSocket, code: ErrorCode, message: string, ref: string | null): void {
    this.#log.warn({ code, ref }, 'bad frame from the back office');
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ v: 1, type: 'error', code, message, ref } satisfies LockerMessage));
  }

  #setState(state: LinkState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.events.emit('state', state);
  }

  #clearTimer(which: 'retry' | 'ping' | 'welcome'): void {
    const handle = which === 'retry' ? this.#retryTimer : which === 'ping' ? this.#pingTimer : this.#welcomeTimer;
    if (handle !== null) this.#clock.clearTimeout(handle);
    if (which === 'retry') this.#retryTimer = null;
    else if (which === 'ping') this.#pingTimer = null;
    else this.#welcomeTimer = null;
  }
}

/** The id of something that looks like a command, so an error about it can say which. */
function commandIdOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const id = record['id'];
  return record['type'] === 'command' && typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : null;
}
