/**
 * The mechanic's one-time QR token (docs/protocol.md, "Mechanics"): made and checked by this
 * locker only, so no back office and no tablet can mint one. A compact JWT (HS256, the key in
 * `<dataDir>/mechanic-token.key`) carrying the request, the tablet that asked, the reservation,
 * the purpose and a nonce.
 *
 * Its age is counted on the locker's MONOTONIC clock, never on the wall clock: the token names
 * this service start (`boot`) and the monotonic millisecond it was made (`mono`). A Pi that
 * booted with a wrong date still serves mechanics, and no wall date, however wrong, makes an
 * old token young again; a token made before a restart is refused (its clock is gone).
 * "Used once" is not decided here: the nonce is burnt in the store (core/mechanic-desk.ts).
 *
 * A token is never logged.
 */
import { randomBytes } from 'node:crypto';
// The two subpaths, not the package index: the index loads about 45 modules a locker never uses
// (JWE, JWKS, key generation), about 50 ms of CPU at every start (docs/performance.md).
import { SignJWT } from 'jose/jwt/sign';
import { jwtVerify } from 'jose/jwt/verify';

export type MechanicPurpose = 'retrieve' | 'deposit';

/** What a token says, once its signature is checked. */
export interface MechanicClaims {
  requestId: string;
  tabletId: string;
  reservationId: string;
  purpose: MechanicPurpose;
  nonce: string;
  bootId: string;
  issuedMono: number;
}

/** Why a token was refused (also the `reason` of the `mechanic.refused` event). */
export type TokenRefusal = 'MALFORMED' | 'BAD_SIGNATURE' | 'WRONG_LOCKER' | 'EXPIRED';

export type TokenCheck = { ok: true; claims: MechanicClaims } | { ok: false; reason: TokenRefusal };

export interface MechanicTokenOptions {
  /** The locker's secret (32 bytes or more), kept in its data dir. */
  key: Uint8Array;
  unitId: string;
  /** This service start: a token from another one is expired. */
  bootId: string;
  /** Monotonic milliseconds since this service started (the outbox's clock). */
  monoClock: () => number;
  /** How long a token is valid; default 60 s. */
  ttlMs?: number;
}

export const MECHANIC_TOKEN_TTL_MS = 60_000;
const ALG = 'HS256';
/** A QR code stays easy to scan from a tablet below this many characters. */
const MAX_TOKEN_LENGTH = 1024;

export class MechanicTokens {
  readonly ttlMs: number;
  readonly #key: Uint8Array;
  readonly #unitId: string;
  readonly #bootId: string;
  readonly #mono: () => number;

  constructor(options: MechanicTokenOptions) {
    if (options.key.length < 32) throw new Error('the mechanic token key must be at least 32 bytes');
    this.#key = options.key;
    this.#unitId = options.unitId;
    this.#bootId = options.bootId;
    this.#mono = options.monoClock;
    this.ttlMs = options.ttlMs ?? MECHANIC_TOKEN_TTL_MS;
  }

  /** A fresh token for this request, and the claims it carries (the nonce goes into the store). */
  async issue(request: Pick<MechanicClaims, 'requestId' | 'tabletId' | 'reservationId' | 'purpose'>): Promise<{ token: string; claims: MechanicClaims }> {
    const claims: MechanicClaims = { ...request, nonce: randomBytes(16).toString('base64url'), bootId: this.#bootId, issuedMono: Math.floor(this.#mono()) };
    const token = await new SignJWT({
      rid: claims.requestId,
      tab: claims.tabletId,
      res: claims.reservationId,
      pur: claims.purpose,
      non: claims.nonce,
      boot: claims.bootId,
      mono: claims.issuedMono,
    })
      .setProtectedHeader({ alg: ALG, typ: 'keylocker-mechanic+jwt' })
      .setIssuer(this.#unitId)
      .setAudience(this.#unitId)
      .sign(this.#key);
    return { token, claims };
  }

  /**
   * Signature (HS256 only: `alg: none` and every other algorithm are refused), then the
   * locker it names, then its age on the monotonic clock. The binding to the tablet, the
   * request and the purpose is checked by the caller against the request it holds.
   */
  async verify(token: string): Promise<TokenCheck> {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'MALFORMED' };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: [ALG], typ: 'keylocker-mechanic+jwt' }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { ok: false, reason: code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID' ? 'MALFORMED' : 'BAD_SIGNATURE' };
    }
    const claims = claimsOf(payload);
    if (claims === null) return { ok: false, reason: 'MALFORMED' };
    if (payload.iss !== this.#unitId || payload.aud !== this.#unitId) return { ok: false, reason: 'WRONG_LOCKER' };
    if (claims.bootId !== this.#bootId) return { ok: false, reason: 'EXPIRED' };
    const age = this.#mono() - claims.issuedMono;
    if (age < 0 || age > this.ttlMs) return { ok: false, reason: 'EXPIRED' };
    return { ok: true, claims };
  }
}

function claimsOf(p: Record<string, unknown>): MechanicClaims | null {
  const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;
  if (!text(p.rid) || !text(p.tab) || !text(p.res) || !text(p.non) || !text(p.boot)) return null;
  if (p.pur !== 'retrieve' && p.pur !== 'deposit') return null;
  if (typeof p.mono !== 'number' || !Number.isSafeInteger(p.mono)) return null;
  return { requestId: p.rid, tabletId: p.tab, reservationId: p.res, purpose: p.pur, nonce: p.non, bootId: p.boot, issuedMono: p.mono };
}
