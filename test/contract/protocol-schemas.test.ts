/**
 * The schemas in docs/schemas/ as a machine-checked contract: every one compiles (strict, draft
 * 2020-12), objects are open (peers ignore fields they do not know) while strings and arrays are
 * bounded, the TS-typed examples (examples.ts) pass and match the schemas' fields, and every
 * command's result examples match their definition in result.json.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { CommandName } from '../../kiosk/sync/messages.js';
import { ProtocolValidator, SCHEMA_BASE_ID, SCHEMA_FILES, createValidator, parseFrame } from '../../kiosk/sync/validate.js';
import { commandExamples, commandResultExamples, eventExamples } from './examples.js';
import { ROOT, SCHEMA_DIR, DRAFT_2020_12, allExamples, directions, failed, schemaFile, strictAjv, validator, type Json, type JsonObject } from './protocol-support.js';

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

t.test('objects are open (peers ignore fields they do not know); strings and arrays are bounded', async (t) => {
  const closed: string[] = [];
  const unboundedStrings: string[] = [];
  const unboundedArrays: string[] = [];
  const walk = (node: Json, where: string): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${where}/${i}`));
    const types = node['type'] === undefined ? [] : ([] as Json[]).concat(node['type']);
    if (node['additionalProperties'] === false || node['unevaluatedProperties'] === false) closed.push(where);
    if (types.includes('string') && node['maxLength'] === undefined && node['pattern'] === undefined) unboundedStrings.push(where);
    if (types.includes('array') && node['maxItems'] === undefined) unboundedArrays.push(where);
    for (const [key, child] of Object.entries(node)) {
      if (key === 'enum' || key === 'const' || key === 'examples') continue;
      walk(child, `${where}/${key}`);
    }
  };
  for (const file of SCHEMA_FILES) walk(schemaFile(file), `${file}#`);
  t.same(closed, [], 'no object refuses fields it does not know (docs/protocol.md, "Versioning")');
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
  t.notOk('applied' in hello, 'the hello no longer lists versions: its size does not grow with the reservations');
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
  const eventSchema = schemaFile('event.json');
  const typed = (eventSchema['allOf'] as JsonObject[]).map((rule) => (((rule['if'] as JsonObject)['properties'] as JsonObject)['event'] as JsonObject)['const']);
  t.same(typed.slice().sort(), Object.keys(eventExamples).sort(), 'event.json checks the payload of exactly the event types of messages.ts');
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
  for (const [type, file] of Object.entries({ hello: 'hello.json', welcome: 'welcome.json', ack: 'ack.json', nack: 'nack.json', command: 'command.json', error: 'error.json' })) {
    // hello.pinHashing: absent from a locker that publishes no unit salt.
    groups.push({ label: type, file, pointer: '', objects: byType(type), ...(type === 'hello' ? { optional: ['pinHashing'] } : {}) });
  }
  groups.push({ label: 'event', file: 'event.json', pointer: '', objects: byType('event'), optional: ['urgent'] });
  groups.push({ label: 'result', file: 'result.json', pointer: '', objects: byType('result'), optional: ['error', 'result'] });
  const hellos = byType('hello');
  groups.push({ label: 'hello.clock', file: 'hello.json', pointer: '/properties/clock', objects: hellos.map((h) => h['clock'] as JsonObject) });
  groups.push({ label: 'hello.compartments[]', file: 'hello.json', pointer: '/properties/compartments/items', objects: hellos.flatMap((h) => h['compartments'] as JsonObject[]) });
  groups.push({ label: 'hello.link', file: 'hello.json', pointer: '/properties/link', objects: hellos.map((h) => h['link'] as JsonObject) });
  groups.push({ label: 'hello.inventory', file: 'hello.json', pointer: '/properties/inventory', objects: hellos.map((h) => h['inventory'] as JsonObject) });
  groups.push({ label: 'hello.outbox', file: 'hello.json', pointer: '/properties/outbox', objects: hellos.map((h) => h['outbox'] as JsonObject) });
  groups.push({ label: 'EventTime', file: 'event.json', pointer: '/properties/at', objects: byType('event').map((e) => e['at'] as JsonObject) });
  groups.push({ label: 'result.error', file: 'result.json', pointer: '/properties/error', objects: byType('result').flatMap((r) => (r['error'] ? [r['error'] as JsonObject] : [])) });
  for (const name of Object.keys(commandExamples)) {
    const commands = byType('command').filter((c) => c['name'] === name);
    // payment.status link and method: absent from back offices before issue 12.
    groups.push({ label: `${name} args`, file: 'command.json', pointer: `/$defs/${name}`, objects: commands.map((c) => c['args'] as JsonObject), ...(name === 'payment.status' ? { optional: ['link', 'method', 'receiptChannel'] } : {}) });
  }
  groups.push({
    label: 'ReservationWire',
    file: 'command.json',
    pointer: '/$defs/reservation.upsert/properties/reservation',
    objects: byType('command').filter((c) => c['name'] === 'reservation.upsert').map((c) => (c['args'] as JsonObject)['reservation'] as JsonObject),
    optional: ['amountDue'],
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

t.test('every command has its result defined in result.json, and the examples of each match', async (t) => {
  const ajv = strictAjv();
  for (const file of SCHEMA_FILES) ajv.addSchema(schemaFile(file));
  const defs = schemaFile('result.json')['$defs'] as JsonObject;
  t.same(Object.keys(defs).sort(), Object.keys(commandExamples).sort(), 'one result definition per command name');
  for (const [name, results] of Object.entries(commandResultExamples) as [CommandName, readonly { result?: unknown }[]][]) {
    const validate = ajv.getSchema(`${SCHEMA_BASE_ID}result.json#/$defs/${name}`) as ValidateFunction;
    for (const [i, message] of results.entries()) t.ok(validate(message.result), `${name} result #${i + 1}`);
    t.notOk(validate({ applied: 'yes' }), `${name}: a result of another shape is refused`);
  }
});
