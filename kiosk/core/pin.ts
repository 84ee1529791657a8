import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * PINs are stored only as scrypt hashes in a self-describing string,
 * `scrypt$N$r$p$<salt base64>$<hash base64>`, so the cost can be raised later without
 * invalidating the hashes already issued. No function here puts a PIN in an error message.
 *
 * Two kinds of hash reach a locker (docs/protocol.md, "PINs"):
 * - a unit hash: made with the salt and cost this locker publishes in its `hello`
 *   (UnitPinHashing). Every reservation's unit hash of the same PIN is the same string, so the
 *   hash part doubles as an index: a typed PIN costs one scrypt and one indexed lookup, however
 *   many reservations the locker holds, and two reservations with one PIN are seen at once;
 * - a legacy hash: salted per reservation (a back office that does not use the unit's salt,
 *   or one made before it knew it). It still works, at one scrypt per candidate.
 */

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * 2^12: about 12 ms per hash here (x86, `npm run bench`), an estimated 40-60 ms on a Pi 4,
 * 4 MiB of memory. A 6-digit PIN is not protected by scrypt against an offline search at any
 * cost a Pi can afford (10^6 guesses): the lockout is the real defence, the hash only keeps
 * PINs out of plain sight (docs/security.md). Old hashes carry their own cost and still verify.
 */
export const PIN_HASH_COST: ScryptCost = { N: 2 ** 12, r: 8, p: 1 };

/** A PIN is exactly this many ASCII digits (protocol v1). */
export const PIN_LENGTH = 6;
export const PIN_LENGTH_DEFAULT = PIN_LENGTH;
const PIN_LENGTH_MIN = 4;
const PIN_LENGTH_MAX = 8;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * The scrypt costs a hash may name (docs/protocol.md): N a power of two from 2^10 to 2^15,
 * r 1-8, p 1-2, so one check needs at most 32 MiB and about 16 times the default work. A back
 * office that sends more (say N=2^20, r=32, p=16: 4 GiB per check) is refused at the door,
 * never run.
 */
export const ACCEPTED_PIN_COST = { N: [2 ** 10, 2 ** 15], r: [1, 8], p: [1, 2] } as const;

/** What a locker tells its back office in `hello`: hash every PIN for this unit with this salt and cost. */
export interface UnitPinHashing extends ScryptCost {
  /** 16 random bytes, base64; made once per unit (per database). Not a secret. */
  salt: string;
}

export type PinErrorCode = 'PIN_MALFORMED' | 'PIN_HASH_MALFORMED';

