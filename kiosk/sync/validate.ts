/**
 * Checks messages of the back-office protocol (v1) against the published JSON Schemas in
 * docs/schemas/ (the contract dealer systems implement), so that the locker's sync client and
 * the reference back office take and send exactly what the contract says.
 *
 * Nothing happens on import: `createValidator()` (or `new ProtocolValidator()`) makes the
 * validators once; keep the instance and reuse it. Two ways to the same functions:
 * - precompiled: `npm run build` writes Ajv's standalone code for the schemas beside this file
 *   (dist/kiosk/sync/protocol-validators.cjs, see validator-build.ts), with a digest of the
 *   schema files it was made from. The production start loads it: no Ajv, no compiling; and
 *   each message type's function only when a message of that type is first checked.
 * - compiled at start with Ajv (draft 2020-12): from source (tsx, tests), or when the schema
 *   files differ from the digest (a stale build), or when asked (`precompiled: false`); once
 *   per process for the same schema texts (compiledOnce).
 * Ajv itself is loaded only on that second path.
 *
 * Order of checks, so that a peer gets the error code docs/protocol.md promises:
 *   not a JSON object -> MALFORMED; `v` a number other than 1 -> UNSUPPORTED_VERSION;
 *   `type` not one this direction has -> UNKNOWN_TYPE; any other shape error -> SCHEMA.
 * Error messages name the failing field ("args.reservation.phones/0 must match pattern ...")
 * and never echo a value: values may be personal data (names, phones, e-mail addresses).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv2020, ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv/dist/2020.js';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from './messages.js';
import type { BackOfficeMessage, LockerMessage } from './messages.js';

/** Every schema's `$id` is this plus its file name. Ids are names, never fetched. */
export const SCHEMA_BASE_ID = 'https://keylocker.dev/schemas/v1/';

/** The files of docs/schemas/, shared definitions first. */
export const SCHEMA_FILES = [
  'defs.json',
  'hello.json',
  'event.json',
  'result.json',
  'error.json',
  'welcome.json',
  'ack.json',
  'nack.json',
  'command.json',
  'locker-message.json',
  'back-office-message.json',
] as const;

const LOCKER_TYPES = { hello: 'hello.json', event: 'event.json', result: 'result.json', error: 'error.json' } as const;
const BACK_OFFICE_TYPES = { welcome: 'welcome.json', ack: 'ack.json', nack: 'nack.json', command: 'command.json', error: 'error.json' } as const;

/** Every message type of both directions: the validators a ProtocolValidator holds, by type. */
export const MESSAGE_TYPES = [...new Set([...Object.keys(LOCKER_TYPES), ...Object.keys(BACK_OFFICE_TYPES)])] as const;
const SCHEMA_OF_TYPE: Readonly<Record<string, string>> = { ...LOCKER_TYPES, ...BACK_OFFICE_TYPES };

/** The file the build writes beside this module (dist/kiosk/sync/), loaded when present. */
export const PRECOMPILED_FILE = 'protocol-validators.cjs';
const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * Ajv's options for the protocol, the same for the build's standalone code and for compiling at
 * start, so both give the same functions. Formats (date, date-time, email) are added by
 * newProtocolAjv.
 */
export const AJV_OPTIONS: AjvOptions = {
  strict: true,
  strictRequired: false, // `required` inside if/then names properties defined beside them
  allowUnionTypes: true, // ["string", "null"]
  discriminator: true, // command.json selects the args by `name`
  allErrors: false, // stop at the first error: faster, and the most specific one comes first
  verbose: false, // errors must not carry the data
};
const FORMATS = ['date', 'date-time', 'email'] as const;

export type ValidationErrorCode = 'MALFORMED' | 'UNKNOWN_TYPE' | 'SCHEMA' | 'UNSUPPORTED_VERSION';
export type ValidationFailure = { ok: false; code: ValidationErrorCode; message: string };
export type ValidationResult<T> = { ok: true; message: T } | ValidationFailure;

export type FrameErrorCode = 'TOO_LARGE' | 'MALFORMED';
export type FrameResult = { ok: true; value: unknown } | { ok: false; code: FrameErrorCode; message: string };

export interface ProtocolValidatorOptions {
  /** Where the schema files are; default: the repository's docs/schemas (from source or dist). */
  schemaDir?: string;
  /**
   * The build's standalone module: a path, or false to compile with Ajv whatever is built.
   * Default: protocol-validators.cjs beside this file, when it exists.
   */
  precompiled?: string | false;
}

