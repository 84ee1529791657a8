import t from 'tap';
import {
  assertPinHash,
  generatePin,
  hashPin,
  hashPinForUnit,
  indexOfHash,
  isUnitPinHashing,
  isWellFormedPin,
  newUnitPinHashing,
  PIN_HASH_COST,
  PinError,
  pinIndex,
  verifyPin,
  type ScryptCost,
} from '../../kiosk/core/pin.js';

const CHEAP: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };

t.test('a hash verifies its own PIN and no other', async (t) => {
  const hash = await hashPin('493817', CHEAP);
  t.equal(await verifyPin('493817', hash), true);
  t.equal(await verifyPin('493818', hash), false);
  t.equal(await verifyPin('49381', hash), false);
  t.equal(await verifyPin('', hash), false);
});

t.test('the hash describes itself and never contains the PIN', async (t) => {
  const hash = await hashPin('493817', CHEAP);
  const [scheme, n, r, p, salt, key, ...rest] = hash.split('$');
  t.same([scheme, n, r, p], ['scrypt', '1024', '8', '1']);
  t.equal(Buffer.from(salt ?? '', 'base64').length, 16);
  t.equal(Buffer.from(key ?? '', 'base64').length, 32);
  t.same(rest, []);
  t.notMatch(hash, /493817/);
});

t.test('the same PIN hashes differently each time (random salt)', async (t) => {
  t.not(await hashPin('111222', CHEAP), await hashPin('111222', CHEAP));
});

t.test('the production cost is what the hash records', async (t) => {
  const hash = await hashPin('493817');
  t.match(hash, new RegExp(`^scrypt\\$${PIN_HASH_COST.N}\\$${PIN_HASH_COST.r}\\$${PIN_HASH_COST.p}\\$`));
  t.equal(await verifyPin('493817', hash), true);
});

t.test('a malformed stored hash is an error, not a wrong PIN', async (t) => {
  const good = await hashPin('493817', CHEAP);
  const bad = [
    '',
    'plaintext',
    good.replace('scrypt', 'bcrypt'),
    good.replace('$1024$', '$1000$'), // N not a power of two
    good.replace('$1024$', `$${2 ** 22}$`), // too costly to run
    good.replace('$1024$', '$256$'), // below the accepted range
    `${good}$extra`,
    good.slice(0, good.lastIndexOf('$') + 4),
  ];
  for (const hash of bad) {
    await t.rejects(verifyPin('493817', hash), { code: 'PIN_HASH_MALFORMED' }, hash.slice(0, 20));
  }
});

t.test('hashPin refuses what is not a PIN, without echoing it', async (t) => {
  for (const pin of ['', '123', '123456789', '12a456', ' 123456']) {
    const error = await hashPin(pin, CHEAP).then(
      () => null,
      (e: unknown) => e,
    );
    t.ok(error instanceof PinError && error.code === 'PIN_MALFORMED', JSON.stringify(pin));
    if (pin.length > 0) t.notMatch(String((error as Error).message), pin);
  }
});

t.test('isWellFormedPin: exactly N ASCII digits', async (t) => {
  t.equal(isWellFormedPin('123456'), true);
  t.equal(isWellFormedPin('012345'), true);
  t.equal(isWellFormedPin('12345'), false);
  t.equal(isWellFormedPin('1234567'), false);
  t.equal(isWellFormedPin('12345a'), false);
  t.equal(isWellFormedPin('١٢٣٤٥٦'), false); // Arabic-Indic digits
  t.equal(isWellFormedPin('1234', 4), true);
  t.equal(isWellFormedPin('12345678', 8), true);
  t.throws(() => isWellFormedPin('123', 3), RangeError);
  t.throws(() => isWellFormedPin('123456789', 9), RangeError);
});

