/** Formatting for the screens, in the customer's language (Intl; no data of our own). */

/**
 * An amount in minor units (øre, öre, cents: as the store keeps it) as money, e.g. 1249.50 kr.
 * Without a currency, a plain number with two decimals.
 */
export function formatMoney(minorUnits, currency, locale) {
  if (typeof minorUnits !== 'number' || !Number.isFinite(minorUnits)) return '';
  if (!currency) return new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(minorUnits / 100);
  let format;
  try {
    format = new Intl.NumberFormat(locale, { style: 'currency', currency });
  } catch {
    return `${(minorUnits / 100).toFixed(2)} ${currency}`;
  }
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minorUnits / 10 ** digits);
}

/** "2025-05-14" as "onsdag 14. mai" (a local calendar date: no time zone shift). */
export function formatDate(isoDate, locale) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(isoDate ?? ''));
  if (!match) return String(isoDate ?? '');
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long' }).format(date);
}

/** Seconds as m:ss (e.g. 4:05), for countdowns. */
export function formatCountdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
