/**
 * UTC offsets from the system's compiled tz database (/usr/share/zoneinfo, TZif files,
 * RFC 8536), so the locker can find the workshop's local date without Intl: the first
 * Intl.DateTimeFormat with a timeZone maps ~6 MiB of ICU data and costs ~30 ms of CPU.
 *
 * Deliberately small: it answers "what is the UTC offset at this instant", nothing else
 * (no abbreviations, no local-to-UTC conversion, no leap seconds).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface Zone {
  readonly name: string;
  /** Seconds east of UTC in effect at `epochMs` (Oslo in July: 7200). NaN for a non-finite input. */
  offsetSecondsAt(epochMs: number): number;
}

/** Segments of [A-Za-z0-9_+-] joined by single slashes: no '.', '..', leading '/' or '//'. */
const ZONE_NAME = /^[A-Za-z0-9_+-]+(?:\/[A-Za-z0-9_+-]+)*$/;
const MAX_NAME_LENGTH = 64;
/** Real TZif files are a few KiB; anything far bigger is not one and is not worth reading. */
const MAX_FILE_BYTES = 1 << 20;

/**
 * The zone `name` read from `root`, or null when the name is unsafe, the file is missing,
 * or it is not a valid TZif file we can evaluate. Never throws.
 *
 * Files with leap-second records (the 'right/' variants) are refused: their transition
 * times count leap seconds, while JavaScript time (like POSIX time) does not.
 */
export function readZone(name: string, root = '/usr/share/zoneinfo'): Zone | null {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !ZONE_NAME.test(name)) return null;
  try {
    const path = join(root, name);
    const stat = statSync(path); // follows symlinks, as the tz database uses them for links
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) return null;
    const data = parseTzif(readFileSync(path));
    return data === null ? null : makeZone(name, data);
  } catch {
    return null;
  }
}

/** 'YYYY-MM-DD' of `at` in `zone`. Throws RangeError for an invalid Date, like Intl does. */
export function localDateIn(zone: Zone, at: Date): string {
  const ms = at.getTime();
  return new Date(ms + zone.offsetSecondsAt(ms) * 1000).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------
// TZif (RFC 8536 §3)

interface TzifData {
  /** Transition instants, seconds since the epoch, strictly ascending. */
  readonly times: readonly number[];
  /** UTC offset (seconds east) in effect from times[i] until times[i + 1]. */
  readonly offsets: readonly number[];
  /** Offset of time type 0: local time before the first transition (§3.2). */
  readonly initialOffset: number;
  /** The footer's rule for instants after the last transition, or null if none (§3.3). */
  readonly footer: PosixTz | null;
}

const HEADER_BYTES = 44;

interface Header {
  readonly version: number;
  readonly isutcnt: number;
  readonly isstdcnt: number;
  readonly leapcnt: number;
  readonly timecnt: number;
  readonly typecnt: number;
  readonly charcnt: number;
}

/** §3.1: magic "TZif", a version byte, 15 unused bytes, then six big-endian uint32 counts. */
function readHeader(buf: Buffer, at: number): Header | null {
  if (buf.length < at + HEADER_BYTES || buf.toString('latin1', at, at + 4) !== 'TZif') return null;
  const count = (i: number): number => buf.readUInt32BE(at + 20 + 4 * i);
  return {
    version: buf[at + 4] ?? 0,
    isutcnt: count(0),
    isstdcnt: count(1),
    leapcnt: count(2),
    timecnt: count(3),
    typecnt: count(4),
    charcnt: count(5),
  };
}

/** §3.2: bytes of the data block after a header; transition and leap times are 4 or 8 bytes. */
function blockBytes(h: Header, timeSize: number): number {
  return h.timecnt * (timeSize + 1) + h.typecnt * 6 + h.charcnt + h.leapcnt * (timeSize + 4) + h.isstdcnt + h.isutcnt;
}

function parseTzif(buf: Buffer): TzifData | null {
  const first = readHeader(buf, 0);
  if (first === null) return null;
  // Version byte: NUL for version 1, else an ASCII digit. Later versions only add features
  // compatible with the version 2 layout (tzfile(5), "Interoperability considerations").
  const v2plus = first.version >= 0x32 && first.version <= 0x39;
  if (!v2plus && first.version !== 0) return null;
  let header = first;
  let offset = HEADER_BYTES;
  let timeSize = 4;
  if (v2plus) {
    // RFC 8536 §4: readers of v2+ files skip the 32-bit block and use the 64-bit one.
    offset += blockBytes(first, 4);
    const second = readHeader(buf, offset);
    if (second === null) return null;
    header = second;
    offset += HEADER_BYTES;
    timeSize = 8;
  }
  const h = header;
  if (h.leapcnt > 0) return null; // see readZone
  // §3.1 constraints: at least one type and one designation byte; indicator counts 0 or typecnt.
  if (h.typecnt === 0 || h.charcnt === 0) return null;
  if ((h.isutcnt !== 0 && h.isutcnt !== h.typecnt) || (h.isstdcnt !== 0 && h.isstdcnt !== h.typecnt)) return null;
  const end = offset + blockBytes(h, timeSize);
  if (end > buf.length) return null; // truncated

  const typesAt = offset + h.timecnt * timeSize;
  const ttinfoAt = typesAt + h.timecnt;
  const typeOffsets: number[] = [];
  for (let i = 0; i < h.typecnt; i++) {
    const utoff = buf.readInt32BE(ttinfoAt + 6 * i);
    const isdst = buf[ttinfoAt + 6 * i + 4];
    const desigidx = buf[ttinfoAt + 6 * i + 5] ?? 0;
    // §3.2: utoff is in [-89999, 93599] in practice and never -2^31; isdst is a boolean.
    if (utoff < -89999 || utoff > 93599 || (isdst !== 0 && isdst !== 1) || desigidx >= h.charcnt) return null;
    typeOffsets.push(utoff);
  }
  const times: number[] = [];
  const offsets: number[] = [];
  for (let i = 0; i < h.timecnt; i++) {
    // 64-bit values beyond 2^53 lose precision as numbers, but keep their order.
    const time = timeSize === 8 ? Number(buf.readBigInt64BE(offset + 8 * i)) : buf.readInt32BE(offset + 4 * i);
    const type = buf[typesAt + i] ?? 0;
    if (type >= h.typecnt) return null;
    const previous = times[times.length - 1];
    if (previous !== undefined && time <= previous) return null; // §3.2: strictly ascending
    times.push(time);
    offsets.push(typeOffsets[type] ?? 0);
  }

  let footer: PosixTz | null = null;
  if (v2plus) {
    // §3.3: the footer is "\n" + TZ string + "\n"; an empty string means "no rule".
    if (buf[end] !== 0x0a) return null;
    const close = buf.indexOf(0x0a, end + 1);
    if (close < 0) return null;
    const text = buf.toString('latin1', end + 1, close);
    if (text !== '') {
      footer = parsePosixTz(text);
      if (footer === null) return null;
    }
  }
  return { times, offsets, initialOffset: typeOffsets[0] ?? 0, footer };
}

function makeZone(name: string, data: TzifData): Zone {
  const { times, offsets, initialOffset, footer } = data;
  const last = times.length - 1;
  return {
    name,
    offsetSecondsAt(epochMs: number): number {
      if (!Number.isFinite(epochMs)) return Number.NaN;
      const t = Math.floor(epochMs / 1000);
      // §3.3: the footer covers instants after the last transition, or all of them when
      // there are no transitions.
      if (footer !== null && (last < 0 || t > (times[last] ?? 0))) return posixOffsetAt(footer, t);
      if (last < 0 || t < (times[0] ?? 0)) return initialOffset; // §3.2: time type 0
      // Binary search for the last transition at or before t.
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((times[mid] ?? 0) <= t) lo = mid;
        else hi = mid - 1;
      }
      return offsets[lo] ?? initialOffset;
    },
  };
}

