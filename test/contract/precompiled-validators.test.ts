/**
 * The build's precompiled validators (Ajv standalone code, kiosk/sync/validator-build.ts) and
 * the ones compiled at start agree on every contract example and on every mutation of them
 * (each field removed, each field of the wrong type, each message sent the other way): same
 * verdict, same code, same message. And the precompiled module is used only when it was made
 * from the schema files the validator reads; each type's function is loaded when a message of
 * that type is first checked, and a part missing is refused at start.
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { compiledSchemaSets, MESSAGE_TYPES, ProtocolValidator } from '../../kiosk/sync/validate.js';
import { partFileOf, writePrecompiledModule } from '../../kiosk/sync/validator-build.js';
import { backOfficeExamples, lockerExamples } from './examples.js';
import { SCHEMA_DIR, clone, paths, setAt, wrongType, type Json } from './protocol-support.js';

// Under the repository (tap's fixtures), so the module's require() of ajv's runtime resolves.
const dir = t.testdir();
const modulePath = join(dir, 'protocol-validators.cjs');
await writePrecompiledModule(SCHEMA_DIR, modulePath);
const precompiled = new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: modulePath });
const compiled = new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: false });

/** Each example, and each with one field removed or of the wrong type. */
function* variants(message: Json): Generator<{ label: string; value: Json }> {
  yield { label: 'as is', value: message };
  for (const path of paths(message)) {
    const removed = clone(message);
    setAt(removed, path, undefined);
    yield { label: `without ${path.join('.')}`, value: removed };
    const wrong = clone(message);
    setAt(wrong, path, wrongType(structuredClone(path.reduce<Json>((node, key) => (node as Record<string, Json>)[key as string] as Json, message))));
    yield { label: `${path.join('.')} of the wrong type`, value: wrong };
  }
}

t.test('the two are what they say they are', async (t) => {
  t.equal(precompiled.source, 'precompiled');
  t.equal(compiled.source, 'compiled');
});

t.test('same verdict, code and message on every example and mutation, both directions', async (t) => {
  let compared = 0;
  let schemaErrors = 0;
  const disagreements: string[] = [];
  for (const [direction, examples] of [['locker', lockerExamples], ['back office', backOfficeExamples]] as const) {
    for (const example of examples) {
      for (const { label, value } of variants(example.message as unknown as Json)) {
        for (const method of ['validateLockerMessage', 'validateBackOfficeMessage'] as const) {
          const a = precompiled[method](structuredClone(value));
          const b = compiled[method](structuredClone(value));
          compared += 1;
          if (!b.ok && b.code === 'SCHEMA') schemaErrors += 1;
          const strip = (r: typeof a): unknown => (r.ok ? { ok: true } : r);
          if (JSON.stringify(strip(a)) !== JSON.stringify(strip(b))) disagreements.push(`${direction} ${example.name}, ${label}, ${method}: ${JSON.stringify(strip(a))} vs ${JSON.stringify(strip(b))}`);
        }
      }
    }
  }
  t.same(disagreements, [], 'no disagreement');
  t.ok(compared > 1000, `${compared} comparisons`);
  t.ok(schemaErrors > compared / 5, `${schemaErrors} of them refused as SCHEMA, with the failing field named (the mutations reach the schemas)`);
});

t.test('a module made from other schema files is not used: the validator compiles the ones it reads', async (t) => {
  const changed = t.testdir();
  await cp(SCHEMA_DIR, changed, { recursive: true });
  const ackPath = join(changed, 'ack.json');
  const ack = JSON.parse(await readFile(ackPath, 'utf8')) as { description?: string };
  await writeFile(ackPath, JSON.stringify({ ...ack, description: `${ack.description ?? ''} (changed)` }));
  const stale = new ProtocolValidator({ schemaDir: changed, precompiled: modulePath });
  t.equal(stale.source, 'compiled');
  t.ok(stale.validateBackOfficeMessage({ v: 1, type: 'ack', seq: 1 }).ok);
});