t.test('generatePin: right length, digits only, varied, never obvious', async (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i += 1) {
    const pin = generatePin(4);
    if (!/^\d{4}$/.test(pin)) t.fail(`bad shape: ${pin}`);
    if (/^(\d)\1+$/.test(pin) || '0123456789'.includes(pin) || '9876543210'.includes(pin)) t.fail(`obvious: ${pin}`);
    seen.add(pin);
  }
  t.ok(seen.size > 1500, `${seen.size} distinct of 2000`);
  t.match(generatePin(), /^\d{6}$/);
  t.match(generatePin(8), /^\d{8}$/);
  t.throws(() => generatePin(3), RangeError);
});

t.test('accepted costs: N 2^10-2^15, r 1-8, p 1-2; what a hostile back office might send is refused, never run', async (t) => {
  const hash = await hashPin('493817', CHEAP);
  const withCost = (N: number, r: number, p: number): string => hash.replace(/^scrypt\$\d+\$\d+\$\d+\$/, `scrypt$${N}$${r}$${p}$`);
  for (const [N, r, p] of [[2 ** 10, 1, 1], [2 ** 15, 8, 2], [2 ** 12, 8, 1]] as const) t.doesNotThrow(() => assertPinHash(withCost(N, r, p)), `N=${N} r=${r} p=${p} accepted`);
  for (const [N, r, p] of [[2 ** 20, 32, 16], [2 ** 16, 8, 1], [2 ** 15, 9, 1], [2 ** 12, 8, 3], [2 ** 9, 8, 1], [4096, 0, 1]] as const) {
    t.throws(() => assertPinHash(withCost(N, r, p)), { code: 'PIN_HASH_MALFORMED' }, `N=${N} r=${r} p=${p} refused`);
  }
  await t.rejects(hashPin('493817', { N: 2 ** 16, r: 8, p: 1 }), { code: 'PIN_HASH_MALFORMED' });
});

t.test("unit hashes: the same PIN gives the same hash for one unit, and its hash part is the typed PIN's index", async (t) => {
  const unit = newUnitPinHashing(CHEAP);
  const other = newUnitPinHashing(CHEAP);
  t.ok(isUnitPinHashing(unit));
  const a = await hashPinForUnit('493817', unit);
  t.equal(await hashPinForUnit('493817', unit), a, 'deterministic for one unit');
  t.not(await hashPinForUnit('493817', other), a, 'another unit, another salt');
  t.equal(await verifyPin('493817', a), true, 'a unit hash is an ordinary hash too');
  const index = indexOfHash(a, unit);
  t.equal(index, a.split('$')[5]);
  t.equal(await pinIndex('493817', unit), index, 'one scrypt of the typed PIN finds it');
  t.not(await pinIndex('493818', unit), index);
  t.equal(indexOfHash(a, other), null, "another unit's hash is legacy here");
  t.equal(indexOfHash(await hashPin('493817', CHEAP), unit), null, 'a random salt is legacy');
  t.equal(indexOfHash(a, null), null, 'no unit salt: everything is legacy');
  t.throws(() => indexOfHash('plaintext', unit), { code: 'PIN_HASH_MALFORMED' });
  t.notOk(isUnitPinHashing({ ...unit, N: 2 ** 20 }));
  t.notOk(isUnitPinHashing({ ...unit, salt: 'short' }));
  t.notOk(isUnitPinHashing(null));
});