// ---------------------------------------------------------------------------------------
// POSIX TZ strings (RFC 8536 §3.3, POSIX.1 "TZ", with the §3.3.1 extensions)

type RuleDate =
  | { readonly kind: 'julian'; readonly day: number } // Jn: 1..365, Feb 29 never counted
  | { readonly kind: 'zero'; readonly day: number } //   n: 0..365, Feb 29 counted
  | { readonly kind: 'month'; readonly month: number; readonly week: number; readonly weekday: number }; // Mm.w.d

interface Rule {
  readonly date: RuleDate;
  /** Local seconds after midnight; §3.3.1 allows -167h..167h. */
  readonly time: number;
}

interface PosixTz {
  /** Offsets in seconds east of UTC (the string itself counts west as positive). */
  readonly std: number;
  readonly dst: number;
  /** Null: standard time all year. */
  readonly rules: { readonly start: Rule; readonly end: Rule } | null;
}

/** Parses a TZ string, or returns null if it is not one we can evaluate exactly. */
function parsePosixTz(text: string): PosixTz | null {
  let pos = 0;
  const peek = (): string => text[pos] ?? '';

  // std and dst designations: 3+ letters, or <...> of 3+ alphanumerics, '+' and '-'.
  const name = (): boolean => {
    const m = /^(?:[A-Za-z]{3,}|<[A-Za-z0-9+-]{3,}>)/.exec(text.slice(pos));
    if (m === null) return false;
    pos += m[0].length;
    return true;
  };
  // [+-]hh[:mm[:ss]] in seconds; null if malformed or hh > maxHours.
  const hms = (maxHours: number): number | null => {
    const m = /^([+-]?)(\d{1,3})(?::(\d{2})(?::(\d{2}))?)?/.exec(text.slice(pos));
    if (m === null) return null;
    const [hh, mm, ss] = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    if (hh > maxHours || mm > 59 || ss > 59) return null;
    pos += m[0].length;
    const seconds = hh * 3600 + mm * 60 + ss;
    return m[1] === '-' ? -seconds : seconds;
  };
  const rule = (): Rule | null => {
    let date: RuleDate;
    let m: RegExpExecArray | null;
    const rest = text.slice(pos);
    if ((m = /^J(\d{1,3})/.exec(rest)) !== null) {
      const day = Number(m[1]);
      if (day < 1 || day > 365) return null;
      date = { kind: 'julian', day };
    } else if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(rest)) !== null) {
      const [month, week, weekday] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (month < 1 || month > 12 || week < 1 || week > 5 || weekday > 6) return null;
      date = { kind: 'month', month, week, weekday };
    } else if ((m = /^(\d{1,3})/.exec(rest)) !== null) {
      const day = Number(m[1]);
      if (day > 365) return null;
      date = { kind: 'zero', day };
    } else {
      return null;
    }
    pos += m[0].length;
    let time = 7200; // POSIX default: 02:00:00
    if (peek() === '/') {
      pos++;
      const parsed = hms(167);
      if (parsed === null) return null;
      time = parsed;
    }
    return { date, time };
  };

  if (!name()) return null;
  const stdWest = hms(24);
  if (stdWest === null) return null;
  const std = -stdWest;
  if (pos === text.length) return { std, dst: std, rules: null };

  if (!name()) return null;
  let dst = std + 3600; // POSIX: dst offset defaults to one hour ahead of std
  if (peek() !== ',' && pos < text.length) {
    const dstWest = hms(24);
    if (dstWest === null) return null;
    dst = -dstWest;
  }
  // A dst name without rules means "implementation-defined rules" in POSIX; zic never
  // writes that in a footer, and guessing would give wrong answers, so refuse it.
  if (peek() !== ',') return null;
  pos++;
  const start = rule();
  if (start === null || peek() !== ',') return null;
  pos++;
  const end = rule();
  if (end === null || pos !== text.length) return null;
  return { std, dst, rules: { start, end } };
}