/** What a precompiled module exports: one function per message type, and what it came from. */
interface PrecompiledModule {
  schemaDigest: string;
  /** Each type's own module, relative to the index (validator-build.ts). */
  files: Record<string, string>;
  validators: Record<string, ValidateFunction>;
}

/** Longest error message produced: it goes into an `error` message, which allows 1000. */
const MAX_MESSAGE_LENGTH = 500;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A WebSocket text frame to a JSON value. Checks the size first (in UTF-8 bytes), then that a
 * Buffer is valid UTF-8, then JSON.parse. Says nothing about the value's shape: the
 * validators do (a non-object is MALFORMED there). Messages never quote the frame.
 */
export function parseFrame(data: string | Buffer, maxBytes: number = MAX_FRAME_BYTES): FrameResult {
  let text: string;
  if (typeof data === 'string') {
    // A UTF-16 code unit is at least one UTF-8 byte: a long string is too large without counting.
    if (data.length > maxBytes || Buffer.byteLength(data, 'utf8') > maxBytes) return tooLarge(maxBytes);
    text = data;
  } else {
    if (data.length > maxBytes) return tooLarge(maxBytes);
    try {
      text = utf8.decode(data);
    } catch {
      return { ok: false, code: 'MALFORMED', message: 'frame is not valid UTF-8' };
    }
  }
  try {
    // No reviver, no parse-error text: V8's SyntaxError quotes the input.
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, code: 'MALFORMED', message: 'frame is not valid JSON' };
  }
}

function tooLarge(maxBytes: number): FrameResult {
  return { ok: false, code: 'TOO_LARGE', message: `frame is over ${maxBytes} bytes` };
}

/** The default schema directory: docs/schemas from kiosk/sync (source) or dist/kiosk/sync (built). */
export function defaultSchemaDir(): string {
  const found = findSchemaDir();
  if (found === null) throw new Error(`protocol schemas not found: looked for defs.json in ${schemaDirCandidates().join(' and ')}`);
  return found;
}

function schemaDirCandidates(): string[] {
  return [resolve(HERE, '..', '..', 'docs', 'schemas'), resolve(HERE, '..', '..', '..', 'docs', 'schemas')];
}

function findSchemaDir(): string | null {
  return schemaDirCandidates().find((dir) => existsSync(join(dir, 'defs.json'))) ?? null;
}

/** The schema files' text, in SCHEMA_FILES order; throws naming the file that cannot be read. */
export function readSchemaTexts(schemaDir: string): string[] {
  return SCHEMA_FILES.map((file) => {
    const path = join(schemaDir, file);
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(`protocol schema ${path} could not be read: ${(error as Error).message}`);
    }
  });
}

/** SHA-256 over the schema files (name and text): what a precompiled module was made from. */
export function schemaDigest(texts: readonly string[]): string {
  const hash = createHash('sha256');
  SCHEMA_FILES.forEach((file, i) => hash.update(`${file}\0${texts[i]}\0`));
  return hash.digest('hex');
}

/**
 * An Ajv instance with every protocol schema added (none compiled yet). Ajv is required here,
 * on first use, so a start that finds precompiled validators never loads it. `extra` adds
 * options (the build's `code`).
 */
export function newProtocolAjv(texts: readonly string[], schemaDir: string, extra: AjvOptions = {}): Ajv2020 {
  const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const addFormats = require('ajv-formats') as typeof import('ajv-formats').default;
  const ajv = new AjvClass({ ...AJV_OPTIONS, ...extra });
  addFormats(ajv, [...FORMATS]);
  SCHEMA_FILES.forEach((file, i) => {
    let schema: unknown;
    try {
      schema = JSON.parse(texts[i]!);
    } catch (error) {
      throw new Error(`protocol schema ${join(schemaDir, file)} could not be read: ${(error as Error).message}`);
    }
    ajv.addSchema(schema as object);
  });
  return ajv;
}

/** The compiled function of one message type's schema. */
export function compiledFor(ajv: Ajv2020, type: string): ValidateFunction {
  const file = SCHEMA_OF_TYPE[type];
  const validate = file === undefined ? undefined : ajv.getSchema(SCHEMA_BASE_ID + file);
  if (validate === undefined) throw new Error(`protocol schema ${file ?? type} does not have $id ${SCHEMA_BASE_ID}${file ?? type}`);
  return validate;
}