t.test('a process compiles a set of schemas once; other schema texts are compiled anew, not taken from the first', async (t) => {
  const before = compiledSchemaSets();
  const again = new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: false });
  t.equal(compiledSchemaSets(), before, 'the same schemas: no second compile');
  t.ok(again.validateBackOfficeMessage({ v: 1, type: 'ack', seq: 1 }).ok);
  t.notOk(again.validateBackOfficeMessage({ v: 1, type: 'ack' }).ok, 'and it still refuses');

  // ack.json changed to require a field the real one does not: only the new validator asks for it.
  const stricter = t.testdir();
  await cp(SCHEMA_DIR, stricter, { recursive: true });
  const ackPath = join(stricter, 'ack.json');
  const ack = JSON.parse(await readFile(ackPath, 'utf8')) as { required?: string[]; properties?: Record<string, unknown> };
  await writeFile(ackPath, JSON.stringify({ ...ack, required: [...(ack.required ?? []), 'extra'], properties: { ...ack.properties, extra: { type: 'string' } } }));
  const changed = new ProtocolValidator({ schemaDir: stricter, precompiled: false });
  t.equal(compiledSchemaSets(), before + 1, 'other texts: compiled');
  const plainAck = { v: 1, type: 'ack', seq: 1 };
  t.notOk(changed.validateBackOfficeMessage(plainAck).ok, 'the changed schema applies to its validator');
  t.ok(again.validateBackOfficeMessage(plainAck).ok, 'and not to the first one');
  t.ok(changed.validateBackOfficeMessage({ ...plainAck, extra: 'x' }).ok);
});

t.test('a file that is not a precompiled module is refused with a clear error', async (t) => {
  const bogus = join(t.testdir(), 'bogus.cjs');
  await writeFile(bogus, 'module.exports = { hello: 1 };\n');
  t.throws(() => new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: bogus }), /is not a precompiled protocol validator module: rebuild with npm run build/);
});

t.test('no module at the path: compiled at start', async (t) => {
  t.equal(new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: join(dir, 'absent.cjs') }).source, 'compiled');
});

t.test("each type's function is loaded when a message of that type is first checked, not at start", async (t) => {
  const own = t.testdir();
  const index = join(own, 'protocol-validators.cjs');
  await writePrecompiledModule(SCHEMA_DIR, index);
  const loaded = (type: string): boolean => Object.hasOwn(createRequire(import.meta.url).cache, join(own, partFileOf('protocol-validators.cjs', type)));
  const validator = new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: index });
  t.equal(validator.source, 'precompiled');
  t.same(MESSAGE_TYPES.filter(loaded), [], 'made: no type\'s function loaded yet');
  t.ok(validator.validateBackOfficeMessage({ v: 1, type: 'ack', seq: 1 }).ok, 'an ack checks');
  t.same(MESSAGE_TYPES.filter(loaded), ['ack'], 'only the ack\'s function is loaded');
  t.match(validator.validateBackOfficeMessage({ v: 1, type: 'ack' }), { ok: false, code: 'SCHEMA', message: 'seq is required' }, 'and it refuses as before');
  const event = lockerExamples.find((example) => (example.message as { type?: string }).type === 'event');
  if (!event) throw new Error('no event among the contract examples');
  t.ok(validator.validateLockerMessage(structuredClone(event.message)).ok, 'an event checks');
  t.same(MESSAGE_TYPES.filter(loaded), ['event', 'ack'], 'then the event\'s');
  t.match(validator.validateLockerMessage({ v: 1, type: 'welcome' }), { ok: false, code: 'UNKNOWN_TYPE' }, 'a type the other side sends is still unknown here');
  t.same(MESSAGE_TYPES.filter(loaded), ['event', 'ack'], 'without loading its function');
});

t.test('a part missing beside the module is refused at start, naming it', async (t) => {
  const own = t.testdir();
  const index = join(own, 'protocol-validators.cjs');
  await writePrecompiledModule(SCHEMA_DIR, index);
  await rm(join(own, partFileOf('protocol-validators.cjs', 'command')));
  t.throws(() => new ProtocolValidator({ schemaDir: SCHEMA_DIR, precompiled: index }), /the validators of command are missing beside it: rebuild with npm run build/);
});
