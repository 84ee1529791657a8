import t from 'tap';
import { parseAdminRequest } from '../../kiosk/admin/protocol.js';
import { decodeConfig } from '../../kiosk/config/load.js';
import { array, boolean, decode, integer, nullable, object, oneOf, optional, record, string, tagged, withDefault, type Decoder } from '../../kiosk/lib/decode.js';

function problemOf<T>(decoder: Decoder<T, unknown>, value: unknown): { path: string; problem: string; kind: string } {
  const result = decode(decoder, value);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return { path: result.issue.path.join('.'), problem: result.issue.problem, kind: result.issue.kind };
}

t.test('nothing is coerced: each decoder takes only its own JSON type', async (t) => {
  t.match(problemOf(integer(), '3'), { problem: 'must be a whole number, not a string' });
  t.match(problemOf(integer(), 3.5), { problem: 'must be a whole number, not a number (3.5)' });
  t.match(problemOf(integer(), 1e400), { problem: /whole number/ }, 'JSON.parse turns 1e400 into Infinity');
  t.match(problemOf(integer(), true), { problem: /not a boolean/ });
  t.match(problemOf(boolean(), 1), { problem: 'must be true or false, not a number' });
  t.match(problemOf(boolean(), 'true'), { problem: /not a string/ });
  t.match(problemOf(string(), 7), { problem: 'must be a string, not a number' });
  t.match(problemOf(string(), null), { problem: 'must be a string, not null' });
  t.match(problemOf(array(integer()), { 0: 1, length: 1 }), { problem: 'must be a list, not an object' });
  t.match(problemOf(object({}), []), { problem: 'must be an object, not a list' });
  t.match(problemOf(oneOf([0, 1]), '1'), { problem: 'must be one of 0, 1' });
  t.match(problemOf(oneOf(['a']), 'b'), { problem: 'must be "a"' });
});

t.test('bounds, patterns and checks name what was expected', async (t) => {
  t.match(problemOf(integer({ min: 1, max: 64 }), 0), { problem: 'must be at least 1' });
  t.match(problemOf(integer({ min: 1, max: 64 }), 65), { problem: 'must be at most 64' });
  t.equal(decode(integer({ min: 1, max: 64 }), 64).ok, true, 'bounds are inclusive');
  t.match(problemOf(string({ min: 3 }), 'ab'), { problem: 'must be at least 3 characters' });
  t.match(problemOf(string({ max: 2 }), 'abc'), { problem: 'must be at most 2 characters' });
  t.match(problemOf(string({ pattern: [/^[a-z]+$/, 'lower-case letters'] }), 'aB'), { problem: 'must be lower-case letters' });
  t.match(problemOf(string({ check: [(v) => v !== 'x', 'not x, please'] }), 'x'), { problem: 'not x, please' });
  t.match(problemOf(array(integer(), { min: 1 }), []), { problem: 'must have at least 1 item' });
  t.match(problemOf(array(integer(), { max: 2 }), [1, 2, 3]), { problem: 'must have at most 2 items' });
  t.match(problemOf(array(integer()), [1, 'two']), { path: '1', problem: /not a string/ }, 'the bad item is named by its index');
  const trimmed = decode(string({ trim: true, min: 3 }), '  ab  ');
  t.equal(trimmed.ok, false, 'the length is checked after trimming');
  t.same(decode(string({ trim: true }), '  lock check \n'), { ok: true, value: 'lock check' });
});

t.test('objects: strict, unknown keys first, missing keys required unless defaulted', async (t) => {
  const decoder = object({ a: integer(), b: withDefault(integer(), 2), c: optional(string()) });
  t.same(decode(decoder, { a: 1 }), { ok: true, value: { a: 1, b: 2 } }, 'a default fills in, an optional key stays absent');
  t.notOk('c' in (decode(decoder, { a: 1 }) as { value: object }).value, 'no key "c" at all, not c: undefined');
  t.match(problemOf(decoder, {}), { path: 'a', problem: 'is required', kind: 'missing' });
  t.match(problemOf(decoder, { a: 'x', typo: 1 }), { path: 'typo', kind: 'unknown-key' }, 'the typo is reported before the bad value beside it');
  t.same(decode(decoder, { a: 1, b: undefined }), { ok: true, value: { a: 1, b: 2 } }, 'undefined counts as missing');
  const crossChecked = object({ low: integer(), high: integer() }, (v) => (v.low > v.high ? { key: 'high', problem: 'must be at least low' } : null));
  t.match(problemOf(crossChecked, { low: 5, high: 1 }), { path: 'high', problem: 'must be at least low' });
  t.equal(decode(crossChecked, { low: 1, high: 5 }).ok, true);
});

