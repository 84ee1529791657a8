/**
 * The back-office protocol as a machine-checked contract: docs/asyncapi.yaml parses, every
 * schema in docs/schemas/ compiles, the TS-typed examples (examples.ts) pass and match the
 * schemas' fields, every mutation of them fails with the right code and names the field
 * without echoing values, and no JSON value makes the validators throw.
 */
import t from 'tap';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import type { Diagnostic, SchemaParser } from '@asyncapi/parser';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { MAX_FRAME_BYTES } from '../../kiosk/sync/messages.js';
import type { CommandName, EventType } from '../../kiosk/sync/messages.js';
import { ProtocolValidator, SCHEMA_BASE_ID, SCHEMA_FILES, createValidator, parseFrame } from '../../kiosk/sync/validate.js';
import type { ValidationResult } from '../../kiosk/sync/validate.js';
import {
  PERSONAL_DATA,
  backOfficeExamples,
  commandExamples,
  eventExamples,
  helloExample,
  lockerExamples,
  resultExamples,
  unknownEventExample,
  type Example,
} from './examples.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCHEMA_DIR = join(ROOT, 'docs', 'schemas');
const ASYNCAPI = join(ROOT, 'docs', 'asyncapi.yaml');
const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const SCHEMA_FORMAT = 'application/schema+json;version=draft-2020-12';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Path = readonly (string | number)[];

const validator = createValidator();
const { validateLockerMessage, validateBackOfficeMessage } = validator; // detached on purpose

function schemaFile(file: string): JsonObject {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as JsonObject;
}

function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, discriminator: true });
  addFormats.default(ajv, ['date', 'date-time', 'email']);
  return ajv;
}

function clone<T>(value: T): T {
  return structuredClone(value) as T;
}

/** As the validator writes paths: keys joined by dots, array indices by slashes. */
function render(path: Path): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `/${segment}` : out === '' ? segment : `.${segment}`;
  return out;
}

function at(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[segment as number] : node[segment as string];
  }
  return node;
}

function setAt(root: Json, path: Path, value: Json | undefined): void {
  const parent = at(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (parent === null || typeof parent !== 'object' || last === undefined) throw new Error(`no parent at ${render(path)}`);
  if (Array.isArray(parent)) parent[last as number] = value as Json;
  else if (value === undefined) delete parent[last as string];
  else parent[last as string] = value;
}

/** Every path in a JSON value (not the root), parents before children. */
function* paths(value: Json, prefix: Path = []): Generator<Path> {
  if (value === null || typeof value !== 'object') return;
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    yield path;
    yield* paths(child, path);
  }
}

const startsWith = (path: Path, prefix: Path): boolean => prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);

const KNOWN_EVENTS = new Set<string>(Object.keys(eventExamples));

/**
 * Where an example's content is free (no mutation can fail), open (extra keys allowed) or
 * optional (`optional`: every child of these objects; `optionalFields`: exactly these fields).
 */
function shapeOf(message: Json): { free: Path[]; open: Path[]; optional: Path[]; optionalFields?: Path[] } {
  const m = message as JsonObject;
  if (m['type'] === 'event') {
    const known = typeof m['event'] === 'string' && KNOWN_EVENTS.has(m['event']);
    return known ? { free: [], open: [['payload']], optional: [] } : { free: [['payload']], open: [['payload']], optional: [] };
  }
  if (m['type'] === 'result') return { free: [['result']], open: [['result']], optional: [] };
  if (m['type'] === 'hello') {
    const records: Path[] = [['applied', 'reservations'], ['applied', 'payments']];
    // pinHashing is absent from lockers that publish none (legacy hashes): optional.
    return { free: [], open: records, optional: records, optionalFields: [['pinHashing']] };
  }
  return { free: [], open: [], optional: [] };
}

function wrongType(value: Json): Json {
  if (value === null) return true;
  if (Array.isArray(value)) return {};
  switch (typeof value) {
    case 'string':
      return 7;
    case 'number':
      return '7';
    case 'boolean':
      return 'yes';
    default:
      return [];
  }
}

interface Failure {
  code: string;
  message: string;
}

