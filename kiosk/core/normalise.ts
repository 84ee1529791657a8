import type { Country } from '../config/schema.js';

/**
 * Normalisation of what customers type, so that it matches what the back office stored
 * (normalised the same way). Pure; never throws; results never echo the input in an error.
 */

/** Long inputs are refused before any work is done on them. */
const MAX_INPUT_LENGTH = 64;

// Whitespace, hyphens and dashes of every kind, dots and middle dots.
const SEPARATORS = /[\s\-\u2010-\u2015\u2212.\u00B7\u2022\u2219\u22C5\u30FB]/gu;

// ---------------------------------------------------------------------------------------------
// Licence plates

export type PlateError = 'empty' | 'too_short' | 'too_long' | 'invalid_characters';
export type PlateResult =
  | { ok: true; plate: string; country: Country | null }
  | { ok: false; error: PlateError };

const PLATE_MIN = 2;
const PLATE_MAX = 10;
// Checked before upper-casing: 'ß'.toUpperCase() is 'SS', which must not sneak in.
const PLATE_CHARACTERS = /^[0-9A-Za-zÆØÅÄÖÜæøåäöü]+$/u;

/** Known shapes after separators are removed; a plate may match several countries. */
const PLATE_SHAPES: readonly { country: Country; shape: RegExp }[] = [
  { country: 'NO', shape: /^[A-Z]{2}\d{4,5}$/ }, // AB 12345, EL 12345, AB 1234
  { country: 'SE', shape: /^[A-Z]{3}\d{2}[A-Z0-9]$/ }, // ABC 123, ABC 12A
  { country: 'DK', shape: /^[A-Z]{2}\d{5}$/ }, // AB 12 345
  { country: 'FR', shape: /^[A-Z]{2}\d{3}[A-Z]{2}$/ }, // SIV AB-123-CD
  { country: 'FR', shape: /^\d{1,4}[A-Z]{1,3}(?:\d{2}|2[AB]|97[1-6])$/ }, // FNI 1234 AB 75
  { country: 'DE', shape: /^[A-ZÄÖÜ]{1,3}[A-Z]{1,2}[1-9]\d{0,3}[EH]?$/ }, // B-MW 1234, M-AB 123E
  { country: 'GB', shape: /^[A-Z]{2}\d{2}[A-Z]{3}$/ }, // AB12 CDE (2001-)
  { country: 'GB', shape: /^[A-Z]\d{1,3}[A-Z]{3}$/ }, // A123 BCD (1983-2001)
  { country: 'GB', shape: /^[A-Z]{3}\d{1,3}[A-Z]$/ }, // ABC 123D (1963-1983)
];

/**
 * `"b-mw 1234"` -> `{ plate: 'BMW1234', country: 'DE' }`. The country is a hint for display and
 * statistics only: shapes overlap (AB12345 is Norwegian or Danish), so `preferred` (the
 * locker's own country) wins when it fits. A plate of no known shape is still accepted
 * (country null) if it is 2-10 letters and digits: the back office is the authority.
 */
export function normalisePlate(input: string, preferred?: Country): PlateResult {
  const text = plateText(input);
  if (!text.ok) return text;
  const { plate } = text;
  const countries = PLATE_SHAPES.filter(({ shape }) => shape.test(plate)).map(({ country }) => country);
  const country = preferred !== undefined && countries.includes(preferred) ? preferred : (countries[0] ?? null);
  return { ok: true, plate, country };
}

/**
 * The normalised plate alone (what is stored and matched), without the country hint: a
 * snapshot normalises thousands of plates and stores no country.
 */