/**
 * Ajv's functions by the digest of the schemas they were compiled from: a process compiles a
 * set of schemas once, however many validators it makes (a test file starts many lockers, each
 * with its sync client; compiling took 0.3-0.9 s of CPU each time). Sharing them is safe: a
 * compiled function keeps nothing between calls but `errors`, which check() reads at once.
 */
const compiledByDigest = new Map<string, Record<string, ValidateFunction>>();

function compiledOnce(digest: string, texts: readonly string[], schemaDir: string): Record<string, ValidateFunction> {
  let validators = compiledByDigest.get(digest);
  if (validators === undefined) {
    const ajv = newProtocolAjv(texts, schemaDir);
    validators = Object.fromEntries(MESSAGE_TYPES.map((type) => [type, compiledFor(ajv, type)]));
    compiledByDigest.set(digest, validators);
  }
  return validators;
}

/** How many sets of schemas this process has compiled with Ajv (test/contract/precompiled-validators.test.ts). */
export function compiledSchemaSets(): number {
  return compiledByDigest.size;
}

/**
 * The build's index module (validator-build.ts). Its validators are getters that require each
 * type's own module on first use: checked here by their property, without calling them, so a
 * start loads none of them.
 */
function loadPrecompiled(path: string): PrecompiledModule | null {
  if (!existsSync(path)) return null;
  const loaded = require(path) as Partial<PrecompiledModule>;
  const validators = loaded.validators ?? {};
  const files = loaded.files ?? {};
  const provided = (type: string): boolean => {
    const property = Object.getOwnPropertyDescriptor(validators, type);
    return typeof property?.get === 'function' || typeof property?.value === 'function';
  };
  if (typeof loaded.schemaDigest !== 'string' || !MESSAGE_TYPES.every(provided)) {
    throw new Error(`${path} is not a precompiled protocol validator module: rebuild with npm run build`);
  }
  // A release missing a part fails here, at start, not at the first message of its type.
  const missing = MESSAGE_TYPES.filter((type) => typeof files[type] !== 'string' || !existsSync(join(dirname(path), files[type])));
  if (missing.length > 0) throw new Error(`${path}: the validators of ${missing.join(', ')} are missing beside it: rebuild with npm run build`);
  return { schemaDigest: loaded.schemaDigest, files, validators };
}

/**
 * Compiled validators for both directions. The methods are own properties (arrow functions),
 * so they may be passed around detached: `const { validateLockerMessage } = validator`.
 */
export class ProtocolValidator {
  /** Where the schemas were read from; null when only the precompiled module was found (a release ships no docs/). */
  readonly schemaDir: string | null;
  /** How the functions were made: the build's standalone code, or Ajv at start. */
  readonly source: 'precompiled' | 'compiled';
  readonly #locker: ValidatorTable;
  readonly #backOffice: ValidatorTable;

  constructor(options: ProtocolValidatorOptions = {}) {
    const precompiled = options.precompiled === false ? null : loadPrecompiled(options.precompiled ?? join(HERE, PRECOMPILED_FILE));
    this.schemaDir = options.schemaDir ?? findSchemaDir();
    let validators: Record<string, ValidateFunction>;
    if (this.schemaDir === null) {
      if (precompiled === null) throw new Error(`protocol schemas not found: looked for defs.json in ${schemaDirCandidates().join(' and ')}`);
      validators = precompiled.validators;
    } else {
      const texts = readSchemaTexts(this.schemaDir);
      const digest = schemaDigest(texts);
      if (precompiled !== null && precompiled.schemaDigest === digest) {
        validators = precompiled.validators;
      } else {
        validators = compiledOnce(digest, texts, this.schemaDir);
      }
    }
    this.source = validators === precompiled?.validators ? 'precompiled' : 'compiled';
    // Each function is looked up when a message of its type is checked: a precompiled one is
    // loaded then (loadPrecompiled), not here.
    const pick = (types: Record<string, string>): ValidatorTable => ({ types: Object.keys(types), get: (type) => (Object.hasOwn(types, type) ? validators[type] : undefined) });
    this.#locker = pick(LOCKER_TYPES);
    this.#backOffice = pick(BACK_OFFICE_TYPES);
  }

