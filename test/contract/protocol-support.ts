/**
 * What the contract tests share: the schema files, a strict Ajv, the validators (detached on
 * purpose: they must work as plain functions), JSON paths and mutations, and the examples of
 * both directions. Not a test file itself.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createValidator } from '../../kiosk/sync/validate.js';
import type { ValidationResult } from '../../kiosk/sync/validate.js';
import { PERSONAL_DATA, backOfficeExamples, eventExamples, lockerExamples, type Example } from './examples.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_DIR = join(ROOT, 'docs', 'schemas');
export const ASYNCAPI = join(ROOT, 'docs', 'asyncapi.yaml');
export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
export const SCHEMA_FORMAT = 'application/schema+json;version=draft-2020-12';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Path = readonly (string | number)[];

export const validator = createValidator();
export const { validateLockerMessage, validateBackOfficeMessage } = validator; // detached on purpose

export function schemaFile(file: string): JsonObject {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as JsonObject;
}

export function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, discriminator: true });
  addFormats.default(ajv, ['date', 'date-time', 'email']);
  return ajv;
}

export function clone<T>(value: T): T {
  return structuredClone(value) as T;
}

/** As the validator writes paths: keys joined by dots, array indices by slashes. */
export function render(path: Path): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `/${segment}` : out === '' ? segment : `.${segment}`;
  return out;
}

export function at(root: Json, path: Path): Json | undefined {
  let node: Json | undefined = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[segment as number] : node[segment as string];
  }
  return node;
}

export function setAt(root: Json, path: Path, value: Json | undefined): void {
  const parent = at(root, path.slice(0, -1));
  const last = path[path.length - 1];
  if (parent === null || typeof parent !== 'object' || last === undefined) throw new Error(`no parent at ${render(path)}`);
  if (Array.isArray(parent)) parent[last as number] = value as Json;
  else if (value === undefined) delete parent[last as string];
  else parent[last as string] = value;
}

/** Every path in a JSON value (not the root), parents before children. */
export function* paths(value: Json, prefix: Path = []): Generator<Path> {
  if (value === null || typeof value !== 'object') return;
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    yield path;
    yield* paths(child, path);
  }
}

export const startsWith = (path: Path, prefix: Path): boolean => prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);

export const KNOWN_EVENTS = new Set<string>(Object.keys(eventExamples));

/**
 * Where an example's content is free (no mutation can fail: an unknown event's payload, a
 * result's result) and which exact fields are optional (absent is as valid as present).
 */
export function shapeOf(message: Json): { free: Path[]; optional: Path[] } {
  const m = message as JsonObject;
  if (m['type'] === 'event') {
    const known = typeof m['event'] === 'string' && KNOWN_EVENTS.has(m['event']);
    // confirmed is absent from lockers before issue 7 (read as true).
    const finishing = m['event'] === 'key.deposited' || m['event'] === 'key.collected';
    return { free: known ? [] : [['payload']], optional: finishing ? [['urgent'], ['payload', 'confirmed']] : [['urgent']] };
  }
  if (m['type'] === 'result') return { free: [['result']], optional: [] };
  // pinHashing is absent from a locker that publishes no unit salt (legacy hashes).
  if (m['type'] === 'hello') return { free: [], optional: [['pinHashing']] };
  if (m['type'] === 'command' && m['name'] === 'reservation.upsert') return { free: [], optional: [['args', 'reservation', 'amountDue']] };
  // link and method are absent from back offices before issue 12 (no payment page, no method name).
  if (m['type'] === 'command' && m['name'] === 'payment.status') return { free: [], optional: [['args', 'link'], ['args', 'method'], ['args', 'receiptChannel']] };
  return { free: [], optional: [] };
}

export function wrongType(value: Json): Json {
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

export interface Failure {
  code: string;
  message: string;
}

export function failed(result: ValidationResult<unknown>): Failure | null {
  return result.ok ? null : { code: result.code, message: result.message };
}

export const directions = [
  { label: 'locker', examples: lockerExamples as readonly Example<unknown>[], validate: validateLockerMessage, other: validateBackOfficeMessage },
  { label: 'back office', examples: backOfficeExamples as readonly Example<unknown>[], validate: validateBackOfficeMessage, other: validateLockerMessage },
] as const;

export const allExamples = directions.flatMap((d) => d.examples.map((example) => ({ ...example, validate: d.validate })));

export function leaksPersonalData(message: string): string | undefined {
  return PERSONAL_DATA.find((value) => message.includes(value));
}