export class PinError extends Error {
  override readonly name = 'PinError';
  constructor(
    readonly code: PinErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function deriveKey(pin: string, salt: Buffer, keyLength: number, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * cost.N * cost.r + 1024 * 1024; // twice what scrypt needs, plus slack
    scrypt(pin, salt, keyLength, { ...cost, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Throws PIN_HASH_MALFORMED when a cost is outside ACCEPTED_PIN_COST. */
export function assertAcceptedCost(cost: ScryptCost): void {
  const powerOfTwo = Number.isInteger(cost.N) && cost.N > 0 && (cost.N & (cost.N - 1)) === 0;
  // Indexed, not destructured: a snapshot checks thousands of hashes, and destructuring an array runs its iterator.
  const within = (value: number, range: readonly [number, number]): boolean =>
    Number.isInteger(value) && value >= range[0] && value <= range[1];
  const { N, r, p } = ACCEPTED_PIN_COST;
  if (!powerOfTwo || !within(cost.N, N) || !within(cost.r, r) || !within(cost.p, p)) {
    throw new PinError('PIN_HASH_MALFORMED', `scrypt cost N=${cost.N} r=${cost.r} p=${cost.p} is outside the accepted range (N 2^10-2^15, r 1-8, p 1-2)`);
  }
}

function assertPinShape(pin: string): void {
  if (!/^\d+$/.test(pin) || pin.length < PIN_LENGTH_MIN || pin.length > PIN_LENGTH_MAX) {
    throw new PinError('PIN_MALFORMED', `a PIN is ${PIN_LENGTH_MIN} to ${PIN_LENGTH_MAX} digits`);
  }
}

function encode(cost: ScryptCost, salt: Buffer, key: Buffer): string {
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** A legacy hash with a random salt of its own. Tests pass a low `cost`; production uses the default. */
export async function hashPin(pin: string, cost: ScryptCost = PIN_HASH_COST): Promise<string> {
  assertPinShape(pin);
  assertAcceptedCost(cost);
  const salt = randomBytes(SALT_BYTES);
  return encode(cost, salt, await deriveKey(pin, salt, KEY_BYTES, cost));
}

/** A unit hash: the salt and cost the unit published. The same PIN gives the same string. */
export async function hashPinForUnit(pin: string, unit: UnitPinHashing): Promise<string> {
  assertPinShape(pin);
  assertAcceptedCost(unit);
  const salt = Buffer.from(unit.salt, 'base64');
  return encode(unit, salt, await deriveKey(pin, salt, KEY_BYTES, unit));
}

/** The index of a typed PIN: the hash part its unit hash would have. One scrypt. */
export async function pinIndex(pin: string, unit: UnitPinHashing): Promise<string> {
  return (await deriveKey(pin, Buffer.from(unit.salt, 'base64'), KEY_BYTES, unit)).toString('base64');
}

/** A unit's salt as bytes, decoded once per unit (a snapshot asks for it thousands of times). */
const unitSalts = new WeakMap<UnitPinHashing, Buffer>();
function saltOf(unit: UnitPinHashing): Buffer {
  let salt = unitSalts.get(unit);
  if (!salt) {
    salt = Buffer.from(unit.salt, 'base64');
    unitSalts.set(unit, salt);
  }
  return salt;
}

/**
 * The index of a stored hash: its hash part when it was made with this unit's salt and cost,
 * null for a legacy hash. Throws PIN_HASH_MALFORMED for anything that is not a hash.
 *
 * The index is the key's base64 as Buffer would write it. A snapshot indexes thousands of
 * hashes, so the usual case compares and returns text: the unit's own salt text, and a key
 * already written that way (CANONICAL_KEY). Anything else is decoded to bytes and compared so.
 */
export function indexOfHash(encoded: string, unit: UnitPinHashing | null): string | null {
  const parsed = parseHash(encoded);
  if (!unit) return null;
  const { cost, saltText, keyText } = parsed;
  if (cost.N !== unit.N || cost.r !== unit.r || cost.p !== unit.p) return null;
  if (saltText === unit.salt && CANONICAL_KEY.test(keyText)) return keyText;
  const key = Buffer.from(keyText, 'base64');
  return Buffer.from(saltText, 'base64').equals(saltOf(unit)) && key.length === KEY_BYTES ? key.toString('base64') : null;
}

/** KEY_BYTES (32) in base64 as Buffer writes it: 43 characters, the last with its 2 unused bits 0, and one '='. */
const CANONICAL_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** A fresh salt for a unit, at the default cost. */
export function newUnitPinHashing(cost: ScryptCost = PIN_HASH_COST): UnitPinHashing {
  assertAcceptedCost(cost);
  return { salt: randomBytes(SALT_BYTES).toString('base64'), ...cost };
}

/** Whether a value read back from storage (or a hello) is a usable UnitPinHashing. */
export function isUnitPinHashing(value: unknown): value is UnitPinHashing {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.salt !== 'string' || !/^[A-Za-z0-9+/]{22}==$/.test(v.salt)) return false;
  try {
    assertAcceptedCost({ N: Number(v.N), r: Number(v.r), p: Number(v.p) });
    return true;
  } catch {
    return false;
  }
}

/** False for a wrong PIN; throws PIN_HASH_MALFORMED if `encoded` is not an acceptable hash. */
export async function verifyPin(pin: string, encoded: string): Promise<boolean> {
  const { cost, salt, key } = decodeHash(encoded);
  const candidate = await deriveKey(pin, salt, key.length, cost);
  return timingSafeEqual(candidate, key);
}

/** Throws PIN_HASH_MALFORMED unless `encoded` is a well-formed hash at an accepted cost. */
export function assertPinHash(encoded: string): void {
  decodeHash(encoded);
}

/** The whole shape in one pass (a snapshot parses thousands): scheme, N, r, p, salt, hash. */
const HASH_SHAPE = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** A hash's parts, checked but not decoded: its cost accepted, its salt and key long enough. */
function parseHash(encoded: string): { cost: ScryptCost; saltText: string; keyText: string } {
  const match = HASH_SHAPE.exec(encoded);
  if (!match) throw new PinError('PIN_HASH_MALFORMED', 'stored PIN hash is not in the scrypt$N$r$p$salt$hash format');
  const cost = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  const saltText = match[4] ?? '';
  const keyText = match[5] ?? '';
  assertAcceptedCost(cost);
  if (base64Bytes(keyText) < 16) throw new PinError('PIN_HASH_MALFORMED', 'stored PIN hash is too short');
  if (base64Bytes(saltText) < 8) throw new PinError('PIN_HASH_MALFORMED', 'stored PIN hash has too short a salt');
  return { cost, saltText, keyText };
}

/** How many bytes Buffer.from(text, 'base64') gives for text of HASH_SHAPE's alphabet: 6 bits a character, padding not counted, a partial byte dropped. */
function base64Bytes(text: string): number {
  let characters = text.length;
  while (characters > 0 && text.charCodeAt(characters - 1) === 61 /* = */) characters -= 1;
  return Math.floor((characters * 6) / 8);
}

function decodeHash(encoded: string): { cost: ScryptCost; salt: Buffer; key: Buffer } {
  const { cost, saltText, keyText } = parseHash(encoded);
  return { cost, salt: Buffer.from(saltText, 'base64'), key: Buffer.from(keyText, 'base64') };
}

function assertPinLength(length: number): void {
  if (!Number.isInteger(length) || length < PIN_LENGTH_MIN || length > PIN_LENGTH_MAX) {
    throw new RangeError(`PIN length must be an integer from ${PIN_LENGTH_MIN} to ${PIN_LENGTH_MAX}, got ${length}`);
  }
}

/** Exactly `length` ASCII digits. */
export function isWellFormedPin(pin: string, length: number = PIN_LENGTH_DEFAULT): boolean {
  assertPinLength(length);
  return pin.length === length && /^[0-9]+$/.test(pin);
}

/**
 * A uniformly random PIN, redrawn when it is one a stranger would try first
 * (all one digit, or a straight run up or down such as 123456 or 987654).
 */
export function generatePin(length: number = PIN_LENGTH_DEFAULT): string {
  assertPinLength(length);
  for (;;) {
    const digits = Array.from({ length }, () => randomInt(10));
    if (!isObvious(digits)) return digits.join('');
  }
}

function isObvious(digits: readonly number[]): boolean {
  const steps = new Set(digits.slice(1).map((digit, i) => digit - (digits[i] ?? 0)));
  return steps.size === 1 && [0, 1, -1].includes([...steps][0] ?? NaN);
}
