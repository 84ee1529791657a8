/**
 * The unit the conformance kit plays: its key and tokens, the reservations it pretends to hold,
 * and how it answers commands, as a locker would (without doors). It also watches the back
 * office across connections: every ack and nack against what was sent (P-EVT-4), every command
 * id against its content (P-CMD-1), every help.update received per call (P-HELP-2).
 */
import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { canonicalJson } from '../../kiosk/sync/commands.js';
import { jwkThumbprint } from '../../kiosk/sync/identity.js';
import { digestOf } from '../../kiosk/sync/inventory.js';
import type { HelloMessage, InventoryItem } from '../../kiosk/sync/messages.js';
import { KitPickups } from './kit-pickups.js';
import type { Frame, KitSocket } from './kit-socket.js';

export interface TokenOptions {
  /** Seconds to add to the kit's clock for iat (a wrong clock). */
  skewS?: number;
  /** The time to stamp, instead of the kit's clock. */
  at?: Date;
  ttlS?: number;
  audience?: string;
  /** null: no kid; a string: that kid. */
  kid?: string | null;
  /** Sign with this key instead of the unit's. */
  key?: KeyObject;
}

export class KitUnit {
  readonly kid: string;
  readonly run = randomUUID().slice(0, 8);
  /** What the kit pretends to hold: a few reservations with this run's ids, so each run's digest is new. */
  readonly inventory: InventoryItem[];
  /** Commands to leave unanswered (by predicate): the kit answers them later, or never. */
  holdCommand: ((frame: Frame) => boolean) | null = null;
  readonly held: Frame[] = [];
  /** Violations seen on any connection. */
  readonly ackViolations: string[] = [];
  readonly idConflicts: string[] = [];
  readonly receivedPerCall = new Map<string, number>();
  /** The pickups the back office sent, and its remote opens judged (P-OPEN-1). */
  readonly pickups = new KitPickups();
  readonly #contentById = new Map<string, string>();

  constructor(
    readonly unitId: string,
    readonly privateKey: KeyObject,
    readonly audience: string,
  ) {
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
    this.kid = jwkThumbprint(jwk);
    this.inventory = [1, 2, 3].map((n) => ({ id: `kit-${this.run}-${n}`, version: n, paymentVersion: 0, status: 'booked' as const }));
  }

