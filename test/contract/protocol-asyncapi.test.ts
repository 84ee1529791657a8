/**
 * docs/asyncapi.yaml parses offline with no errors or warnings, every payload is a compiling
 * draft 2020-12 schema that is one of docs/schemas/, it is written from the back office's point
 * of view, and its own examples are valid messages.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import type { Diagnostic, SchemaParser } from '@asyncapi/parser';
import { SCHEMA_BASE_ID } from '../../kiosk/sync/validate.js';
import { ASYNCAPI, SCHEMA_FORMAT, failed, strictAjv, validateBackOfficeMessage, validateLockerMessage, type JsonObject } from './protocol-support.js';

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
  const files: Record<string, string> = { hello: 'hello.json', event: 'event.json', result: 'result.json', welcome: 'welcome.json', ack: 'ack.json', nack: 'nack.json', command: 'command.json', error: 'error.json' };
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
      nack: ['send'],
      command: ['send'],
      result: ['reply:send'],
      error: ['receive', 'send'],
    },
    'the back office receives hello, event, result, error and sends welcome, ack, nack, command, error',
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

