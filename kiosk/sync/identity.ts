/**
 * The unit's identity towards its back office: one Ed25519 key pair, made at first start and
 * kept in `<dataDir>/unit-key.pem` (PKCS#8 PEM, mode 0600). The public half is registered with
 * the back office when the unit is enrolled (docs/protocol.md, "Enrolment"): as a JWK whose
 * `kid` is its RFC 7638 thumbprint, the same `kid` every token's header carries; the private
 * half signs the short-lived JWT the link presents on every connect.
 *
 * Neither the key nor a token is ever logged or put into an error message.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
// The subpath, not 'jose': the package's index loads every JOSE module (about 170 files) at start.
import { SignJWT } from 'jose/jwt/sign';
import type { JWK } from 'jose';

export const KEY_FILE_NAME = 'unit-key.pem';

/** The protocol allows a token to live at most 5 minutes. */
export const MAX_TOKEN_TTL_S = 300;

export class IdentityError extends Error {
  override readonly name = 'IdentityError';
  constructor(
    readonly code: 'KEY_FILE_TOO_OPEN' | 'KEY_FILE_INVALID' | 'KEY_FILE_NOT_A_FILE' | 'TTL_INVALID',
    message: string,
  ) {
    super(message);
  }
}

export interface SignTokenOptions {
  /** The back office's audience (`backOffice.audience`). */
  audience: string;
  /** Lifetime in seconds, 1..300; default 300. */
  ttlS?: number;
  /** The time to stamp (`iat`); default now. The link passes a corrected time when it knows our clock is off. */
  now?: Date;
}

export interface UnitIdentity {
  readonly unitId: string;
  /** Where the private key lives. */
  readonly keyPath: string;
  /** True when this call generated the key (first start): worth a log line and a registration. */
  readonly created: boolean;
  /** The public key as a JWK for enrolment: `{ kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }`. */
  readonly publicKeyJwk: JWK;
  /** The public key as SPKI PEM, for enrolment with tools that want PEM. */
  readonly publicKeyPem: string;
  /** RFC 7638 SHA-256 thumbprint of the public JWK (base64url, 43 characters): the tokens' `kid`. */
  readonly kid: string;
  /** What a technician reads and compares: the kid in groups of four (see fingerprintOf). */
  readonly fingerprint: string;
  /** A fresh JWT for the Authorization header: EdDSA, iss = sub = unitId, aud, iat, exp, jti. */
  signToken(options: SignTokenOptions): Promise<string>;
}

/**
 * Reads the unit's key from `<dataDir>/unit-key.pem`, or generates and stores one when there
 * is none. Refuses a key file that group or others may read: a key that may have leaked must
 * be replaced (and re-registered), not silently used.
 */
export async function loadOrCreateIdentity(dataDir: string, unitId: string): Promise<UnitIdentity> {
  if (unitId.length === 0) throw new IdentityError('KEY_FILE_INVALID', 'the unit id must not be empty');
  const keyPath = join(dataDir, KEY_FILE_NAME);
  let privateKey = await readKeyFile(keyPath);
  let created = false;
  if (privateKey === null) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const generated = generateKeyPairSync('ed25519').privateKey;
    const pem = generated.export({ format: 'pem', type: 'pkcs8' }).toString();
    created = await writeKeyFileExclusive(dataDir, keyPath, pem);
    // Another process may have won the race to create it: use whichever key is on disk.
    privateKey = created ? generated : await readKeyFile(keyPath);
    if (privateKey === null) throw new IdentityError('KEY_FILE_INVALID', `${keyPath} vanished while it was being created`);
  }
  return buildIdentity(unitId, keyPath, privateKey, created);
}

