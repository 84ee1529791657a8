import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * PINs are stored only as scrypt hashes in a self-describing string,
 * `scrypt$N$r$p$<salt base64>$<hash base64>`, so the cost can be raised later without
 * invalidating the hashes already issued. No function here puts a PIN in an error message.
 */

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/**
 * 2^12: about 12 ms per hash here (x86, `npm run bench`), an estimated 40 ms on a Pi 4, 4 MiB
 * of memory. A bare PIN is checked against every candidate of the day, so this cost is paid
 * ~30 times per OK; with 2^14 that measured 690 ms here for 30 candidates. A 6-digit PIN is
 * not protected by scrypt against an offline search at any cost a Pi can afford: the lockout
 * is the real defence, the hash only keeps PINs out of plain sight. Old hashes carry their
 * own cost and still verify.
 */
export const PIN_HASH_COST: ScryptCost = { N: 2 ** 12, r: 8, p: 1 };

export const PIN_LENGTH_DEFAULT = 6;
const PIN_LENGTH_MIN = 4;
const PIN_LENGTH_MAX = 8;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Costs a stored hash may name; anything outside is refused rather than run (memory, time). */
const COST_LIMITS = { N: [2 ** 4, 2 ** 20], r: [1, 32], p: [1, 16] } as const;

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

function assertCost(cost: ScryptCost): void {
  const powerOfTwo = (cost.N & (cost.N - 1)) === 0;
  const within = (value: number, [min, max]: readonly [number, number]): boolean =>
    Number.isInteger(value) && value >= min && value <= max;
  if (!powerOfTwo || !within(cost.N, COST_LIMITS.N) || !within(cost.r, COST_LIMITS.r) || !within(cost.p, COST_LIMITS.p)) {
    throw new PinError('PIN_HASH_MALFORMED', `scrypt cost N=${cost.N} r=${cost.r} p=${cost.p} is outside the accepted range`);
  }
}

/** Tests pass a low `cost`; production uses the default. */
export async function hashPin(pin: string, cost: ScryptCost = PIN_HASH_COST): Promise<string> {
  if (!/^\d+$/.test(pin) || pin.length < PIN_LENGTH_MIN || pin.length > PIN_LENGTH_MAX) {
    throw new PinError('PIN_MALFORMED', `a PIN is ${PIN_LENGTH_MIN} to ${PIN_LENGTH_MAX} digits`);
  }
  assertCost(cost);
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(pin, salt, KEY_BYTES, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** False for a wrong PIN; throws PIN_HASH_MALFORMED if `encoded` is not a hash from hashPin. */
export async function verifyPin(pin: string, encoded: string): Promise<boolean> {
  const { cost, salt, key } = decodeHash(encoded);
  const candidate = await deriveKey(pin, salt, key.length, cost);
  return timingSafeEqual(candidate, key);
}

function decodeHash(encoded: string): { cost: ScryptCost; salt: Buffer; key: Buffer } {
  const parts = encoded.split('$');
  const [scheme, n, r, p, salt, key] = parts;
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
  if (
    parts.length !== 6 ||
    scheme !== 'scrypt' ||
    !/^\d{1,8}$/.test(n ?? '') ||
    !/^\d{1,3}$/.test(r ?? '') ||
    !/^\d{1,3}$/.test(p ?? '') ||
    !base64.test(salt ?? '') ||
    !base64.test(key ?? '')
  ) {
    throw new PinError('PIN_HASH_MALFORMED', 'stored PIN hash is not in the scrypt$N$r$p$salt$hash format');
  }
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  assertCost(cost);
  const keyBytes = Buffer.from(key ?? '', 'base64');
  if (keyBytes.length < 16) throw new PinError('PIN_HASH_MALFORMED', 'stored PIN hash is too short');
  return { cost, salt: Buffer.from(salt ?? '', 'base64'), key: keyBytes };
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
