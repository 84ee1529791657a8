/**
 * Who is connecting (docs/protocol.md, "Connection" and "Clock"): the upgrade's bearer token must
 * be an EdDSA JWT of a registered unit, its header's `kid` the RFC 7638 thumbprint of the key
 * registered for that unit, issuer and subject the unit id, our audience, with iat, exp (at most
 * 300 s after iat) and a jti never seen before. Its times must be within CLOCK_TOLERANCE_S of our clock; a token
 * whose only fault is its times is refused as CLOCK_SKEW, and every refusal tells our time (the
 * body's `error.serverTime` and the `Date` header) so that a locker with a wrong clock can sign
 * its next token with it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, type CryptoKey, type JWK } from 'jose';
import type { Logger } from '../../kiosk/logging.js';
import { jwkThumbprint } from '../../kiosk/sync/identity.js';
import type { Unit } from './store.js';

/** Tokens older than this (by `iat`), or valid for longer, are refused. */
export const MAX_TOKEN_AGE_S = 300;
/** How far a token's iat and exp may be from our clock (a Pi without a real-time clock drifts). */
export const CLOCK_TOLERANCE_S = 60;

export type AuthOutcome = { ok: true; unitId: string } | { ok: false; code: 'UNAUTHORISED' | 'CLOCK_SKEW'; reason: string };

export interface TokenCheckDeps {
  audience: string;
  getUnit: (unitId: string) => Promise<Unit | null>;
  /** Records a token id as used until it expires; false if it was used before (a replay). */
  useTokenId: (unitId: string, jti: string, expiresAt: Date) => Promise<boolean>;
  now: () => Date;
  logger: Logger;
}

export class TokenChecker {
  readonly #o: TokenCheckDeps;
  readonly #keys = new Map<string, { x: string; key: CryptoKey }>();

  constructor(options: TokenCheckDeps) {
    this.#o = options;
  }

  /** The unit the upgrade's token proves, or why not. Never logs the token. */
  async check(request: IncomingMessage): Promise<AuthOutcome> {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(request.headers.authorization ?? '');
    const token = match?.[1];
    if (!token) return this.#refused('UNAUTHORISED', 'no bearer token');
    let issuer: unknown;
    let kid: unknown;
    try {
      issuer = decodeJwt(token).iss;
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return this.#refused('UNAUTHORISED', 'token unreadable');
    }
    if (typeof issuer !== 'string') return this.#refused('UNAUTHORISED', 'token without issuer');
    const unit = await this.#o.getUnit(issuer);
    if (!unit) return this.#refused('UNAUTHORISED', 'unknown unit', issuer.slice(0, 100));
    const jwk = unit.publicKeyJwk;
    if (typeof kid !== 'string' || kid !== jwkThumbprint({ kty: String(jwk.kty), crv: String(jwk.crv), x: String(jwk.x) })) {
      return this.#refused('UNAUTHORISED', 'kid is not the registered key', unit.unitId);
    }
    try {
      const key = await this.#keyOf(unit.unitId, jwk);
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['EdDSA'],
        audience: this.#o.audience,
        issuer: unit.unitId,
        subject: unit.unitId,
        maxTokenAge: MAX_TOKEN_AGE_S,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['iat', 'exp', 'jti'],
        currentDate: this.#o.now(),
      });
      if ((payload.exp ?? 0) - (payload.iat ?? 0) > MAX_TOKEN_AGE_S) return this.#refused('UNAUTHORISED', 'token valid for too long', unit.unitId);
      // Single use (P-AUTH-8): a token seen once (a replay, by whoever copied it) never connects
      // again, so it cannot push the real unit's connection off either.
      if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > 200) return this.#refused('UNAUTHORISED', 'token without a usable jti', unit.unitId);
      if (!(await this.#o.useTokenId(unit.unitId, payload.jti, new Date((payload.exp ?? 0) * 1000)))) return this.#refused('UNAUTHORISED', 'token replayed', unit.unitId);
      return { ok: true, unitId: unit.unitId };
    } catch (error) {
      const { code, claim } = error as { code?: string; claim?: string };
      // The signature was checked first: only a real unit's token can learn it is a clock problem.
      const timing = code === 'ERR_JWT_EXPIRED' || (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && (claim === 'iat' || claim === 'nbf'));
      return this.#refused(timing ? 'CLOCK_SKEW' : 'UNAUTHORISED', code ?? 'token invalid', unit.unitId);
    }
  }

  #refused(code: 'UNAUTHORISED' | 'CLOCK_SKEW', reason: string, unitId?: string): AuthOutcome {
    this.#o.logger.warn({ reason, code, ...(unitId ? { unitId } : {}) }, 'locker connection refused');
    return { ok: false, code, reason };
  }

  async #keyOf(unitId: string, jwk: JWK): Promise<CryptoKey> {
    const cached = this.#keys.get(unitId);
    if (cached && cached.x === jwk.x) return cached.key;
    const key = (await importJWK({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }, 'EdDSA')) as CryptoKey;
    this.#keys.set(unitId, { x: String(jwk.x), key });
    return key;
  }
}

/**
 * Answers an upgrade request with an HTTP error and no upgrade: a JSON body
 * `{ "error": { code, message, serverTime } }` and a `Date` header, both telling our time.
 */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, now: Date): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message, serverTime: now.toISOString() } });
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' }[status] ?? 'Error';
  socket.end(
    [
      `HTTP/1.1 ${status} ${reason}`,
      'Connection: close',
      `Date: ${now.toUTCString()}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...(status === 401 ? ['WWW-Authenticate: Bearer realm="keylocker"'] : []),
      '',
      body,
    ].join('\r\n'),
  );
}