  /** The record a back office enrols (docs/protocol.md, "Enrolment"). */
  enrolment(): { unitId: string; kid: string; publicJwk: Record<string, string> } {
    const jwk = createPublicKey(this.privateKey).export({ format: 'jwk' }) as { kty: string; crv: string; x: string };
    return { unitId: this.unitId, kid: this.kid, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid: this.kid, alg: 'EdDSA', use: 'sig' } };
  }

  async token(options: TokenOptions = {}): Promise<string> {
    const base = options.at ?? new Date(Date.now() + (options.skewS ?? 0) * 1000);
    const iat = Math.floor(base.getTime() / 1000);
    const kid = options.kid === undefined ? this.kid : options.kid;
    return new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', ...(kid === null ? {} : { kid }) })
      .setIssuer(this.unitId)
      .setSubject(this.unitId)
      .setAudience(options.audience ?? this.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (options.ttlS ?? 300))
      .setJti(randomUUID())
      .sign(options.key ?? this.privateKey);
  }

  /** A key that is not the unit's. */
  static strangerKey(): KeyObject {
    return generateKeyPairSync('ed25519').privateKey;
  }

  hello(outbox: HelloMessage['outbox'], extra: Record<string, unknown> = {}): HelloMessage & Record<string, unknown> {
    return {
      v: 1,
      type: 'hello',
      unitId: this.unitId,
      softwareVersion: 'conformance-kit',
      bootId: `kit-${this.run}`,
      clock: { wall: new Date().toISOString(), synchronised: true },
      timeZone: 'Europe/Oslo',
      link: { pingIntervalMs: 15_000, maxInFlight: 500 },
      compartments: Array.from({ length: 4 }, (_, i) => ({ id: i + 1, state: 'free' as const, door: 'closed' as const, reservationId: null })),
      inventory: { count: this.inventory.length, digest: digestOf(this.inventory) },
      outbox,
      ...extra,
    };
  }

  event(seq: number, type: string, payload: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { v: 1, type: 'event', seq, event: type, at: { wall: new Date().toISOString(), mono: seq, bootId: `kit-${this.run}`, clockSynchronised: true }, payload, ...extra };
  }

  /**
   * Watches and answers one frame from the back office. `stream`: the connection's seqs sent,
   * and the welcome's ackedSeq (acks up to it name nothing new).
   */
  onFrame(frame: Frame, socket: KitSocket, stream: { sent: ReadonlySet<number>; floor: number }): void {
    const { sent } = stream;
    if ((frame.type === 'ack' || frame.type === 'nack') && typeof frame['seq'] === 'number') {
      const seq = frame['seq'];
      const highest = Math.max(stream.floor, ...sent);
      if ((frame.type === 'ack' && seq > highest) || (frame.type === 'nack' && !sent.has(seq))) {
        this.ackViolations.push(`${frame.type} of seq ${seq}, not sent on that connection (highest sent ${highest})`);
      }
    }
    if (frame.type !== 'command' || typeof frame['id'] !== 'string') return;
    const content = canonicalJson({ name: frame['name'], args: frame['args'] });
    const before = this.#contentById.get(frame['id']);
    if (before !== undefined && before !== content) this.idConflicts.push(`command id ${frame['id']} came with other content`);
    this.#contentById.set(frame['id'], content);
    const args = (frame['args'] ?? {}) as Record<string, unknown>;
    if (frame['name'] === 'help.update' && args['state'] === 'received' && typeof args['callId'] === 'string') {
      // Counted once per command id: a resend of the same command is not a second answer.
      if (before === undefined) this.receivedPerCall.set(args['callId'], (this.receivedPerCall.get(args['callId']) ?? 0) + 1);
    }
    if (this.holdCommand?.(frame)) {
      this.held.push(frame);
      return;
    }
    socket.send(this.answer(frame));
  }

  /** The result a locker would give (a unit without doors). */
  answer(frame: Frame): Record<string, unknown> {
    const id = frame['id'];
    const args = (frame['args'] ?? {}) as Record<string, unknown>;
    const ok = (result: Record<string, unknown>) => ({ v: 1, type: 'result', commandId: id, ok: true, result });
    const notFound = (what: string) => ({ v: 1, type: 'result', commandId: id, ok: false, error: { code: 'NOT_FOUND', message: `${what} is not known to this unit` } });
    const held = (rid: unknown) => this.inventory.find((item) => item.id === rid);
    switch (frame['name']) {
      case 'inventory.page': {
        const sorted = [...this.inventory].sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
        const after = typeof args['after'] === 'string' ? args['after'] : null;
        const limit = typeof args['limit'] === 'number' ? args['limit'] : 200;
        const rest = after === null ? sorted : sorted.filter((item) => Buffer.compare(Buffer.from(item.id), Buffer.from(after)) > 0);
        const items = rest.slice(0, limit);
        const next = rest.length > limit ? (items[items.length - 1]?.id ?? null) : null;
        return ok({ items, next, count: next === null ? this.inventory.length : null, digest: next === null ? digestOf(this.inventory) : null });
      }
      case 'help.update':
        return ok({ applied: true, state: args['state'] });
      case 'reservation.upsert': {
        const reservation = args['reservation'] as { id?: unknown } | undefined;
        const version = Number(args['version']);
        const item = held(reservation?.id);
        if (item && version <= item.version) return ok({ applied: false, reason: 'stale', version: item.version });
        if (item) item.version = version;
        else this.inventory.push({ id: String(reservation?.id), version, paymentVersion: 0, status: 'booked' });
        this.pickups.upserted(reservation as Record<string, unknown> | undefined);
        return ok({ applied: true, created: !item, version, status: item?.status ?? 'booked' });
      }
      case 'reservation.cancel': {
        const item = held(args['reservationId']);
        if (!item) return notFound('the reservation');
        const version = Number(args['version']);
        if (version <= item.version) return ok({ applied: false, reason: 'stale', version: item.version });
        item.version = version;
        item.status = 'cancelled';
        return ok({ applied: true, version, status: 'cancelled', freedCompartments: [] });
      }
      case 'payment.status': {
        const item = held(args['reservationId']);
        if (!item) return notFound('the reservation');
        const version = Number(args['version']);
        if (version <= item.paymentVersion) return ok({ applied: false, reason: 'stale', version: item.paymentVersion });
        item.paymentVersion = version;
        this.pickups.paymentStatus(args);
        return ok({ applied: true, version, status: args['status'] });
      }
      case 'receipt.link':
        return held(args['reservationId']) ? ok({ shown: true }) : notFound('the reservation');
      case 'reservation.remote-open':
        return ok(this.pickups.remoteOpen(String(id), args));
      default:
        return notFound('what it names');
    }
  }
}
