/**
 * Decoding of what the bottom screen sends. Anything that is not exactly a SessionAction is
 * refused with BAD_ACTION before it reaches the journey: the touch screen is input like any
 * other, and a page from an old build or a curious visitor must not crash or confuse it.
 */
import { LANGUAGES, type Language } from '../config/schema.js';
import { DomainError } from '../errors.js';
import type { IdentifyMode, JourneyKind, SessionAction } from './session-view.js';

export const MAX_REMARK_LENGTH = 500;
const MAX_FIELD = 64;

function bad(message: string): DomainError {
  return new DomainError('BAD_ACTION', message);
}

function field(body: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(body, key) ? body[key] : undefined;
}

function shortString(body: Record<string, unknown>, key: string, max = MAX_FIELD): string {
  const value = field(body, key);
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw bad(`"${key}" must be a string of 1-${max} characters`);
  return value;
}

function optionalText(body: Record<string, unknown>, key: string, max: number): string | null {
  const value = field(body, key);
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw bad(`"${key}" must be a string or null`);
  if (value.length > max) throw new DomainError(key === 'remark' ? 'REMARK_TOO_LONG' : 'BAD_ACTION', `"${key}" is longer than ${max} characters`);
  return value;
}

function oneOf<T extends string>(body: Record<string, unknown>, key: string, allowed: readonly T[]): T {
  const value = field(body, key);
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw bad(`"${key}" must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

const JOURNEYS: readonly JourneyKind[] = ['dropoff', 'pickup'];
const MODES: readonly IdentifyMode[] = ['pin', 'plate', 'phone'];

export function parseAction(body: unknown): SessionAction {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('an action must be a JSON object');
  const record = body as Record<string, unknown>;
  const type = field(record, 'type');
  switch (type) {
    case 'start': {
      // No journey ("I have a PIN"): the PIN decides.
      const journey = field(record, 'journey');
      return { type, journey: journey === undefined || journey === null ? null : oneOf(record, 'journey', JOURNEYS) };
    }
    case 'language':
      return { type, lang: oneOf<Language>(record, 'lang', LANGUAGES) };
    case 'identifyMode':
      return { type, mode: oneOf(record, 'mode', MODES) };
    case 'pin':
      return { type, pin: shortString(record, 'pin', 16) };
    case 'lookup':
      return { type, by: oneOf(record, 'by', ['plate', 'phone'] as const), value: shortString(record, 'value', 32) };
    case 'details':
      return { type, phone: optionalText(record, 'phone', 32), remark: optionalText(record, 'remark', MAX_REMARK_LENGTH) };
    case 'payVipps':
      return { type, phone: optionalText(record, 'phone', 32) };
    case 'checkPayment':
      return { type };
    case 'clubConsent': {
      const consent = field(record, 'consent');
      if (typeof consent !== 'boolean') throw bad('"consent" must be true or false');
      return { type, consent };
    }
    case 'receipt': {
      const to = optionalText(record, 'to', 254);
      return { type, channel: oneOf(record, 'channel', ['sms', 'email', 'qr', 'none'] as const), ...(to === null ? {} : { to }) };
    }
    case 'help': {
      const open = field(record, 'open');
      if (typeof open !== 'boolean') throw bad('"open" must be true or false');
      return { type, open };
    }
    case 'sendPin':
    case 'switchJourney':
    case 'confirm':
    case 'back':
    case 'abandon':
    case 'abandonConfirm':
    case 'abandonCancel':
    case 'callHelp':
    case 'activity':
      return { type };
    default:
      throw bad('unknown action type');
  }
}

/** Strip control characters and surrounding space from free text typed by a customer. */
export function cleanText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim();
}
