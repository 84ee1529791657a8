/**
 * Calendar dates in the locker's time zone (the Pi's own zone may be UTC).
 *
 * The zone is read from the system's tz database (/usr/share/zoneinfo, kiosk/lib/zoneinfo.ts).
 * Intl is the fallback for a name that database lacks: the first Intl.DateTimeFormat with a
 * time zone makes about 6 MiB of ICU's data resident for the life of the process
 * (docs/performance.md), a tenth of the locker's memory budget, for one date a lookup.
 */
import { localDateIn, readZone, type Zone } from '../lib/zoneinfo.js';

/** Zones read so far, by name; null: not in the tz database (Intl is asked instead). */
const zones = new Map<string, Zone | null>();

function zoneNamed(timeZone: string): Zone | null {
  let zone = zones.get(timeZone);
  if (zone === undefined) {
    zone = readZone(timeZone);
    zones.set(timeZone, zone);
  }
  return zone;
}

/** An IANA time zone name this machine can turn into local dates. */
export function isTimeZone(timeZone: string): boolean {
  if (zoneNamed(timeZone)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** YYYY-MM-DD of `at` in `timeZone`. */
export function localDate(at: Date, timeZone: string): string {
  const zone = zoneNamed(timeZone);
  if (zone) return localDateIn(zone, at);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (type: string): string => parts.find((part) => part.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The date `days` after the YYYY-MM-DD `date` (calendar arithmetic, no time zone). */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  const utc = new Date(Date.UTC(year ?? 1970, (month ?? 1) - 1, (day ?? 1) + days));
  return utc.toISOString().slice(0, 10);
}
