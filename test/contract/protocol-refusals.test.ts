/**
 * Specific refusals a back office or a locker will meet (phones, amounts, args of another
 * command, results, events, reservations, hello, version and type, not an object), and
 * parseFrame on sizes and encodings.
 */
import t from 'tap';
import { MAX_FRAME_BYTES, type CommandName } from '../../kiosk/sync/messages.js';
import { parseFrame } from '../../kiosk/sync/validate.js';
import type { ValidationResult } from '../../kiosk/sync/validate.js';
import { commandExamples, eventExamples, helloExample, resultExamples, unknownEventExample } from './examples.js';
import { clone, failed, schemaFile, validateBackOfficeMessage, validateLockerMessage, validator, type JsonObject } from './protocol-support.js';

t.test('specific refusals', async (t) => {
  const upsert = commandExamples['reservation.upsert'];
  const check = (label: string, result: ValidationResult<unknown>, code: string, message: RegExp) => {
    t.match(failed(result), { code, message }, label);
  };
  const withReservation = (change: (r: JsonObject) => void) => {
    const m = clone(upsert) as unknown as JsonObject;
    change((m['args'] as JsonObject)['reservation'] as JsonObject);
    return validateBackOfficeMessage(m);
  };

  t.test('phones not in E.164', async (t) => {
    for (const phone of ['91234567', '+47 912 34 567', '004791234567', '+0791234567', '+47912', '+4791234567890123', '+47-91234567', '+4791234567\n']) {
      check(JSON.stringify(phone), withReservation((r) => { r['phones'] = [phone]; }), 'SCHEMA', /^args\.reservation\.phones\/0 must match pattern "\^\\\+\[1-9\]\[0-9\]\{6,14\}\$"$/);
    }
    check('six phones', withReservation((r) => { r['phones'] = ['+4791234561', '+4791234562', '+4791234563', '+4791234564', '+4791234565', '+4791234566']; }), 'SCHEMA', /^args\.reservation\.phones must NOT have more than 5 items$/);
    check('a phone twice', withReservation((r) => { r['phones'] = ['+4791234567', '+4791234567']; }), 'SCHEMA', /^args\.reservation\.phones must NOT have duplicate items/);
    t.ok(withReservation((r) => { r['phones'] = []; }).ok, 'no phone at all is allowed (e-mail only)');
    const deposited = clone(eventExamples['key.deposited']) as unknown as JsonObject;
    (deposited['payload'] as JsonObject)['addedPhone'] = '912 34 567';
    check('addedPhone', validateLockerMessage(deposited), 'SCHEMA', /^payload\.addedPhone must match pattern/);
  });

  t.test('amounts', async (t) => {
    for (const amount of [-1, 12.5, '249000', 1e300, null]) {
      const m = clone(commandExamples['payment.status']) as unknown as JsonObject;
      (m['args'] as JsonObject)['amount'] = amount;
      check(`amount ${String(amount)}`, validateBackOfficeMessage(m), 'SCHEMA', /^args\.amount must be/);
    }
    const m = clone(commandExamples['payment.status']) as unknown as JsonObject;
    (m['args'] as JsonObject)['currency'] = 'nok';
    check('currency in lower case', validateBackOfficeMessage(m), 'SCHEMA', /^args\.currency must match pattern/);
  });

  t.test('a command whose args belong to another command', async (t) => {
    // Extra fields are ignored, so args that happen to carry every field another command
    // requires pass as that command's args: the name decides what is done with them.
    const names = Object.keys(commandExamples) as CommandName[];
    const required = (name: CommandName): string[] => {
      const defs = (schemaFile('command.json')['$defs'] as JsonObject)[name] as JsonObject;
      const target = typeof defs['$ref'] === 'string' ? ((schemaFile('defs.json')['$defs'] as JsonObject)['PaymentWire'] as JsonObject) : defs;
      return target['required'] as string[];
    };
    let refused = 0;
    let accepted = 0;
    for (const name of names) {
      for (const other of names) {
        if (other === name) continue;
        const args = clone(commandExamples[other].args) as unknown as JsonObject;
        const m = { ...clone(commandExamples[name]), args };
        const result = validateBackOfficeMessage(m);
        if (required(name).every((field) => field in args)) {
          t.ok(result.ok || /^args\.[A-Za-z]+ must /.test(failed(result)?.message ?? ''), `${name} with the args of ${other}: judged by its own fields only`);
          accepted += 1;
        } else {
          check(`${name} with the args of ${other}`, result, 'SCHEMA', /^args(\.[A-Za-z]+)? (is required|must )/);
          refused += 1;
        }
      }
    }
    t.equal(refused + accepted, names.length * (names.length - 1));
    t.ok(refused > accepted, `${refused} pairs refused, ${accepted} judged on shared fields`);
    const unknownName = { ...clone(commandExamples['reservation.cancel']), name: 'reservation.delete' };
    check('an unknown command name', validateBackOfficeMessage(unknownName), 'SCHEMA', /^name (must be one of: reservation\.upsert, |is not one this version knows)/);
  });

  t.test('results: ok true with a result, ok false with an error, never both', async (t) => {
    check('ok true with an error', validateLockerMessage({ ...clone(resultExamples.applied), error: { code: 'INTERNAL', message: 'x' } }), 'SCHEMA', /^error is not allowed here$/);
    check('ok false with a result', validateLockerMessage({ ...clone(resultExamples.failed), result: {} }), 'SCHEMA', /^result is not allowed here$/);
    check('ok false without an error', validateLockerMessage({ v: 1, type: 'result', commandId: 'c-1', ok: false }), 'SCHEMA', /^error is required$/);
    check('an unknown error code', validateLockerMessage({ ...clone(resultExamples.failed), error: { code: 'OOPS', message: 'x' } }), 'SCHEMA', /^error\.code must be one of: MALFORMED, UNKNOWN_TYPE,/);
  });

  t.test('events: payloads by type, unknown types accepted', async (t) => {
    t.ok(validateLockerMessage(unknownEventExample).ok, 'an unknown event type with any object payload');
    const extra = clone(eventExamples['help.requested']) as unknown as JsonObject;
    (extra['payload'] as JsonObject)['session'] = 's-1';
    t.ok(validateLockerMessage(extra).ok, 'extra payload fields are allowed (peers ignore what they do not know)');
    const missing = clone(eventExamples['compartment.left-open']) as unknown as JsonObject;
    delete (missing['payload'] as JsonObject)['openForS'];
    check('a known event without a payload field', validateLockerMessage(missing), 'SCHEMA', /^payload\.openForS is required$/);
    const compartment = clone(eventExamples['key.collected']) as unknown as JsonObject;
    (compartment['payload'] as JsonObject)['compartment'] = 17;
    check('compartment 17', validateLockerMessage(compartment), 'SCHEMA', /^payload\.compartment must be <= 16$/);
    const nonObject = { ...clone(unknownEventExample), payload: 'text' };
    check('an unknown event with a non-object payload', validateLockerMessage(nonObject), 'SCHEMA', /^payload must be object$/);
    const badName = { ...clone(unknownEventExample), event: 'Key Deposited' };
    check('an event type that is not dotted lower case', validateLockerMessage(badName), 'SCHEMA', /^event must match pattern/);
    check('seq 0', validateLockerMessage({ ...clone(unknownEventExample), seq: 0 }), 'SCHEMA', /^seq must be >= 1$/);
  });

  t.test('reservations: dates, times, hashes, sizes', async (t) => {
    check('30 February', withReservation((r) => { r['appointmentDate'] = '2025-02-30'; }), 'SCHEMA', /^args\.reservation\.appointmentDate must match format "date"$/);
    check('a date with a time', withReservation((r) => { r['appointmentDate'] = '2025-03-14T08:00'; }), 'SCHEMA', /^args\.reservation\.appointmentDate must match pattern/);
    check('24:00', withReservation((r) => { r['appointmentTime'] = '24:00'; }), 'SCHEMA', /^args\.reservation\.appointmentTime must match pattern/);
    check('7:30', withReservation((r) => { r['appointmentTime'] = '7:30'; }), 'SCHEMA', /^args\.reservation\.appointmentTime must match pattern/);
    check('a PIN instead of a hash', withReservation((r) => { r['pinHash'] = '482913'; }), 'SCHEMA', /^args\.reservation\.pinHash must match pattern "\^scrypt/);
    check('bcrypt', withReservation((r) => { r['pinHash'] = '$2b$10$abcdefghijklmnopqrstuv'; }), 'SCHEMA', /^args\.reservation\.pinHash must match pattern/);
    check('an id of 129 characters', withReservation((r) => { r['id'] = 'r'.repeat(129); }), 'SCHEMA', /^args\.reservation\.id must NOT have more than 128 characters$/);
    t.ok(withReservation((r) => { r['id'] = 'r'.repeat(128); }).ok, 'an id of 128 characters');
    check('a name of 201 characters', withReservation((r) => { r['driverName'] = 'Å'.repeat(201); }), 'SCHEMA', /^args\.reservation\.driverName must NOT have more than 200 characters$/);
    t.ok(withReservation((r) => { r['driverName'] = 'Å'.repeat(200); }).ok, 'a name of 200 characters (counted in characters, not bytes)');
    check('an e-mail that is not one', withReservation((r) => { r['email'] = 'kari.nordmann'; }), 'SCHEMA', /^args\.reservation\.email must match format "email"$/);
    check('compartment 0', withReservation((r) => { r['compartmentId'] = 0; }), 'SCHEMA', /^args\.reservation\.compartmentId must be >= 1$/);
    check('kind', withReservation((r) => { r['kind'] = 'delivery'; }), 'SCHEMA', /^args\.reservation\.kind must be one of: dropoff, pickup$/);
    const remark = clone(eventExamples['key.deposited']) as unknown as JsonObject;
    (remark['payload'] as JsonObject)['remark'] = 'x'.repeat(501);
    check('a remark of 501 characters', validateLockerMessage(remark), 'SCHEMA', /^payload\.remark must NOT have more than 500 characters$/);
  });

  t.test('hello', async (t) => {
    const compartments = Array.from({ length: 17 }, (_, i) => ({ id: (i % 16) + 1, state: 'free', door: 'closed', reservationId: null }));
    check('17 compartments', validateLockerMessage({ ...clone(helloExample), compartments }), 'SCHEMA', /^compartments must NOT have more than 16 items$/);
    check('a wall time that is not one', validateLockerMessage({ ...clone(helloExample), clock: { wall: 'yesterday', synchronised: true } }), 'SCHEMA', /^clock\.wall must match format "date-time"$/);
    check('a wall time without a zone', validateLockerMessage({ ...clone(helloExample), clock: { wall: '2025-03-14T07:41:58', synchronised: true } }), 'SCHEMA', /^clock\.wall must match format "date-time"$/);
    check('a digest that is not sha256', validateLockerMessage({ ...clone(helloExample), inventory: { count: 1, digest: 'md5:abc' } }), 'SCHEMA', /^inventory\.digest must match pattern/);
    check('a time zone with spaces', validateLockerMessage({ ...clone(helloExample), timeZone: 'Central European Time' }), 'SCHEMA', /^timeZone must match pattern/);
    check('a ping interval of 10 ms', validateLockerMessage({ ...clone(helloExample), link: { pingIntervalMs: 10, maxInFlight: 500 } }), 'SCHEMA', /^link\.pingIntervalMs must be >= 1000$/);
    const noHeld = clone(helloExample) as unknown as JsonObject;
    delete (noHeld['outbox'] as JsonObject)['firstHeld'];
    check('an outbox without firstHeld', validateLockerMessage(noHeld), 'SCHEMA', /^outbox\.firstHeld is required$/);
  });

  t.test('version and type', async (t) => {
    check('v: 2', validateBackOfficeMessage({ ...clone(upsert), v: 2 }), 'UNSUPPORTED_VERSION', /^v must be 1/);
    check('v: 0', validateLockerMessage({ ...clone(helloExample), v: 0 }), 'UNSUPPORTED_VERSION', /^v must be 1/);
    check('v: "1"', validateLockerMessage({ ...clone(helloExample), v: '1' }), 'SCHEMA', /^v must be the number 1$/);
    const { v: _v, ...noVersion } = clone(helloExample);
    check('no v', validateLockerMessage(noVersion), 'SCHEMA', /^v is required$/);
    check('v: 2 wins over an unknown type', validateLockerMessage({ v: 2, type: 'hello.v2' }), 'UNSUPPORTED_VERSION', /^v must be 1/);
    check('an unknown type', validateLockerMessage({ v: 1, type: 'goodbye' }), 'UNKNOWN_TYPE', /^type is not one a locker sends/);
    check('hello sent by a back office', validateBackOfficeMessage(clone(helloExample)), 'UNKNOWN_TYPE', /^type is not one a back office sends .*\(welcome, ack, nack, command, error\)$/);
    check('type "constructor"', validateBackOfficeMessage({ v: 1, type: 'constructor' }), 'UNKNOWN_TYPE', /^type is not one/);
    check('type "__proto__"', validateLockerMessage(JSON.parse('{"v":1,"type":"__proto__"}')), 'UNKNOWN_TYPE', /^type is not one/);
    check('no type', validateLockerMessage({ v: 1 }), 'SCHEMA', /^type is required$/);
    check('type 7', validateLockerMessage({ v: 1, type: 7 }), 'SCHEMA', /^type must be string$/);
    const proto = validateLockerMessage(JSON.parse(JSON.stringify(helloExample).replace('{', '{"__proto__":{"x":1},')));
    t.ok(proto.ok, 'a __proto__ field is one more unknown field');
    t.equal(({} as Record<string, unknown>)['x'], undefined, 'and pollutes nothing');
  });

  t.test('not an object: MALFORMED', async (t) => {
    const values: [string, unknown][] = [['null', null], ['[]', []], ['[hello]', [helloExample]], ['a string', 'hello'], ['a number', 42], ['true', true], ['undefined', undefined]];
    for (const [label, value] of values) {
      check(`${label} as a locker message`, validateLockerMessage(value), 'MALFORMED', /^a message must be a JSON object$/);
      check(`${label} as a back-office message`, validateBackOfficeMessage(value), 'MALFORMED', /^a message must be a JSON object$/);
    }
  });

  t.test('nack', async (t) => {
    check('a nack without a reason', validateBackOfficeMessage({ v: 1, type: 'nack', seq: 3, code: 'SCHEMA' }), 'SCHEMA', /^reason is required$/);
    check('a nack of seq 0', validateBackOfficeMessage({ v: 1, type: 'nack', seq: 0, code: 'SCHEMA', reason: 'x' }), 'SCHEMA', /^seq must be >= 1$/);
    check('a nack with an unknown code', validateBackOfficeMessage({ v: 1, type: 'nack', seq: 3, code: 'NOPE', reason: 'x' }), 'SCHEMA', /^code must be one of/);
    check('a nack sent by a locker', validateLockerMessage({ v: 1, type: 'nack', seq: 3, code: 'SCHEMA', reason: 'x' }), 'UNKNOWN_TYPE', /^type is not one a locker sends/);
  });

  t.test('inventory pages and help states', async (t) => {
    const page = clone(commandExamples['inventory.page']) as unknown as JsonObject;
    (page['args'] as JsonObject)['limit'] = 201;
    check('a page of 201', validateBackOfficeMessage(page), 'SCHEMA', /^args\.limit must be <= 200$/);
    const help = clone(commandExamples['help.update']) as unknown as JsonObject;
    (help['args'] as JsonObject)['state'] = 'reopened';
    check('a help state v1 does not have', validateBackOfficeMessage(help), 'SCHEMA', /^args\.state must be one of: received, taken, closed$/);
  });
});

t.test('parseFrame', async (t) => {
  const frame = JSON.stringify(commandExamples['reservation.upsert']);
  t.same(parseFrame(frame, MAX_FRAME_BYTES), { ok: true, value: JSON.parse(frame) });
  t.same(parseFrame(Buffer.from(frame)), { ok: true, value: JSON.parse(frame) }, 'a Buffer; the size defaults to 64 KiB');
  t.same(validator.parseFrame(frame), parseFrame(frame), 'also on the validator');
  t.same(parseFrame('[1, "x", null]'), { ok: true, value: [1, 'x', null] }, 'any JSON: the validators judge the shape');

  for (const text of ['', '{', '{"v":1,}', "{'v':1}", 'hello Kari Nordmann +4791234567', 'NaN', '{"v":1}{"v":1}']) {
    const result = parseFrame(text);
    t.match(result, { ok: false, code: 'MALFORMED', message: 'frame is not valid JSON' }, `not JSON: ${JSON.stringify(text)}`);
  }
  t.match(parseFrame(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])), { ok: false, code: 'MALFORMED', message: 'frame is not valid UTF-8' });

  const padded = (bytes: number) => {
    const base = JSON.stringify({ ...helloExample, softwareVersion: '' });
    return base.replace('"softwareVersion":""', `"softwareVersion":"${'x'.repeat(bytes - base.length)}"`);
  };
  t.equal(Buffer.byteLength(padded(MAX_FRAME_BYTES)), MAX_FRAME_BYTES);
  t.ok(parseFrame(padded(MAX_FRAME_BYTES)).ok, 'exactly 64 KiB is allowed');
  t.match(parseFrame(padded(MAX_FRAME_BYTES + 1)), { ok: false, code: 'TOO_LARGE', message: `frame is over ${MAX_FRAME_BYTES} bytes` }, '64 KiB + 1');
  t.match(parseFrame(Buffer.from(padded(MAX_FRAME_BYTES + 1))), { ok: false, code: 'TOO_LARGE' }, 'a Buffer of 64 KiB + 1');
  const wide = JSON.stringify({ v: 1, type: 'event', note: 'ø'.repeat(40_000) });
  t.ok(wide.length < MAX_FRAME_BYTES && Buffer.byteLength(wide) > MAX_FRAME_BYTES, 'fewer characters than bytes');
  t.match(parseFrame(wide), { ok: false, code: 'TOO_LARGE' }, 'the limit counts UTF-8 bytes, not characters');
  t.match(parseFrame('{}', 1), { ok: false, code: 'TOO_LARGE', message: 'frame is over 1 bytes' });
});

