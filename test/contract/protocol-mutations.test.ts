/**
 * Every mutation of every example fails with the right code and names the field without echoing
 * values; an extra field anywhere is accepted (peers ignore fields they do not know); and no JSON
 * value makes the validators throw, and they agree with the union schemas.
 */
import t from 'tap';
import fc from 'fast-check';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { MAX_FRAME_BYTES } from '../../kiosk/sync/messages.js';
import { SCHEMA_BASE_ID, SCHEMA_FILES, parseFrame } from '../../kiosk/sync/validate.js';
import type { ValidationResult } from '../../kiosk/sync/validate.js';
import {
  allExamples,
  at,
  clone,
  failed,
  leaksPersonalData,
  paths,
  render,
  schemaFile,
  setAt,
  shapeOf,
  startsWith,
  strictAjv,
  validateBackOfficeMessage,
  validateLockerMessage,
  wrongType,
  type Json,
  type JsonObject,
  type Path,
} from './protocol-support.js';

t.test('mutations of every example fail with SCHEMA and name the field, never echoing values', async (t) => {
  const LONG = `Ola Nordmann ${'+4799999999 '.repeat(100)}`; // longer than any string the schemas allow
  for (const { name, message, validate } of allExamples) {
    const original = message as Json;
    const { free, optional } = shapeOf(original);
    const problems: string[] = [];
    let tried = 0;
    const expectFailure = (label: string, mutated: Json, expected: { code: string; path: string; text?: string }): void => {
      tried += 1;
      const result = failed(validate(mutated));
      if (result === null) return void problems.push(`${label}: accepted`);
      if (result.code !== expected.code) problems.push(`${label}: code ${result.code}, expected ${expected.code} (${result.message})`);
      if (expected.path !== '' && !result.message.startsWith(`${expected.path} `)) problems.push(`${label}: message "${result.message}" does not start with "${expected.path}"`);
      if (expected.text !== undefined && !result.message.includes(expected.text)) problems.push(`${label}: message "${result.message}" lacks "${expected.text}"`);
      const leak = leaksPersonalData(result.message) ?? (result.message.includes('Ola Nordmann') ? 'Ola Nordmann' : undefined);
      if (leak !== undefined) problems.push(`${label}: message echoes "${leak}"`);
    };
    for (const path of paths(original)) {
      if (free.some((prefix) => startsWith(path, prefix) && path.length > prefix.length)) continue;
      const value = at(original, path) as Json;
      const rendered = render(path);
      const last = path[path.length - 1];
      // missing
      const isOptional = optional.some((exact) => exact.length === path.length && startsWith(path, exact));
      if (typeof last === 'string' && isOptional) {
        const without = clone(original);
        setAt(without, path, undefined);
        tried += 1;
        const result = failed(validate(without));
        if (result !== null) problems.push(`without the optional ${rendered}: ${result.message}`);
      }
      if (typeof last === 'string' && !isOptional) {
        const mutated = clone(original);
        setAt(mutated, path, undefined);
        expectFailure(`without ${rendered}`, mutated, { code: 'SCHEMA', path: rendered, text: 'is required' });
      }
      // wrong type
      const mutated = clone(original);
      setAt(mutated, path, wrongType(value));
      expectFailure(`${rendered} of the wrong type`, mutated, { code: 'SCHEMA', path: rendered });
      // too long, carrying personal data
      if (typeof value === 'string' && rendered !== 'type') {
        const long = clone(original);
        setAt(long, path, LONG);
        expectFailure(`${rendered} too long`, long, { code: 'SCHEMA', path: rendered });
      }
    }
    // an extra field in every object is ignored (peers ignore fields they do not know)
    for (const path of [[], ...paths(original)] as Path[]) {
      const node = at(original, path);
      if (node === null || typeof node !== 'object' || Array.isArray(node)) continue;
      const mutated = clone(original);
      (at(mutated, path) as JsonObject)['colour'] = { shade: 'red', codes: [1, 2] };
      tried += 1;
      const result = failed(validate(mutated));
      if (result !== null) problems.push(`extra field in ${render(path) || 'the message'}: refused (${result.message})`);
    }
    // the protocol version, the type
    const v2 = clone(original) as JsonObject;
    v2['v'] = 2;
    expectFailure('v: 2', v2, { code: 'UNSUPPORTED_VERSION', path: 'v' });
    const unknown = clone(original) as JsonObject;
    unknown['type'] = 'goodbye';
    expectFailure('type: goodbye', unknown, { code: 'UNKNOWN_TYPE', path: 'type' });
    // the frame: cut short, and padded (still valid JSON) past the size limit
    const frame = JSON.stringify(original);
    const cut = parseFrame(frame.slice(0, -1));
    if (cut.ok || cut.code !== 'MALFORMED') problems.push('a frame cut short: not MALFORMED');
    const padded = parseFrame(Buffer.from(frame + ' '.repeat(MAX_FRAME_BYTES + 1 - frame.length)));
    if (padded.ok || padded.code !== 'TOO_LARGE') problems.push('a frame over 64 KiB: not TOO_LARGE');
    tried += 2;
    t.same(problems, [], `${name}: ${tried} mutations`);
    t.ok(tried > 5, `${name}: mutations were tried`);
  }
});