function buildIdentity(unitId: string, keyPath: string, privateKey: KeyObject, created: boolean): UnitIdentity {
  const publicKey = createPublicKey(privateKey);
  const exported = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = jwkThumbprint({ kty: String(exported.kty), crv: String(exported.crv), x: String(exported.x) });
  const publicKeyJwk: JWK = { kty: exported.kty, crv: exported.crv, x: exported.x, kid, alg: 'EdDSA', use: 'sig' };
  const publicKeyPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  return {
    unitId,
    keyPath,
    created,
    publicKeyJwk,
    publicKeyPem,
    kid,
    fingerprint: fingerprintOf(kid),
    async signToken({ audience, ttlS = MAX_TOKEN_TTL_S, now = new Date() }: SignTokenOptions): Promise<string> {
      if (!Number.isInteger(ttlS) || ttlS < 1 || ttlS > MAX_TOKEN_TTL_S) {
        throw new IdentityError('TTL_INVALID', `a token lives 1..${MAX_TOKEN_TTL_S} s, not ${ttlS}`);
      }
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT({})
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid })
        .setIssuer(unitId)
        .setSubject(unitId)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlS)
        .setJti(randomUUID())
        .sign(privateKey);
    },
  };
}

/**
 * RFC 7638 thumbprint of an Ed25519 (OKP) public JWK: SHA-256 of the JSON of its required
 * members in lexicographic order, `{"crv":"Ed25519","kty":"OKP","x":"..."}`, base64url. The
 * same as jose's `calculateJwkThumbprint`, computed here synchronously.
 */
export function jwkThumbprint(jwk: { kty: string; crv: string; x: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * What a technician reads aloud or compares on two screens: the kid, in groups of four
 * separated by spaces ("Xo3K 9fQm ..."; base64url itself uses '-' and '_'): the whole
 * thumbprint, so nothing is lost by comparing this form.
 */
export function fingerprintOf(kid: string): string {
  return kid.match(/.{1,4}/g)?.join(' ') ?? kid;
}

/** What a back office needs to enrol this unit: its id and its public JWK (with `kid`). */
export interface EnrolmentRecord {
  unitId: string;
  kid: string;
  publicJwk: JWK;
}

/**
 * The enrolment record (`lockerctl provision` prints it; /health shows it): a JSON object a
 * back office registers, the entry format of the reference back office's `--units` file.
 */
export function enrolmentRecord(identity: Pick<UnitIdentity, 'unitId' | 'kid' | 'publicKeyJwk'>): EnrolmentRecord {
  return { unitId: identity.unitId, kid: identity.kid, publicJwk: { ...identity.publicKeyJwk } };
}

/** The private key in the file, or null when there is no file. */
async function readKeyFile(keyPath: string): Promise<KeyObject | null> {
  let info;
  try {
    info = await stat(keyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (!info.isFile()) throw new IdentityError('KEY_FILE_NOT_A_FILE', `${keyPath} is not a regular file`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
    throw new IdentityError(
      'KEY_FILE_TOO_OPEN',
      `${keyPath} has mode ${mode}: the unit's private key must be readable by its owner only. ` +
        `If nobody else can have read it, run "chmod 600 ${keyPath}"; otherwise delete it, restart (a new key is made) and register the new public key with the back office`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: await readFile(keyPath), format: 'pem' });
  } catch {
    // The parser's message is not quoted: it could echo part of the file.
    throw new IdentityError('KEY_FILE_INVALID', `${keyPath} is not a PKCS#8 PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new IdentityError('KEY_FILE_INVALID', `${keyPath} holds a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
  }
  return key;
}

/**
 * Writes the key so that a power cut leaves either no file or the whole file: a temporary file
 * (0600 from the start, never wider), fsynced, then hard-linked to its name (which fails
 * instead of replacing a key another process wrote meanwhile), then the directory fsynced.
 * Returns false when a key file already existed.
 */
async function writeKeyFileExclusive(dir: string, keyPath: string, pem: string): Promise<boolean> {
  const temp = join(dir, `.${KEY_FILE_NAME}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(pem);
    await handle.chmod(0o600); // in case of an odd umask or filesystem default
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, keyPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // A filesystem without hard links: rename, after checking nothing appeared meanwhile.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    if ((await readKeyFile(keyPath)) !== null) return false;
    await rename(temp, keyPath);
  } finally {
    await rm(temp, { force: true });
  }
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return true;
}
