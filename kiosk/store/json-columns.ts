import { StoreError } from './errors.js';

/** Decoding of JSON text columns. A value that does not decode is a corrupt row, not a bug in the caller. */

export function parseJsonObject(text: string, where: string): Record<string, unknown> {
  const value = parseJson(text, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreError('ROW_INVALID', `${where}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function parseJsonStringArray(text: string, where: string): string[] {
  const value = parseJson(text, where);
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new StoreError('ROW_INVALID', `${where}: expected a JSON array of strings`);
  }
  return value;
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // No cause: V8's message quotes the text, which may hold personal data.
    throw new StoreError('ROW_INVALID', `${where}: not valid JSON`);
  }
}