function failed(result: ValidationResult<unknown>): Failure | null {
  return result.ok ? null : { code: result.code, message: result.message };
}

const directions = [
  { label: 'locker', examples: lockerExamples as readonly Example<unknown>[], validate: validateLockerMessage, other: validateBackOfficeMessage },
  { label: 'back office', examples: backOfficeExamples as readonly Example<unknown>[], validate: validateBackOfficeMessage, other: validateLockerMessage },
] as const;

const allExamples = directions.flatMap((d) => d.examples.map((example) => ({ ...example, validate: d.validate })));

function leaksPersonalData(message: string): string | undefined {
  return PERSONAL_DATA.find((value) => message.includes(value));
}

// --- (a) the AsyncAPI document ------------------------------------------------------------

t.test('docs/asyncapi.yaml parses with no errors or warnings, offline, with every payload a compiling 2020-12 schema', async (t) => {
  const fetched: string[] = [];
  const offline = (scheme: string) => ({
    schema: scheme,
    order: 1,
    read: (uri: unknown) => {
      fetched.push(String(uri));
      return '{}';
    },
  });
  const compiled: string[] = [];
  const draft2020: SchemaParser = {
    getMimeTypes: () => [SCHEMA_FORMAT],
    validate: () => [],
    parse: (input) => {
      // The parser hands over the dereferenced schema (refs inlined, its own ids added).
      const ajv = strictAjv();
      ajv.addKeyword('x-parser-schema-id');
      ajv.compile(input.data as object);
      compiled.push(String(input.path[input.path.indexOf('payload') - 1]));
      return input.data as never;
    },
  };
  const parser = new Parser({ schemaParsers: [draft2020], __unstable: { resolver: { resolvers: [offline('http'), offline('https')] } } });
  const { document, diagnostics } = await parser.parse(readFileSync(ASYNCAPI, 'utf8'), { source: ASYNCAPI });
  const describe = (d: Diagnostic) => `${DiagnosticSeverity[d.severity]} ${d.code}: ${d.message} at ${d.path.join('.')}`;
  t.same(diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning).map(describe), [], 'no errors, no warnings');
  t.same(fetched, [], 'nothing fetched: every $ref is a local file, $ids are names');
  if (document === undefined) return t.fail('no document');

  t.equal(document.version(), '3.0.0');
  t.equal(document.info().version(), '1.0.0');
  t.ok(document.info().hasDescription());
  const servers = Object.fromEntries(document.servers().all().map((s) => [s.id(), s.protocol()]));
  t.same(servers, { production: 'wss', development: 'ws' });
  t.match(document.servers().get('development')?.host(), /^127\.0\.0\.1:/, 'ws only to loopback');

  const schemes = document.components().securitySchemes().all();
  t.same(
    schemes.map((s) => [s.id(), s.type(), s.scheme(), s.bearerFormat()]),
    [['unitToken', 'http', 'bearer', 'JWT']],
  );
  t.match(schemes[0]?.description(), /EdDSA/);

  const channels = document.channels().all();
  t.equal(channels.length, 1, 'one channel: the locker connection');
  const messages = document.messages().all();
  const files: Record<string, string> = { hello: 'hello.json', event: 'event.json', result: 'result.json', welcome: 'welcome.json', ack: 'ack.json', command: 'command.json', error: 'error.json' };
  t.same(messages.map((m) => m.id()).sort(), Object.keys(files).sort(), 'every message type');
  t.same([...new Set(compiled)].sort(), Object.keys(files).sort(), 'every payload went through the draft 2020-12 schema parser and compiled');
  for (const message of messages) {
    const raw = message.json() as { payload: { schemaFormat: string; schema: JsonObject } };
    t.equal(raw.payload.schemaFormat, SCHEMA_FORMAT, `${message.id()}: schemaFormat`);
    t.equal(raw.payload.schema['$id'], SCHEMA_BASE_ID + files[message.id()], `${message.id()}: references schemas/${files[message.id()]}`);
  }

  // The document is written from the back office's point of view.
  const actions: Record<string, string[]> = {};
  for (const operation of document.operations().all()) {
    for (const message of operation.messages().all()) (actions[message.id()] ??= []).push(operation.action());
    const reply = operation.reply();
    for (const message of reply?.messages().all() ?? []) (actions[message.id()] ??= []).push(`reply:${operation.action()}`);
  }
  t.same(
    actions,
    {
      hello: ['receive'],
      welcome: ['reply:receive'],
      event: ['receive'],
      ack: ['send'],
      command: ['send'],
      result: ['reply:send'],
      error: ['receive', 'send'],
    },
    'the back office receives hello, event, result, error and sends welcome, ack, command, error',
  );

  // The document's own examples are valid messages of their direction.
  const fromLocker = new Set(['hello', 'event', 'result', 'error']);
  let count = 0;
  for (const message of messages) {
    for (const example of message.examples().all()) {
      const payload = example.payload();
      const check = fromLocker.has(message.id()) ? validateLockerMessage : validateBackOfficeMessage;
      t.same(failed(check(payload)), null, `asyncapi example ${message.id()}/${example.name()}`);
      count += 1;
    }
  }
  t.ok(count >= messages.length, 'every message has an example');
});

