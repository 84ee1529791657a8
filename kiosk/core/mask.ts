import { countryOfInternational, NUMBERING_PLANS } from './normalise.js';

/**
 * Masking for screens, where a stranger may be looking: enough for the right person to
 * recognise their own address or number, too little to learn someone else's. Logs never
 * carry these values at all, masked or not.
 */

const HIDDEN = '***';

/** `jane.doe@example.com` -> `j***@example.com`; anything odd -> `***`. */
export function maskEmail(email: string): string {
  const text = email.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0) return HIDDEN;
  const domain = text.slice(at + 1);
  if (!/^[^\s@]+\.[^\s@.]+$/u.test(domain)) return HIDDEN;
  // By code point, so an emoji or accented first letter is not cut in half.
  const first = Array.from(text.slice(0, at))[0] ?? '';
  return `${first}${HIDDEN}@${domain}`;
}

/** Fewer digits than this and even the last three would give away too much of the number. */
const MIN_DIGITS_TO_SHOW_TAIL = 7;

/**
 * `+4791234123` -> `+47 *** ** 123`: the calling code (when known), a fixed run of stars that
 * does not give away the length, and the last three digits.
 */
export function maskPhone(phone: string): string {
  const text = phone.trim();
  const digits = text.replace(/\D/g, '');
  if (digits.length < MIN_DIGITS_TO_SHOW_TAIL) return HIDDEN;
  const country = text.startsWith('+') ? countryOfInternational(digits) : null;
  const prefix = country === null ? '' : `+${NUMBERING_PLANS[country].callingCode} `;
  return `${prefix}${HIDDEN} ** ${digits.slice(-3)}`;
}