  /** A message a locker sent (hello, event, result, error): what a back office receives. */
  readonly validateLockerMessage = (value: unknown): ValidationResult<LockerMessage> =>
    check<LockerMessage>(value, this.#locker, 'a locker');

  /** A message a back office sent (welcome, ack, command, error): what a locker receives. */
  readonly validateBackOfficeMessage = (value: unknown): ValidationResult<BackOfficeMessage> =>
    check<BackOfficeMessage>(value, this.#backOffice, 'a back office');

  /** The same as the module's parseFrame. */
  readonly parseFrame = (data: string | Buffer, maxBytes: number = MAX_FRAME_BYTES): FrameResult => parseFrame(data, maxBytes);
}

/** Reads and compiles the schemas; throws if they are missing or do not compile. */
export function createValidator(options: ProtocolValidatorOptions = {}): ProtocolValidator {
  return new ProtocolValidator(options);
}

function fail(code: ValidationErrorCode, message: string): ValidationFailure {
  return { ok: false, code, message: message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message };
}

/** The message types one direction has, and each one's function. */
interface ValidatorTable {
  readonly types: readonly string[];
  get(type: string): ValidateFunction | undefined;
}

function check<T>(value: unknown, validators: ValidatorTable, sender: string): ValidationResult<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('MALFORMED', 'a message must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  if (!Object.hasOwn(record, 'v')) return fail('SCHEMA', 'v is required');
  const v = record['v'];
  if (v !== PROTOCOL_VERSION) {
    return typeof v === 'number'
      ? fail('UNSUPPORTED_VERSION', `v must be ${PROTOCOL_VERSION}: this peer speaks protocol version ${PROTOCOL_VERSION} only`)
      : fail('SCHEMA', `v must be the number ${PROTOCOL_VERSION}`);
  }
  if (!Object.hasOwn(record, 'type')) return fail('SCHEMA', 'type is required');
  const type = record['type'];
  if (typeof type !== 'string') return fail('SCHEMA', 'type must be string');
  const validate = validators.get(type);
  if (validate === undefined) {
    return fail('UNKNOWN_TYPE', `type is not one ${sender} sends in protocol version ${PROTOCOL_VERSION} (${validators.types.join(', ')})`);
  }
  if (validate(value)) return { ok: true, message: value as T };
  const error = validate.errors?.[0];
  return fail('SCHEMA', error === undefined ? 'message does not match its schema' : describe(error, value));
}

// --- error messages: field paths, never values --------------------------------------------

/** Property names are shown when they look like identifiers; anything else may be data. */
const SHOWABLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/;

function showKey(key: string): string {
  return SHOWABLE_KEY.test(key) ? key : '*';
}

/** A JSON pointer into `data` as "args.reservation.phones/0": keys joined by dots, indices by slashes. */
function fieldPath(pointer: string, data: unknown): string {
  if (pointer === '') return '';
  let path = '';
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path += `/${segment}`;
      node = node[Number(segment)];
    } else {
      path += path === '' ? showKey(segment) : `.${showKey(segment)}`;
      node = typeof node === 'object' && node !== null && Object.hasOwn(node, segment) ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}

function child(path: string, key: unknown): string {
  const name = typeof key === 'string' ? showKey(key) : '*';
  return path === '' ? name : `${path}.${name}`;
}

function listValues(values: unknown): string {
  return Array.isArray(values) ? values.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(', ') : '';
}

function describe(error: ErrorObject, data: unknown): string {
  const path = fieldPath(error.instancePath, data);
  const subject = path === '' ? 'message' : path;
  const params = error.params as Record<string, unknown>;
  if (error.propertyName !== undefined) return `${subject}: a property name ${error.message ?? 'is not valid'}`;
  switch (error.keyword) {
    case 'required':
      return `${child(path, params['missingProperty'])} is required`;
    case 'additionalProperties':
      return `${child(path, params['additionalProperty'])} is not allowed`;
    case 'false schema':
      return `${subject} is not allowed here`;
    case 'enum':
      return `${subject} must be one of: ${listValues(params['allowedValues'])}`;
    case 'const':
      return `${subject} must be ${JSON.stringify(params['allowedValue'])}`;
    case 'discriminator':
      return params['error'] === 'tag'
        ? `${child(path, params['tag'])} must be a string`
        : `${child(path, params['tag'])} is not one this version knows`;
    default:
      return `${subject} ${error.message ?? 'is not valid'}`;
  }
}