// --- (b) the schemas ----------------------------------------------------------------------

t.test('every schema compiles (strict, draft 2020-12) and is named by its $id', async (t) => {
  const onDisk = readdirSync(SCHEMA_DIR).filter((file) => file.endsWith('.json')).sort();
  t.same(onDisk, [...SCHEMA_FILES].sort(), 'docs/schemas holds exactly the files the validator loads');
  const ajv = strictAjv();
  const schemas = onDisk.map((file) => [file, schemaFile(file)] as const);
  for (const [file, schema] of schemas) {
    t.equal(schema['$schema'], DRAFT_2020_12, `${file}: $schema`);
    t.equal(schema['$id'], SCHEMA_BASE_ID + file, `${file}: $id`);
    t.ok(ajv.validateSchema(schema), `${file}: valid against the 2020-12 meta-schema`);
    ajv.addSchema(schema);
  }
  for (const [file] of schemas) {
    t.doesNotThrow(() => ajv.getSchema(SCHEMA_BASE_ID + file), `${file} compiles`);
  }
  t.type(validator, ProtocolValidator);
  t.throws(() => createValidator({ schemaDir: join(ROOT, 'docs', 'no-such-dir') }), /protocol schema .*defs\.json could not be read/);
});

t.test('envelopes and wire objects are closed; strings and arrays are bounded', async (t) => {
  // Objects that may carry fields this version does not know (versioning rule), by design.
  const openByDesign = new Set([
    'event.json#/properties/payload',
    'result.json#/properties/result',
    ...Object.keys(eventExamples).map((e) => `event.json#/$defs/${e}`),
    'event.json#/$defs/openFailure',
    'locker-message.json#', // unions: each branch is closed
    'back-office-message.json#',
    'defs.json#/$defs/AppliedVersions', // reservation id -> version
    // command.json: `args` is closed in each oneOf branch, by command name
    'command.json#/properties/args',
    ...Object.keys(commandExamples).map((_, i) => `command.json#/oneOf/${i}`),
  ]);
  const open: string[] = [];
  const unboundedStrings: string[] = [];
  const unboundedArrays: string[] = [];
  const walk = (node: Json, where: string): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${where}/${i}`));
    const types = node['type'] === undefined ? [] : ([] as Json[]).concat(node['type']);
    if (types.includes('object') && node['additionalProperties'] !== false && !openByDesign.has(where)) open.push(where);
    if (types.includes('string') && node['maxLength'] === undefined && node['pattern'] === undefined) unboundedStrings.push(where);
    if (types.includes('array') && node['maxItems'] === undefined) unboundedArrays.push(where);
    for (const [key, child] of Object.entries(node)) {
      if (key === 'enum' || key === 'const' || key === 'examples') continue;
      walk(child, `${where}/${key}`);
    }
  };
  for (const file of SCHEMA_FILES) walk(schemaFile(file), `${file}#`);
  t.same(open, [], 'additionalProperties: false everywhere but event payloads, result objects and version maps');
  t.same(unboundedStrings, [], 'every string has maxLength or a pattern');
  t.same(unboundedArrays, [], 'every array has maxItems');

  const defs = schemaFile('defs.json')['$defs'] as Record<string, JsonObject>;
  t.equal(defs['Id']?.['maxLength'], 128);
  t.equal(defs['Name']?.['maxLength'], 200);
  t.equal(defs['Remark']?.['maxLength'], 500);
  t.equal(defs['Phone']?.['pattern'], '^\\+[1-9][0-9]{6,14}$');
  const reservation = defs['ReservationWire']?.['properties'] as Record<string, JsonObject>;
  t.equal(reservation['phones']?.['maxItems'], 5);
  const hello = schemaFile('hello.json')['properties'] as Record<string, JsonObject>;
  t.equal(hello['compartments']?.['maxItems'], 16);
});