t.test('the index of a stored hash is what decoding it to bytes gives, however the back office wrote its base64', async (t) => {
  // The first definition, kept as the reference: decode salt and key, compare bytes, write the key back.
  const reference = (encoded: string, unit: { salt: string; N: number; r: number; p: number }): string | null | 'malformed' => {
    const match = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(encoded);
    if (!match) return 'malformed';
    const [, n, r, p, salt = '', key = ''] = match;
    const cost = { N: Number(n), r: Number(r), p: Number(p) };
    if (!isUnitPinHashing({ salt: unit.salt, ...cost })) return 'malformed';
    const keyBytes = Buffer.from(key, 'base64');
    const saltBytes = Buffer.from(salt, 'base64');
    if (keyBytes.length < 16 || saltBytes.length < 8) return 'malformed';
    const same = cost.N === unit.N && cost.r === unit.r && cost.p === unit.p && saltBytes.equals(Buffer.from(unit.salt, 'base64'));
    return same && keyBytes.length === 32 ? keyBytes.toString('base64') : null;
  };
  const actual = (encoded: string, unit: { salt: string; N: number; r: number; p: number }): string | null | 'malformed' => {
    try {
      return indexOfHash(encoded, unit);
    } catch (error) {
      if (error instanceof PinError && error.code === 'PIN_HASH_MALFORMED') return 'malformed';
      throw error;
    }
  };
  const unit = newUnitPinHashing(CHEAP);
  const key = Buffer.alloc(32, 7).toString('base64'); // ends "cHBwcHA="... canonical
  const saltBytes = Buffer.from(unit.salt, 'base64');
  const cases: [string, string][] = [
    ['the unit salt, canonical key', `scrypt$1024$8$1$${unit.salt}$${key}`],
    ['the key with its unused bits set (same bytes, other text)', `scrypt$1024$8$1$${unit.salt}$${key.slice(0, 42)}${String.fromCharCode(key.charCodeAt(42) + 1)}=`],
    ['the key without its padding', `scrypt$1024$8$1$${unit.salt}$${key.slice(0, 43)}`],
    ['the unit salt with its unused bits set', `scrypt$1024$8$1$${unit.salt.slice(0, 21)}${String.fromCharCode(unit.salt.charCodeAt(21) + 1)}==$${key}`],
    ['the unit salt without padding', `scrypt$1024$8$1$${unit.salt.slice(0, 22)}$${key}`],
    ['another salt', `scrypt$1024$8$1$${Buffer.from(saltBytes.map((b) => b ^ 1)).toString('base64')}$${key}`],
    ['another cost', `scrypt$2048$8$1$${unit.salt}$${key}`],
    ['a 33-byte key', `scrypt$1024$8$1$${unit.salt}$${Buffer.alloc(33, 7).toString('base64')}`],
    ['a 31-byte key', `scrypt$1024$8$1$${unit.salt}$${Buffer.alloc(31, 7).toString('base64')}`],
    ['a 16-byte key', `scrypt$1024$8$1$${unit.salt}$${Buffer.alloc(16, 7).toString('base64')}`],
    ['a 15-byte key', `scrypt$1024$8$1$${unit.salt}$${Buffer.alloc(15, 7).toString('base64')}`],
    ['a 16-byte key in 21 characters (no padding)', `scrypt$1024$8$1$${unit.salt}$${Buffer.alloc(16, 7).toString('base64').slice(0, 22)}`],
    ['a 15-byte key in 21 characters', `scrypt$1024$8$1$${unit.salt}$${'A'.repeat(21)}`],
    ['an 8-byte salt', `scrypt$1024$8$1$${Buffer.alloc(8, 1).toString('base64')}$${key}`],
    ['a 7-byte salt', `scrypt$1024$8$1$${Buffer.alloc(7, 1).toString('base64')}$${key}`],
    ['a 7-byte salt in 10 characters', `scrypt$1024$8$1$${'A'.repeat(10)}$${key}`],
    ['an 8-byte salt in 11 characters', `scrypt$1024$8$1$${'A'.repeat(11)}$${key}`],
    ['a cost out of range', `scrypt$1023$8$1$${unit.salt}$${key}`],
    ['not a hash', 'plaintext'],
  ];
  for (const [what, encoded] of cases) t.equal(actual(encoded, unit), reference(encoded, unit), what);
  t.equal(actual(cases[1]![1], unit), key, 'a key written with its unused bits set indexes as the canonical text');
  t.equal(indexOfHash(cases[0]![1], null), null, 'a unit without hashing: null, after the shape is checked');
  t.throws(() => indexOfHash('scrypt$1024$8$1$AAAA$AAAA', null), PinError, 'and a malformed hash is still refused');
});
