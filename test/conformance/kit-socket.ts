/**
 * One connection of the conformance kit to a back office, as a locker opens it: the upgrade
 * (refused, with what the refusal said, or accepted), then every frame received, checked
 * against the published schemas, waited for by predicate with a timeout (a silent back office
 * is a failed rule, never a hung kit).
 */
import type { IncomingHttpHeaders } from 'node:http';
import WebSocket from 'ws';
import { SUBPROTOCOL, type BackOfficeMessage } from '../../kiosk/sync/messages.js';
import { createValidator } from '../../kiosk/sync/validate.js';

const validator = createValidator();

export type Frame = Record<string, unknown> & { type?: unknown };

export interface Refusal {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON, or null. */
  body: { error?: { code?: unknown; serverTime?: unknown; message?: unknown } } | null;
}

export interface OpenOptions {
  bearer: string | null;
  /** false: offer no subprotocol. */
  subprotocol?: boolean;
  ca?: Buffer;
  timeoutMs: number;
}

export type OpenResult = { ok: true; socket: KitSocket } | { ok: false; refusal: Refusal | null; reason: string };

export class KitSocket {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Frames that did not match their schema: "type: problem". */
  readonly invalid: string[] = [];
  readonly #waiters = new Set<() => void>();
  #closed = false;
  /** The close code the peer sent (null while open). */
  closeCode: number | null = null;

  private constructor(
    readonly ws: WebSocket,
    readonly onFrame: (frame: Frame, socket: KitSocket) => void,
  ) {
    ws.on('message', (data, isBinary) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(data)) as Frame;
      } catch {
        this.invalid.push(`a frame that is not JSON${isBinary ? ' (binary)' : ''}`);
        return;
      }
      const checked = validator.validateBackOfficeMessage(frame);
      if (!checked.ok) this.invalid.push(`${String(frame?.type)}: ${checked.message}`);
      this.frames.push(frame);
      this.onFrame(frame, this);
      for (const wake of [...this.#waiters]) wake();
    });
    ws.on('close', (code) => {
      this.#closed = true;
      this.closeCode = code;
      for (const wake of [...this.#waiters]) wake();
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, options: OpenOptions, onFrame: (frame: Frame, socket: KitSocket) => void = () => undefined): Promise<OpenResult> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = options.bearer === null ? {} : { Authorization: `Bearer ${options.bearer}` };
      const ws = new WebSocket(url, options.subprotocol === false ? [] : [SUBPROTOCOL], {
        headers,
        handshakeTimeout: options.timeoutMs,
        perMessageDeflate: false,
        ...(options.ca ? { ca: options.ca } : {}),
      });
      let settled = false;
      const settle = (result: OpenResult): void => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const socket = new KitSocket(ws, onFrame);
      ws.once('open', () => settle({ ok: true, socket }));
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          if (text.length < 4096) text += String(chunk);
        });
        res.on('end', () => {
          let body: Refusal['body'] = null;
          try {
            body = JSON.parse(text) as Refusal['body'];
          } catch {
            body = null;
          }
          settle({ ok: false, refusal: { status: res.statusCode ?? 0, headers: res.headers, body }, reason: `HTTP ${res.statusCode ?? '?'}` });
          ws.terminate();
        });
      });
      ws.once('error', (error) => settle({ ok: false, refusal: null, reason: error.message }));
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** The first frame from index `from` on that matches, waiting up to `timeoutMs`; null on timeout or close. */
  async waitFor<T extends Frame = Frame>(match: (frame: Frame) => boolean, timeoutMs: number, from = 0): Promise<T | null> {
    const found = (): T | null => (this.frames.slice(from).find(match) as T | undefined) ?? null;
    const now = found();
    if (now || this.#closed) return now;
    return new Promise((resolve) => {
      const wake = (): void => {
        const hit = found();
        if (hit || this.#closed) finish(hit);
      };
      const timer = setTimeout(() => finish(found()), timeoutMs);
      const finish = (value: T | null): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(value);
      };
      this.#waiters.add(wake);
    });
  }

  /** The close code once the socket closes, waiting up to `timeoutMs`; null if it stays open. */
  async closedWithin(timeoutMs: number): Promise<number | null> {
    if (this.#closed) return this.closeCode;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.ws.once('close', finish);
    });
    return this.#closed ? this.closeCode : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close(1000, 'conformance kit done');
    const cut = setTimeout(() => this.ws.terminate(), 2000);
    await closed;
    clearTimeout(cut);
  }
}

export function isType(type: BackOfficeMessage['type']) {
  return (frame: Frame): boolean => frame.type === type;
}