export function plateText(input: string): { ok: true; plate: string } | { ok: false; error: PlateError } {
  if (input.length > MAX_INPUT_LENGTH) return { ok: false, error: 'too_long' };
  const compact = input.normalize('NFKC').replace(SEPARATORS, '');
  if (compact.length === 0) return { ok: false, error: 'empty' };
  if (!PLATE_CHARACTERS.test(compact)) return { ok: false, error: 'invalid_characters' };
  if (compact.length < PLATE_MIN) return { ok: false, error: 'too_short' };
  if (compact.length > PLATE_MAX) return { ok: false, error: 'too_long' };
  return { ok: true, plate: compact.toUpperCase() };
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

export type PhoneError = 'empty' | 'invalid_characters' | 'too_short' | 'too_long' | 'invalid_number';
export type PhoneResult = { ok: true; e164: string; country: Country | null } | { ok: false; error: PhoneError };

interface NumberingPlan {
  callingCode: string;
  /** Whether national numbers are dialled with a leading 0 that is not part of the number. */
  trunkZero: boolean;
  /** Length of the national significant number (without trunk 0 or country code). */
  minDigits: number;
  maxDigits: number;
}

export const NUMBERING_PLANS: Readonly<Record<Country, NumberingPlan>> = {
  NO: { callingCode: '47', trunkZero: false, minDigits: 8, maxDigits: 8 },
  SE: { callingCode: '46', trunkZero: true, minDigits: 7, maxDigits: 9 },
  DK: { callingCode: '45', trunkZero: false, minDigits: 8, maxDigits: 8 },
  FR: { callingCode: '33', trunkZero: true, minDigits: 9, maxDigits: 9 },
  DE: { callingCode: '49', trunkZero: true, minDigits: 6, maxDigits: 11 },
  GB: { callingCode: '44', trunkZero: true, minDigits: 10, maxDigits: 10 },
};

const E164_MAX_DIGITS = 15;
/** For countries without a plan here: the shortest numbers in use worldwide have 7 digits in all. */
const E164_MIN_DIGITS = 7;
const PHONE_CHARACTERS = /^\+?[0-9\s\-\u2010-\u2015\u2212.()/]+$/u;

/** The country whose calling code starts these international digits, if it is one we know. */
export function countryOfInternational(digits: string): Country | null {
  for (const [country, plan] of Object.entries(NUMBERING_PLANS) as [Country, NumberingPlan][]) {
    if (digits.startsWith(plan.callingCode)) return country;
  }
  return null;
}

/**
 * `"912 34 567"` (NO) -> `+4791234567`; `"070-123 45 67"` (SE) -> `+46701234567`;
 * `"+44 (0)20 7946 0958"` -> `+442079460958`. Accepts spaces, dashes, dots, slashes,
 * parentheses, a leading + or 00, and the national trunk 0 where the country uses one.
 */
export function normalisePhone(input: string, defaultCountry: Country): PhoneResult {
  if (input.length > MAX_INPUT_LENGTH) return { ok: false, error: 'too_long' };
  const text = input.normalize('NFKC').trim();
  if (text.length === 0) return { ok: false, error: 'empty' };
  if (!PHONE_CHARACTERS.test(text)) return { ok: false, error: 'invalid_characters' };
  const digits = text.replace(/\D/g, '');
  if (digits.length === 0) return { ok: false, error: 'empty' };

  if (text.startsWith('+')) return international(digits);
  if (digits.startsWith('00')) return international(digits.slice(2));
  return national(digits, defaultCountry);
}

function international(digits: string): PhoneResult {
  const country = countryOfInternational(digits);
  // After the calling code a trunk 0 may still be written, as in "+44 (0)20 ...": national() drops it.
  if (country !== null) return national(digits.slice(NUMBERING_PLANS[country].callingCode.length), country);
  if (digits.startsWith('0')) return { ok: false, error: 'invalid_number' }; // no calling code starts with 0
  if (digits.length < E164_MIN_DIGITS) return { ok: false, error: 'too_short' };
  if (digits.length > E164_MAX_DIGITS) return { ok: false, error: 'too_long' };
  return { ok: true, e164: `+${digits}`, country: null };
}

function national(digits: string, country: Country): PhoneResult {
  const plan = NUMBERING_PLANS[country];
  const significant = plan.trunkZero && digits.startsWith('0') ? digits.slice(1) : digits;
  if (significant.startsWith('0')) return { ok: false, error: 'invalid_number' };
  if (significant.length < plan.minDigits) return { ok: false, error: 'too_short' };
  if (significant.length > plan.maxDigits) return { ok: false, error: 'too_long' };
  // Every plan above stays within E.164's 15 digits, so no further length check is needed.
  return { ok: true, e164: `+${plan.callingCode}${significant}`, country };
}