// --- (c) the examples ---------------------------------------------------------------------

t.test('every example passes its direction, its union schema, and is refused by the other direction', async (t) => {
  const ajv = strictAjv();
  for (const file of SCHEMA_FILES) ajv.addSchema(schemaFile(file));
  const unions: Record<string, ValidateFunction> = {
    locker: ajv.getSchema(`${SCHEMA_BASE_ID}locker-message.json`) as ValidateFunction,
    'back office': ajv.getSchema(`${SCHEMA_BASE_ID}back-office-message.json`) as ValidateFunction,
  };
  const names = new Set<string>();
  for (const direction of directions) {
    for (const { name, message } of direction.examples) {
      t.notOk(names.has(name), `${name}: unique name`);
      names.add(name);
      const result = direction.validate(message);
      t.same(failed(result), null, `${direction.label}: ${name}`);
      if (result.ok) t.equal(result.message, message, `${name}: the same object comes back, unchanged`);
      t.ok(unions[direction.label]?.(message), `${name}: accepted by the ${direction.label} union schema`);
      t.ok(parseFrame(JSON.stringify(message)).ok, `${name}: fits a frame`);
      const other = direction.other(message);
      if ((message as JsonObject)['type'] === 'error') t.ok(other.ok, `${name}: error goes both ways`);
      else t.match(failed(other), { code: 'UNKNOWN_TYPE' }, `${name}: not a message of the other direction`);
    }
  }
  // Coverage: the typed records force one example per event type and per command name.
  const eventTypes: EventType[] = Object.keys(eventExamples) as EventType[];
  t.equal(eventTypes.length, 18, 'every event type of messages.ts');
  const commandNames: CommandName[] = Object.keys(commandExamples) as CommandName[];
  const commandSchema = schemaFile('command.json');
  t.same(commandNames, ((commandSchema['properties'] as JsonObject)['name'] as JsonObject)['enum'], 'the command names of messages.ts, as the schema lists them');
});