const DAY = 86400;

/** Days from 1970-01-01 to the proleptic Gregorian y-m-d (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Days since the epoch of the day `date` names in `year`. */
function ruleDay(date: RuleDate, year: number): number {
  const jan1 = daysFromCivil(year, 1, 1);
  switch (date.kind) {
    case 'zero':
      return jan1 + date.day;
    case 'julian': // day 60 is Mar 1 even in leap years: Feb 29 is skipped
      return jan1 + date.day - 1 + (isLeap(year) && date.day >= 60 ? 1 : 0);
    case 'month': {
      const first = daysFromCivil(year, date.month, 1);
      const firstWeekday = (((first + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday (4)
      let day = first + ((date.weekday - firstWeekday + 7) % 7) + 7 * (date.week - 1);
      // Week 5 means "the last such weekday": step back while we've left the month.
      const nextMonth = date.month === 12 ? daysFromCivil(year + 1, 1, 1) : daysFromCivil(year, date.month + 1, 1);
      while (day >= nextMonth) day -= 7;
      return day;
    }
  }
}

/** The UTC instant (epoch seconds) at which `rule` fires in `year`, reading its time at `offset`. */
function ruleInstant(rule: Rule, year: number, offset: number): number {
  return ruleDay(rule.date, year) * DAY + rule.time - offset;
}

function posixOffsetAt(tz: PosixTz, t: number): number {
  if (tz.rules === null) return tz.std;
  const { start, end } = tz.rules;
  // The year of t in standard local time; the rules of the neighbouring years matter too,
  // since a /time of up to ±167 h can push a change across New Year.
  const year = new Date((t + tz.std) * 1000).getUTCFullYear();

  // "All year DST" (§3.3.1, e.g. "EST5EDT,0/0,J365/25"): DST starts Jan 1 00:00 and ends
  // at (or after) the next Jan 1 00:00 in DST time, so each end meets or overlaps the next
  // start. Like tzcode, recognise it by an end a whole year or more after the start.
  const s = ruleInstant(start, year, tz.std);
  const e = ruleInstant(end, year, tz.dst);
  if (s < e && e - s >= (isLeap(year) ? 366 : 365) * DAY) return tz.dst;

  // Otherwise list the transitions of three years and take the latest at or before t.
  // Start times are read in standard time, end times in DST (POSIX). This handles DST
  // spanning New Year (southern hemisphere: end < start within a year) with no special case.
  // Ties (only in degenerate rules whose changes coincide) go to the one listed later.
  let latest = -Infinity;
  let inDst = false;
  for (let y = year - 1; y <= year + 1; y++) {
    for (const [at, dst] of [[ruleInstant(start, y, tz.std), true], [ruleInstant(end, y, tz.dst), false]] as const) {
      if (at <= t && at >= latest) {
        latest = at;
        inDst = dst;
      }
    }
  }
  return inDst ? tz.dst : tz.std;
}