t.test('no JSON value makes the validators throw, and they agree with the union schemas', async (t) => {
  const ajv = strictAjv();
  for (const file of SCHEMA_FILES) ajv.addSchema(schemaFile(file));
  const lockerUnion = ajv.getSchema(`${SCHEMA_BASE_ID}locker-message.json`) as ValidateFunction;
  const backOfficeUnion = ajv.getSchema(`${SCHEMA_BASE_ID}back-office-message.json`) as ValidateFunction;
  const codes = new Set(['MALFORMED', 'UNKNOWN_TYPE', 'SCHEMA', 'UNSUPPORTED_VERSION']);
  const sound = (result: ValidationResult<unknown>): boolean =>
    result.ok ? typeof result.message === 'object' : codes.has(result.code) && typeof result.message === 'string' && result.message.length > 0 && result.message.length <= 500;

  const everyType = ['hello', 'event', 'result', 'error', 'welcome', 'ack', 'command', 'goodbye', ''];
  const envelope = fc.record(
    {
      v: fc.oneof(fc.constant(1), fc.constant(1), fc.integer({ min: -2, max: 3 }), fc.jsonValue()),
      type: fc.oneof(fc.constantFrom(...everyType), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );
  const mutatedExample = fc
    .tuple(fc.constantFrom(...allExamples.map((e) => e.message as Json)), fc.nat(), fc.jsonValue(), fc.boolean())
    .map(([example, pick, value, remove]) => {
      const all = [...paths(example)];
      const path = all[pick % all.length];
      const mutated = clone(example);
      if (path !== undefined) setAt(mutated, path, remove && typeof path[path.length - 1] === 'string' ? undefined : (value as Json));
      return mutated as unknown;
    });
  const anything = fc.oneof(
    fc.jsonValue(),
    fc.tuple(envelope, fc.dictionary(fc.string(), fc.jsonValue())).map(([e, rest]) => ({ ...rest, ...e })),
    mutatedExample,
    mutatedExample,
  );

  fc.assert(
    fc.property(anything, (value) => {
      const locker = validateLockerMessage(value);
      const backOffice = validateBackOfficeMessage(value);
      if (!sound(locker) || !sound(backOffice)) return false;
      // The union schemas say the same, whatever the order of checks.
      if (locker.ok !== lockerUnion(value)) return false;
      if (backOffice.ok !== backOfficeUnion(value)) return false;
      return true;
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 runs');

  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.jsonValue().map((v) => JSON.stringify(v) ?? '')), (text) => {
      const result = parseFrame(text);
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_FRAME_BYTES) return !result.ok && result.code === 'TOO_LARGE';
      let expected: unknown;
      try {
        expected = JSON.parse(text);
      } catch {
        return !result.ok && result.code === 'MALFORMED' && result.message === 'frame is not valid JSON';
      }
      return result.ok && JSON.stringify(result.value) === JSON.stringify(expected);
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const result = parseFrame(Buffer.from(bytes));
      return typeof result.ok === 'boolean';
    }),
  );
  t.pass('parseFrame never throws');
});