t.test('schema fields match the TS-typed examples exactly (ties docs/schemas to messages.ts)', async (t) => {
  const cache = new Map<string, JsonObject>();
  const load = (file: string): JsonObject => {
    const hit = cache.get(file);
    if (hit) return hit;
    const schema = schemaFile(file);
    cache.set(file, schema);
    return schema;
  };
  /** The object schema at file#pointer, following $refs. */
  const resolveSchema = (file: string, pointer: string): { file: string; schema: JsonObject } => {
    let node: Json | undefined = load(file);
    for (const segment of pointer.split('/').filter(Boolean)) node = (node as JsonObject)[segment];
    const schema = node as JsonObject;
    const ref = schema['$ref'];
    if (typeof ref !== 'string') return { file, schema };
    const [target = '', fragment = ''] = ref.split('#');
    return resolveSchema(target === '' ? file : target, fragment);
  };
  const keysOf = (schema: JsonObject) => Object.keys(schema['properties'] as JsonObject).sort();
  const requiredOf = (schema: JsonObject) => ((schema['required'] as string[] | undefined) ?? []).slice().sort();

  const groups: { label: string; file: string; pointer: string; objects: JsonObject[]; optional?: string[] }[] = [];
  const byType = (type: string) => allExamples.map((e) => e.message as JsonObject).filter((m) => m['type'] === type);
  for (const [type, file] of Object.entries({ hello: 'hello.json', event: 'event.json', welcome: 'welcome.json', ack: 'ack.json', command: 'command.json', error: 'error.json' })) {
    groups.push({ label: type, file, pointer: '', objects: byType(type), ...(type === 'hello' ? { optional: ['pinHashing'] } : {}) });
  }
  groups.push({ label: 'result', file: 'result.json', pointer: '', objects: byType('result'), optional: ['error', 'result'] });
  const hellos = byType('hello');
  groups.push({ label: 'hello.clock', file: 'hello.json', pointer: '/properties/clock', objects: hellos.map((h) => h['clock'] as JsonObject) });
  groups.push({ label: 'hello.compartments[]', file: 'hello.json', pointer: '/properties/compartments/items', objects: hellos.flatMap((h) => h['compartments'] as JsonObject[]) });
  groups.push({ label: 'hello.applied', file: 'hello.json', pointer: '/properties/applied', objects: hellos.map((h) => h['applied'] as JsonObject) });
  groups.push({ label: 'hello.outbox', file: 'hello.json', pointer: '/properties/outbox', objects: hellos.map((h) => h['outbox'] as JsonObject) });
  groups.push({ label: 'EventTime', file: 'event.json', pointer: '/properties/at', objects: byType('event').map((e) => e['at'] as JsonObject) });
  groups.push({ label: 'result.error', file: 'result.json', pointer: '/properties/error', objects: byType('result').flatMap((r) => (r['error'] ? [r['error'] as JsonObject] : [])) });
  for (const name of Object.keys(commandExamples)) {
    const commands = byType('command').filter((c) => c['name'] === name);
    groups.push({ label: `${name} args`, file: 'command.json', pointer: `/$defs/${name}`, objects: commands.map((c) => c['args'] as JsonObject) });
  }
  groups.push({
    label: 'ReservationWire',
    file: 'command.json',
    pointer: '/$defs/reservation.upsert/properties/reservation',
    objects: byType('command').filter((c) => c['name'] === 'reservation.upsert').map((c) => (c['args'] as JsonObject)['reservation'] as JsonObject),
  });

  for (const group of groups) {
    const { schema } = resolveSchema(group.file, group.pointer);
    const properties = keysOf(schema);
    const required = requiredOf(schema);
    t.ok(group.objects.length > 0, `${group.label}: has examples`);
    t.same(properties.filter((p) => !required.includes(p)), (group.optional ?? []).slice().sort(), `${group.label}: optional in the schema exactly where optional in messages.ts`);
    const union = new Set<string>();
    for (const object of group.objects) {
      const keys = Object.keys(object).sort();
      keys.forEach((k) => union.add(k));
      t.same(keys.filter((k) => !properties.includes(k)), [], `${group.label}: no field the schema lacks`);
      t.same(required.filter((k) => !keys.includes(k)), [], `${group.label}: every required field present`);
    }
    t.same([...union].sort(), properties, `${group.label}: every schema field is a field of the type`);
  }
});