t.test('a default is decoded afresh each time: nested defaults apply and nothing is shared', async (t) => {
  const inner = object({ level: withDefault(oneOf(['info', 'debug']), 'info'), list: withDefault(array(integer()), []) });
  const outer = object({ log: withDefault(inner, {}) });
  const first = decode(outer, {});
  const second = decode(outer, {});
  if (!first.ok || !second.ok) throw new Error('an empty object must decode');
  t.same(first.value, { log: { level: 'info', list: [] } });
  first.value.log.list.push(1);
  t.same(second.value.log.list, [], 'changing one decoded value leaves the next default alone');
  const third = decode(outer, {});
  t.same(third.ok && third.value.log.list, [], 'nor the one after');
});

t.test('attacks: prototype keys are data, never a way in', async (t) => {
  const poisoned = JSON.parse('{"a": 1, "__proto__": {"polluted": true}}') as unknown;
  t.match(problemOf(object({ a: integer() }), poisoned), { path: '__proto__', kind: 'unknown-key' });
  t.equal(({} as { polluted?: boolean }).polluted, undefined, 'Object.prototype untouched');
  const files = decode(record(string(), integer()), JSON.parse('{"__proto__": 5, "constructor": 6}'));
  t.ok(files.ok, 'a record keeps such keys as plain entries');
  if (files.ok) {
    t.same(Object.keys(files.value).sort(), ['__proto__', 'constructor']);
    t.equal(Object.getPrototypeOf(files.value), null, 'on an object without a prototype');
  }
  const union = tagged('op', { ping: object({ op: oneOf(['ping']) }) });
  for (const op of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
    t.match(problemOf(union, { op }), { path: 'op', problem: 'must be one of ping' }, `op "${op}" is not a variant`);
  }
  t.match(problemOf(union, { op: 7 }), { path: 'op' });
  t.match(problemOf(nullable(integer()), 'x'), { problem: /whole number/ });
});

t.test('the configuration: an attacker-shaped file changes nothing and says what was wrong', async (t) => {
  t.throws(() => decodeConfig(JSON.parse('{"__proto__": {"hardware": {"kind": "gpio"}}}'), 'x.json'), /unknown key "__proto__"/);
  t.throws(() => decodeConfig({ locks: { pulseMs: '300' } }, 'x.json'), /key "locks\.pulseMs" has value "300": must be a whole number, not a string/);
  t.throws(() => decodeConfig({ locks: null }, 'x.json'), /key "locks" has value null: must be an object, not null/);
  t.throws(() => decodeConfig({ server: { host: '0.0.0.0' } }, 'x.json'), /key "server\.allowNonLoopback" has value nothing: must be true to serve the screens/);
  t.throws(() => decodeConfig({ server: { host: '0.0.0.0', allowNonLoopback: true } }, 'x.json'), /key "server\.screenSecret" has value nothing: is required when the screens are served/);
  t.throws(() => decodeConfig({ metrics: { host: '0.0.0.0' } }, 'x.json'), /key "metrics\.host" has value "0\.0\.0\.0": must be a loopback address/);
  t.throws(() => decodeConfig({ timeZone: '../../etc/passwd' }, 'x.json'), /not an IANA time zone/);
  const config = decodeConfig({ hardware: { kind: 'kerong' } }, 'x.json');
  t.same(config.hardware.kerong, { path: '/dev/ttyUSB0', baudRate: 19200, lockedBit: 1, replyTimeoutMs: 250, boardPulseMs: 500 }, 'a section written in part keeps its other defaults');
  t.same(config.security.lockout.reservationMaxFailures, 5, 'a section left out whole takes every default, nested ones too');
});

t.test('admin requests: the messages lockerctl shows', async (t) => {
  t.same(parseAdminRequest('{"op":"toString"}'), { error: 'op must be one of status, open, selftest, quarantine.clear, lockout.clear' });
  t.same(parseAdminRequest('{"op":"open","args":{"compartment":3,"reason":"  ab "}}'), { error: 'args.reason: must be at least 3 characters' });
  t.same(parseAdminRequest('{"op":"open"}'), { error: 'args: is required' });
  t.same(parseAdminRequest('{"op":"status","__proto__":{}}'), { error: 'unknown field "__proto__"' });
  t.same(parseAdminRequest('{"op":"lockout.clear"}'), { op: 'lockout.clear', args: { reservationId: null } });
  t.same(parseAdminRequest('{"op":"selftest","args":{}}'), { op: 'selftest', args: { compartments: [], timeoutMs: 60_000, includeOccupied: false } });
  t.same(parseAdminRequest('{"op":"open","args":{"compartment":3,"reason":" lock check "}}'), { op: 'open', args: { compartment: 3, reason: 'lock check' } });
});