t.test('mutations of every example fail with SCHEMA and name the field, never echoing values', async (t) => {
  const LONG = `Ola Nordmann ${'+4799999999 '.repeat(100)}`; // longer than any string the schemas allow
  for (const { name, message, validate } of allExamples) {
    const original = message as Json;
    const { free, open, optional, optionalFields = [] } = shapeOf(original);
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
      const optionalHere = optional.some((prefix) => startsWith(path, prefix) && path.length === prefix.length + 1) || optionalFields.some((field) => startsWith(path, field) && path.length === field.length);
      if (typeof last === 'string' && !optionalHere) {
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
    // an extra field in every closed object
    for (const path of [[], ...paths(original)] as Path[]) {
      const node = at(original, path);
      if (node === null || typeof node !== 'object' || Array.isArray(node)) continue;
      if (open.some((prefix) => startsWith(path, prefix))) continue;
      const mutated = clone(original);
      (at(mutated, path) as JsonObject)['colour'] = 'red';
      expectFailure(`extra field in ${render(path) || 'the message'}`, mutated, { code: 'SCHEMA', path: render([...path, 'colour']), text: 'is not allowed' });
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
    const names = Object.keys(commandExamples) as CommandName[];
    let pairs = 0;
    for (const name of names) {
      for (const other of names) {
        if (other === name) continue;
        const m = { ...clone(commandExamples[name]), args: clone(commandExamples[other].args) };
        check(`${name} with the args of ${other}`, validateBackOfficeMessage(m), 'SCHEMA', /^args(\.[A-Za-z]+)? (is required|is not allowed|must )/);
        pairs += 1;
      }
    }
    t.equal(pairs, names.length * (names.length - 1));
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
    const applied = clone(helloExample) as unknown as JsonObject;
    ((applied['applied'] as JsonObject)['reservations'] as JsonObject)['r-2025-0500'] = -1;
    check('a negative applied version', validateLockerMessage(applied), 'SCHEMA', /^applied\.reservations\.r-2025-0500 must be >= 0$/);
    const longKey = clone(helloExample) as unknown as JsonObject;
    ((longKey['applied'] as JsonObject)['payments'] as JsonObject)['k'.repeat(129)] = 1;
    check('an applied key of 129 characters', validateLockerMessage(longKey), 'SCHEMA', /^applied\.payments: a property name must NOT have more than 128 characters$/);
  });

  t.test('version and type', async (t) => {
    check('v: 2', validateBackOfficeMessage({ ...clone(upsert), v: 2 }), 'UNSUPPORTED_VERSION', /^v must be 1/);
    check('v: 0', validateLockerMessage({ ...clone(helloExample), v: 0 }), 'UNSUPPORTED_VERSION', /^v must be 1/);
    check('v: "1"', validateLockerMessage({ ...clone(helloExample), v: '1' }), 'SCHEMA', /^v must be the number 1$/);
    const { v: _v, ...noVersion } = clone(helloExample);
    check('no v', validateLockerMessage(noVersion), 'SCHEMA', /^v is required$/);
    check('v: 2 wins over an unknown type', validateLockerMessage({ v: 2, type: 'hello.v2' }), 'UNSUPPORTED_VERSION', /^v must be 1/);
    check('an unknown type', validateLockerMessage({ v: 1, type: 'goodbye' }), 'UNKNOWN_TYPE', /^type is not one a locker sends/);
    check('hello sent by a back office', validateBackOfficeMessage(clone(helloExample)), 'UNKNOWN_TYPE', /^type is not one a back office sends .*\(welcome, ack, command, error\)$/);
    check('type "constructor"', validateBackOfficeMessage({ v: 1, type: 'constructor' }), 'UNKNOWN_TYPE', /^type is not one/);
    check('type "__proto__"', validateLockerMessage(JSON.parse('{"v":1,"type":"__proto__"}')), 'UNKNOWN_TYPE', /^type is not one/);
    check('no type', validateLockerMessage({ v: 1 }), 'SCHEMA', /^type is required$/);
    check('type 7', validateLockerMessage({ v: 1, type: 7 }), 'SCHEMA', /^type must be string$/);
    check('a __proto__ field', validateLockerMessage(JSON.parse(JSON.stringify(helloExample).replace('{', '{"__proto__":{"x":1},'))), 'SCHEMA', /^__proto__ is not allowed$/);
  });

  t.test('not an object: MALFORMED', async (t) => {
    const values: [string, unknown][] = [['null', null], ['[]', []], ['[hello]', [helloExample]], ['a string', 'hello'], ['a number', 42], ['true', true], ['undefined', undefined]];
    for (const [label, value] of values) {
      check(`${label} as a locker message`, validateLockerMessage(value), 'MALFORMED', /^a message must be a JSON object$/);
      check(`${label} as a back-office message`, validateBackOfficeMessage(value), 'MALFORMED', /^a message must be a JSON object$/);
    }
  });

  t.test('field names that may be data are not echoed', async (t) => {
    const m = clone(helloExample) as unknown as JsonObject;
    (m['clock'] as JsonObject)['+4791234567'] = 1;
    (m['clock'] as JsonObject)['kari.nordmann@example.no'] = 1;
    const result = failed(validateLockerMessage(m));
    t.match(result, { code: 'SCHEMA', message: /^clock\.\* is not allowed$/ });
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

// --- (d) properties -----------------------------------------------------------------------

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
