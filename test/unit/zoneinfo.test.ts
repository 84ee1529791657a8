import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localDateIn, readZone, type Zone } from '../../kiosk/lib/zoneinfo.js';

// Intl is the oracle here; the module under test never touches it.

const ROOT = '/usr/share/zoneinfo';
const HAVE_TZDATA = existsSync(join(ROOT, 'Europe/Oslo'));
const MISSING = `${ROOT} is missing or incomplete: install the system tz database (apt-get install -y tzdata)`;
const HOUR = 3_600_000;

/**
 * Intl and the system each carry their own copy of the tz database, of different releases
 * (Node 20: ICU's 2025c; Node 24: 2026e; Debian 12's tzdata: 2025b). A newer release may
 * change a zone's rules from the year it is published (British Columbia's permanent daylight
 * time and Morocco's forecasts, both in 2026), so the two copies are only compared before
 * 1 January of the older release's year: what both knew. Version strings: `# version 2025b`
 * on tzdata.zi's first line, `process.versions.tz`.
 */
function releaseYear(version: string | undefined): number | null {
  const year = /^(\d{4})[a-z]$/.exec(version ?? '')?.[1];
  return year === undefined ? null : Number(year);
}
const SYSTEM_TZ = existsSync(join(ROOT, 'tzdata.zi')) ? /^# version (\S+)/.exec(readFileSync(join(ROOT, 'tzdata.zi'), 'latin1'))?.[1] : undefined;
const AGREED_BEFORE_YEAR = Math.min(releaseYear(SYSTEM_TZ) ?? 2025, releaseYear(process.versions.tz) ?? 2025);

/** Fails (never skips) when the system tz database is absent. */
function needTzdata(t: Test): boolean {
  if (!HAVE_TZDATA) t.fail(MISSING);
  return HAVE_TZDATA;
}

function mustRead(t: Test, name: string, root = ROOT): Zone | null {
  const zone = readZone(name, root);
  t.ok(zone, `readZone(${name}) from ${root}`);
  return zone;
}

/** Offset and local date according to Intl (ICU's own copy of the tz database). */
class IntlZone {
  // One format() call gives both, e.g. "07/15/2030, GMT+02:00" (or "..., GMT" at zero):
  // formatToParts is several times slower, and the scan below makes ~10^5 calls.
  private readonly format: Intl.DateTimeFormat;
  constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone: name, year: 'numeric', month: '2-digit', day: '2-digit', timeZoneName: 'longOffset' });
  }
  at(ms: number): { offset: number; date: string } {
    const text = this.format.format(ms);
    const m = /^(\d{2})\/(\d{2})\/(\d{4}), GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
    if (m === null) throw new Error(`unparsed Intl output ${JSON.stringify(text)}`);
    const seconds = Number(m[5] ?? 0) * 3600 + Number(m[6] ?? 0) * 60 + Number(m[7] ?? 0);
    return { offset: m[4] === '-' ? -seconds : seconds, date: `${m[3]}-${m[1]}-${m[2]}` };
  }
  offset(ms: number): number {
    return this.at(ms).offset;
  }
}

/** Deterministic [0, 1) source: two steps of a 32-bit LCG (Numerical Recipes constants) per draw. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  const next = (): number => (state = (Math.imul(1664525, state) + 1013904223) >>> 0);
  return () => (next() * 2 ** 32 + next()) / 2 ** 64;
}

function sampleInstants(random: () => number, count: number, fromYear: number, toYear: number): number[] {
  const from = Date.UTC(fromYear, 0, 1);
  const span = Date.UTC(toYear + 1, 0, 1) - from;
  return Array.from({ length: count }, () => from + Math.floor(random() * span));
}

interface Tally {
  compared: number;
  mismatches: string[];
}

/** Compares offset and local date at `ms`; records a readable line on mismatch. Returns Intl's offset. */
function compare(tally: Tally, zone: Zone, intl: IntlZone, ms: number): number {
  tally.compared++;
  const ours = { offset: zone.offsetSecondsAt(ms), date: localDateIn(zone, new Date(ms)) };
  const theirs = intl.at(ms);
  if (ours.offset !== theirs.offset || ours.date !== theirs.date) {
    tally.mismatches.push(`${intl.name} ${new Date(ms).toISOString()}: ours ${ours.offset} ${ours.date}, Intl ${theirs.offset} ${theirs.date}`);
  }
  return theirs.offset;
}

// ---------------------------------------------------------------------------------------

t.test('the system tz database is present', async (t) => {
  t.ok(HAVE_TZDATA, MISSING);
});

const AGREEMENT_ZONES = [
  'Europe/Oslo', 'Europe/Stockholm', 'Europe/Copenhagen', 'Europe/Paris', 'Europe/Berlin', 'Europe/London', 'UTC',
  'America/New_York', 'America/Sao_Paulo', 'Australia/Sydney', 'Australia/Lord_Howe', 'Asia/Kolkata',
  'Pacific/Chatham', 'America/St_Johns', 'Africa/Casablanca', 'Asia/Tehran',
];

t.test(`agrees with Intl around every transition from 1990 and at 2000 random instants from 1970, before ${AGREED_BEFORE_YEAR}`, async (t) => {
  if (!needTzdata(t)) return;
  t.comment(`system tz ${SYSTEM_TZ ?? 'unknown'}, ICU tz ${process.versions.tz ?? 'unknown'}: compared before ${AGREED_BEFORE_YEAR}`);
  const around: Tally = { compared: 0, mismatches: [] };
  const scan: Tally = { compared: 0, mismatches: [] };
  const sampled: Tally = { compared: 0, mismatches: [] };
  const found = new Map<string, number>();
  const scanStart = Date.UTC(1990, 0, 1);
  // A 3-day step, not the 6 h first planned: each Intl call costs ~3-4 us, and a 6 h step
  // (1.1 M calls) made this file take ~30 s beside two busy loops on a 2-core machine.
  // A step can only hide two changes less than one step apart; the closest pair in these
  // zones 1990-2037 is 31 days (Casablanca's Ramadan break, see zdump), and the
  // minimum-gap assertion below fails if Intl ever shows a pair closer than four steps.
  const step = 72 * HOUR;
  const scanEnd = Date.UTC(AGREED_BEFORE_YEAR, 0, 1) - step;
  const minGap = { ms: Infinity, where: '' };
  for (const name of AGREEMENT_ZONES) {
    const zone = mustRead(t, name);
    if (zone === null) continue;
    const intl = new IntlZone(name);

    // Find Intl's transitions: scan in steps (comparing offsets on the way), then bisect to
    // the second wherever the offset changed between two steps.
    const transitions: number[] = [];
    let previous = intl.offset(scanStart);
    for (let ms = scanStart + step; ms <= scanEnd; ms += step) {
      const offset = intl.offset(ms);
      scan.compared++;
      if (zone.offsetSecondsAt(ms) !== offset) scan.mismatches.push(`${name} ${new Date(ms).toISOString()}: ours ${zone.offsetSecondsAt(ms)}, Intl ${offset}`);
      if (offset === previous) continue;
      let lo = ms - step; // old offset
      let hi = ms; //        new offset
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (intl.offset(mid) === previous) lo = mid;
        else hi = mid;
      }
      const gap = hi - (transitions[transitions.length - 1] ?? -Infinity);
      if (gap < minGap.ms) Object.assign(minGap, { ms: gap, where: `${name} ${new Date(hi).toISOString()}` });
      transitions.push(hi);
      previous = offset;
    }
    found.set(name, transitions.length);

    // At each transition ±1 s, and at each whole hour from 3 h before to 3 h after it ±1 s
    // (local midnights near a transition are where the date is most likely to go wrong).
    for (const at of transitions) {
      const points = [at];
      const hour = Math.floor(at / HOUR) * HOUR;
      for (let k = -3; k <= 3; k++) points.push(hour + k * HOUR);
      for (const point of points) for (const delta of [-1000, 0, 1000]) compare(around, zone, intl, point + delta);
    }

    const random = lcg(0x5eed + name.length * 7919 + name.charCodeAt(name.length - 1));
    for (const ms of sampleInstants(random, 2000, 1970, AGREED_BEFORE_YEAR - 1)) compare(sampled, zone, intl, ms);
  }
  t.comment(`transitions found: ${[...found].map(([name, n]) => `${name} ${n}`).join(', ')}`);
  t.comment(`compared ${around.compared} instants around transitions, ${scan.compared} scan steps, ${sampled.compared} random instants`);
  // The scan must actually find transitions, or the "around" check proves nothing.
  const years = AGREED_BEFORE_YEAR - 1990;
  t.ok(years >= 30, `at least 30 years compared (${years})`);
  t.equal(found.get('Europe/Oslo'), 2 * years, `Oslo: two transitions a year 1990-${AGREED_BEFORE_YEAR - 1}`);
  t.equal(found.get('Australia/Lord_Howe'), 2 * years, `Lord Howe: two (half-hour) transitions a year 1990-${AGREED_BEFORE_YEAR - 1}`);
  t.equal(found.get('UTC'), 0, 'UTC has none');
  t.ok(around.compared > 16 * 2 * years * 3, 'compared a meaningful number of instants around transitions');
  t.ok(minGap.ms > 4 * step, `transitions are far apart compared with the scan step (closest: ${(minGap.ms / HOUR / 24).toFixed(1)} days, ${minGap.where})`);
  t.same(around.mismatches.slice(0, 20), [], `no mismatches around transitions (${around.mismatches.length} in all)`);
  t.same(scan.mismatches.slice(0, 20), [], `no mismatches at scan steps (${scan.mismatches.length} in all)`);
  t.same(sampled.mismatches.slice(0, 20), [], `no mismatches at random instants (${sampled.mismatches.length} in all)`);
});

const NOT_ZONES = new Set(['leapseconds', 'leap-seconds.list', 'tzdata.zi', 'posixrules', 'localtime', 'Factory', 'SECURITY']);

/** Zone names under ROOT: TZif files (or links to them), outside posix/ and right/. */
function systemZoneNames(): string[] {
  const names: string[] = [];
  const walk = (dir: string, prefix: string): void => {
    for (const entry of readdirSync(dir).sort()) {
      const name = prefix + entry;
      if (name === 'posix' || name === 'right' || NOT_ZONES.has(name) || entry.endsWith('.tab')) continue;
      const path = join(dir, entry);
      let stat;
      try {
        stat = statSync(path);
      } catch {
        continue; // a dangling link (localtime is skipped above already)
      }
      if (stat.isDirectory()) walk(path, `${name}/`);
      else if (stat.isFile() && readFileSync(path).subarray(0, 4).toString('latin1') === 'TZif') names.push(name);
    }
  };
  walk(ROOT, '');
  return names;
}

t.test('agrees with Intl for every system zone', async (t) => {
  if (!needTzdata(t)) return;
  const names = systemZoneNames();
  const unreadable: string[] = [];
  const notInIntl: string[] = [];
  const near: Tally = { compared: 0, mismatches: [] };
  const badZones = new Set<string>();
  let zones = 0;
  const random = lcg(20260328);
  for (const name of names) {
    const zone = readZone(name);
    if (zone === null) {
      unreadable.push(name);
      continue;
    }
    let intl: IntlZone;
    try {
      intl = new IntlZone(name);
    } catch {
      notInIntl.push(name);
      continue;
    }
    zones++;
    const before = near.mismatches.length;
    // From 2000 to what both copies knew (see AGREED_BEFORE_YEAR); the footer rules beyond the
    // files' tables are checked on hand-made files below.
    for (const ms of sampleInstants(random, 60, 2000, AGREED_BEFORE_YEAR - 1)) compare(near, zone, intl, ms);
    if (near.mismatches.length > before) badZones.add(name);
  }
  t.comment(`${names.length} TZif zone names under ${ROOT}; ${zones} compared with Intl; Intl refuses ${notInIntl.length}: ${notInIntl.join(' ')}`);
  t.comment(`${near.compared} instants 2000-${AGREED_BEFORE_YEAR - 1} (${near.mismatches.length} mismatched)`);
  for (const line of near.mismatches.slice(0, 30)) t.comment(line);
  t.same(unreadable, [], 'every TZif file in the system database is readable');
  t.ok(zones >= 300, `compared at least 300 zones (${zones})`);
  t.ok(near.compared >= 300 * 60, `compared ${near.compared} instants`);
  t.same([...badZones], [], `every zone agrees with ICU's copy at every instant both releases knew (${near.mismatches.length} mismatches)`);
});

// ---------------------------------------------------------------------------------------
// Hand-made TZif files

interface TypeSpec {
  utoff: number;
  isdst?: boolean;
  abbr: string;
}

interface TzifSpec {
  /** '2' (default), '3', '4', or '\0' for a version-1 file (no 64-bit block, no footer). */
  version?: string;
  transitions?: Array<[at: number, type: number]>;
  types: TypeSpec[];
  footer?: string;
  leapSeconds?: Array<[at: number, total: number]>;
}

/** Encodes a TZif file (RFC 8536): header, data block(s) and, for v2+, the footer. */
function encodeTzif(spec: TzifSpec): Buffer {
  const version = spec.version ?? '2';
  const leaps = spec.leapSeconds ?? [];
  let chars = '';
  const desig = spec.types.map((type) => {
    const at = chars.length;
    chars += `${type.abbr}\0`;
    return at;
  });
  const block = (timeSize: 4 | 8): Buffer => {
    // Like zic, the 32-bit block leaves out transitions it cannot represent.
    const fits = (at: number): boolean => timeSize === 8 || (at >= -(2 ** 31) && at < 2 ** 31);
    const transitions = (spec.transitions ?? []).filter(([at]) => fits(at));
    const header = Buffer.alloc(44);
    header.write('TZif', 0, 'latin1');
    header.write(version, 4, 'latin1');
    [0, 0, leaps.length, transitions.length, spec.types.length, chars.length].forEach((n, i) => header.writeUInt32BE(n, 20 + 4 * i));
    const time = (n: number): Buffer => {
      const b = Buffer.alloc(timeSize);
      if (timeSize === 8) b.writeBigInt64BE(BigInt(n));
      else b.writeInt32BE(n);
      return b;
    };
    const ttinfo = spec.types.map((type, i) => {
      const b = Buffer.alloc(6);
      b.writeInt32BE(type.utoff);
      b[4] = type.isdst ? 1 : 0;
      b[5] = desig[i] ?? 0;
      return b;
    });
    const leapRecords = leaps.map(([at, total]) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(total);
      return Buffer.concat([time(at), b]);
    });
    return Buffer.concat([
      header,
      ...transitions.map(([at]) => time(at)),
      Buffer.from(transitions.map(([, type]) => type)),
      ...ttinfo,
      Buffer.from(chars, 'latin1'),
      ...leapRecords,
    ]);
  };
  if (version === '\0') return block(4);
  return Buffer.concat([block(4), block(8), Buffer.from(`\n${spec.footer ?? ''}\n`, 'latin1')]);
}

const tmp = mkdtempSync(join(tmpdir(), 'zoneinfo-test-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
let fileCount = 0;

/** Writes bytes as a zone file in the temp root and reads it back; returns its name too. */
function writeZone(bytes: Buffer): { name: string; zone: Zone | null } {
  const name = `Test/Zone${++fileCount}`;
  mkdirSync(join(tmp, 'Test'), { recursive: true });
  writeFileSync(join(tmp, name), bytes);
  return { name, zone: readZone(name, tmp) };
}

function footerZone(t: Test, footer: string, std = 0): Zone | null {
  const { zone } = writeZone(encodeTzif({ types: [{ utoff: std, abbr: 'STD' }], footer }));
  t.ok(zone, `a TZif with no transitions and footer ${JSON.stringify(footer)} is readable`);
  return zone;
}

const utc = (iso: string): number => Date.parse(iso);

function expectOffsets(t: Test, zone: Zone | null, expected: Array<[iso: string, offset: number]>): void {
  if (zone === null) return;
  for (const [iso, offset] of expected) t.equal(zone.offsetSecondsAt(utc(iso)), offset, `${iso} → ${offset}`);
}

/** A hand-made zone agrees with Intl's real one at 1,500 seeded instants from `fromYear` to `toYear`. */
function agreesWithIntl(t: Test, zone: Zone, intlName: string, fromYear: number, toYear: number): void {
  const intl = new IntlZone(intlName);
  const tally: Tally = { compared: 0, mismatches: [] };
  for (const ms of sampleInstants(lcg(fromYear - 1), 1500, fromYear, toYear)) compare(tally, zone, intl, ms);
  t.same(tally.mismatches, [], `agrees with Intl's ${intlName} at ${tally.compared} instants ${fromYear}-${toYear}`);
}

t.test('footer rules: EU (CET-1CEST,M3.5.0,M10.5.0/3)', async (t) => {
  const zone = footerZone(t, 'CET-1CEST,M3.5.0,M10.5.0/3', 3600);
  expectOffsets(t, zone, [
    ['2030-01-15T12:00:00Z', 3600],
    ['2030-07-15T12:00:00Z', 7200],
    ['2030-03-31T00:59:59Z', 3600],
    ['2030-03-31T01:00:00Z', 7200],
    ['2030-10-27T00:59:59Z', 7200],
    ['2030-10-27T01:00:00Z', 3600],
    ['2032-03-28T00:59:59.999Z', 3600], // leap year; last Sunday of March is the 28th
    ['2032-03-28T01:00:00Z', 7200],
    ['1999-12-31T23:30:00Z', 3600], // a footer with no transitions covers the past too
  ]);
  // The same rules as Berlin's since 1996: cross-check with Intl over a long stretch.
  if (zone === null) return;
  agreesWithIntl(t, zone, 'Europe/Berlin', 1997, 2100);
});

t.test('footer rules: southern hemisphere, DST across New Year (AEST-10AEDT,M10.1.0,M4.1.0/3)', async (t) => {
  const zone = footerZone(t, 'AEST-10AEDT,M10.1.0,M4.1.0/3', 36000);
  expectOffsets(t, zone, [
    ['2030-01-15T12:00:00Z', 39600],
    ['2030-07-15T12:00:00Z', 36000],
    ['2030-04-06T15:59:59Z', 39600], // ends Sun 7 Apr 03:00 AEDT = 6 Apr 16:00Z
    ['2030-04-06T16:00:00Z', 36000],
    ['2030-10-05T15:59:59Z', 36000], // starts Sun 6 Oct 02:00 AEST = 5 Oct 16:00Z
    ['2030-10-05T16:00:00Z', 39600],
    ['2030-12-31T12:59:59Z', 39600], // New Year's Eve 23:59:59 local
    ['2030-12-31T13:00:00Z', 39600],
    ['2031-01-01T00:00:00Z', 39600],
  ]);
  if (zone === null) return;
  agreesWithIntl(t, zone, 'Australia/Sydney', 2009, 2100);
});

t.test('footer rules: all-year DST (EST5EDT,0/0,J365/25) is always -4', async (t) => {
  const zone = footerZone(t, 'EST5EDT,0/0,J365/25', -18000);
  const instants = ['2030-01-01T00:00:00Z', '2030-01-01T04:59:59Z', '2030-01-01T05:00:00Z', '2030-01-01T05:00:01Z', '2030-07-01T00:00:00Z',
    '2030-12-31T23:59:59Z', '2032-02-29T12:00:00Z', '2032-12-31T04:59:59Z', '2032-12-31T05:00:00Z', '2033-01-01T04:59:59Z',
    '2033-01-01T05:00:00Z', '2033-01-01T05:00:01Z'];
  expectOffsets(t, zone, instants.map((iso) => [iso, -14400]));
  if (zone === null) return;
  const wrong = sampleInstants(lcg(365), 2000, 1900, 2200).filter((ms) => zone.offsetSecondsAt(ms) !== -14400);
  t.same(wrong.map((ms) => new Date(ms).toISOString()), [], '-4 at 2000 random instants 1900-2200');
  // An end past the next start is still all-year DST (as in tzcode), not a 1 h dip at New Year.
  expectOffsets(t, footerZone(t, 'EST5EDT,0/0,J365/26', -18000), [
    ['2031-01-01T05:30:00Z', -14400],
    ['2031-01-01T06:30:00Z', -14400],
    ['2033-01-01T06:30:00Z', -14400],
  ]);
});

t.test('footer rules: quoted names, fractional and negative offsets, Jn/n rules, extended times', async (t) => {
  expectOffsets(t, footerZone(t, '<+0330>-3:30'), [['2030-01-01T00:00:00Z', 12600], ['2030-07-01T00:00:00Z', 12600]]);
  expectOffsets(t, footerZone(t, '<-0330>3:30'), [['2030-07-01T00:00:00Z', -12600]]);
  expectOffsets(t, footerZone(t, '<+0545>-5:45:30'), [['2030-07-01T00:00:00Z', 20730]]);
  expectOffsets(t, footerZone(t, 'UTC0'), [['2030-07-01T00:00:00Z', 0]]);
  // Nuuk since 2024: the rule times are negative and zero local time.
  expectOffsets(t, footerZone(t, '<-02>2<-01>,M3.5.0/-1,M10.5.0/0'), [
    ['2030-03-31T00:59:59Z', -7200],
    ['2030-03-31T01:00:00Z', -3600],
    ['2030-10-27T00:59:59Z', -3600],
    ['2030-10-27T01:00:00Z', -7200],
  ]);
  // Jerusalem: /26 means 02:00 on the day after the Thursday before the last Sunday.
  expectOffsets(t, footerZone(t, 'IST-2IDT,M3.4.4/26,M10.5.0'), [
    ['2030-03-28T23:59:59Z', 7200], // Thu 28 Mar 2030 + 26 h = Fri 29 Mar 02:00 IST = 00:00Z
    ['2030-03-29T00:00:00Z', 10800],
    ['2030-10-26T22:59:59Z', 10800], // Sun 27 Oct 02:00 IDT = 26 Oct 23:00Z
    ['2030-10-26T23:00:00Z', 7200],
  ]);
  // Jn skips Feb 29, n counts it; an explicit dst offset (+2 h here, not the default +1 h).
  const zone = footerZone(t, 'AAA0BBB-2,J60/0,59/0');
  expectOffsets(t, zone, [
    ['2031-02-28T23:59:59Z', 0], // J60 is Mar 1 in any year
    ['2031-03-01T00:00:00Z', 7200],
    ['2032-02-29T23:59:59Z', 0],
    ['2032-03-01T00:00:00Z', 7200],
    // End rule "59" is Mar 1 in 2031 but Feb 29 in 2032, both read in DST time (UTC+2),
    // so it ends before J60 starts: a southern-style year, DST from March to next spring.
    ['2031-02-28T21:59:59Z', 7200],
    ['2031-02-28T22:00:00Z', 0],
    ['2032-02-28T21:59:59Z', 7200],
    ['2032-02-28T22:00:00Z', 0],
  ]);
});

t.test('transition tables: type 0 before the first transition, footer after the last', async (t) => {
  const jan2000 = utc('2000-01-01T00:00:00Z') / 1000;
  const jul2000 = utc('2000-07-01T00:00:00Z') / 1000;
  const types: TypeSpec[] = [
    { utoff: 5400, isdst: true, abbr: 'ZDT' }, // type 0 is DST: RFC 8536 still says use it first
    { utoff: 3600, abbr: 'CET' },
    { utoff: 7200, isdst: true, abbr: 'CEST' },
  ];
  const transitions: Array<[number, number]> = [[jan2000, 1], [jul2000, 2]];
  for (const version of ['2', '3', '4']) {
    const { zone } = writeZone(encodeTzif({ version, transitions, types, footer: 'CET-1CEST,M3.5.0,M10.5.0/3' }));
    t.ok(zone, `version ${version} file readable`);
    expectOffsets(t, zone, [
      ['1999-12-31T23:59:59Z', 5400],
      ['2000-01-01T00:00:00Z', 3600],
      ['2000-06-30T23:59:59Z', 3600],
      ['2000-07-01T00:00:00Z', 7200], // the last transition itself
      ['2000-10-29T00:59:59Z', 7200], // the footer from here on
      ['2000-10-29T01:00:00Z', 3600],
      ['2001-07-01T00:00:00Z', 7200],
    ]);
  }
  // Version 1: 32-bit block only, no footer: the last type holds forever.
  const v1 = writeZone(encodeTzif({ version: '\0', transitions, types })).zone;
  t.ok(v1, 'version 1 file readable');
  expectOffsets(t, v1, [['1999-12-31T23:59:59Z', 5400], ['2000-03-01T00:00:00Z', 3600], ['2030-01-01T00:00:00Z', 7200]]);
  // An empty footer means no rule: the last type holds, as for version 1.
  const empty = writeZone(encodeTzif({ transitions, types, footer: '' })).zone;
  t.ok(empty, 'empty footer readable');
  expectOffsets(t, empty, [['2030-01-01T00:00:00Z', 7200]]);
  // 64-bit transition times beyond 2038 are honoured.
  const late = utc('2100-01-01T00:00:00Z') / 1000;
  const far = writeZone(encodeTzif({ transitions: [[late, 1]], types: [{ utoff: 0, abbr: 'UTC' }, { utoff: -3600, abbr: 'XXX' }], footer: 'XXX1' })).zone;
  expectOffsets(t, far, [['2099-12-31T23:59:59Z', 0], ['2100-01-01T00:00:00Z', -3600]]);
});

// ---------------------------------------------------------------------------------------
// Refusals

t.test('refuses unsafe or unknown names without throwing', async (t) => {
  if (!needTzdata(t)) return;
  t.ok(readZone('Europe/Oslo'), 'the control case reads');
  const bad = ['../etc/passwd', '/etc/passwd', 'Europe/../../etc/passwd', 'Europe//Oslo', '', 'E'.repeat(200), 'Nowhere/Atlantis',
    'Europe/Oslo/', './Europe/Oslo', 'Europe/./Oslo', '.', '..', 'Europe\\Oslo', 'Europe/Oslo\0', 'Europe', 'zone.tab', 'right/Europe/Oslo',
    `Europe/${'A'.repeat(60)}`];
  for (const name of bad) {
    let result: Zone | null | 'threw' = 'threw';
    try {
      result = readZone(name);
    } catch {
      // recorded as 'threw'
    }
    t.equal(result, null, `${JSON.stringify(name.slice(0, 40))} → null`);
  }
  t.equal(readZone(undefined as unknown as string), null, 'a non-string → null');
  t.equal(readZone('Europe/Oslo', '/nonexistent/root'), null, 'a missing root → null');
});

t.test('refuses files that are not valid TZif', async (t) => {
  if (!needTzdata(t)) return;
  const oslo = readFileSync(join(ROOT, 'Europe/Oslo'));
  const copy = writeZone(oslo);
  t.ok(copy.zone, 'an intact copy of Europe/Oslo reads from the temp root');
  t.equal(copy.zone?.offsetSecondsAt(utc('2030-07-15T12:00:00Z')), 7200, 'and works');

  const refuse = (bytes: Buffer, what: string): void => {
    let zone: Zone | null | 'threw' = 'threw';
    try {
      zone = writeZone(bytes).zone;
    } catch {
      // recorded as 'threw'
    }
    t.equal(zone, null, what);
  };
  refuse(Buffer.from('# not a tz file\nEurope/Oslo CET-1CEST\n'), 'a text file');
  refuse(Buffer.alloc(0), 'an empty file');
  refuse(Buffer.concat([Buffer.from('TZiF'), oslo.subarray(4)]), 'wrong magic');
  const v1Length = 44 + oslo.readUInt32BE(32) * 5 + oslo.readUInt32BE(36) * 6 + oslo.readUInt32BE(40);
  const footerAt = oslo.lastIndexOf(0x0a, oslo.length - 2);
  for (const [length, what] of [
    [20, 'half a header'],
    [44, 'header only'],
    [44 + 100, 'mid v1 data'],
    [v1Length + 20, 'mid second header'],
    [v1Length + 44 + 50, 'mid v2 data'],
    [footerAt, 'footer missing'],
    [footerAt + 1, 'footer newline only'],
    [oslo.length - 5, 'footer cut short'],
    [oslo.length - 1, 'footer missing its closing newline'],
  ] as const) {
    refuse(oslo.subarray(0, length), `truncated at ${length}/${oslo.length} bytes: ${what}`);
  }
  for (const footer of ['garbage!', 'CET-1CEST', 'CE-1', 'CET', 'CET-1CEST,M13.5.0,M10.5.0/3', 'CET-1CEST,M3.5.0,M10.5.0/168', 'CET-1CEST,M3.5.0',
    'CET-1CEST,J0,J365', 'CET-25', 'CET-1CEST,M3.5.0,M10.5.0/3x', '<+03-3']) {
    refuse(Buffer.concat([oslo.subarray(0, footerAt), Buffer.from(`\n${footer}\n`)]), `footer ${JSON.stringify(footer)}`);
  }
  const types: TypeSpec[] = [{ utoff: 3600, abbr: 'CET' }];
  refuse(encodeTzif({ transitions: [[1000, 1]], types, footer: 'CET-1' }), 'a transition to a type that does not exist');
  refuse(encodeTzif({ transitions: [[2000, 0], [1000, 0]], types, footer: 'CET-1' }), 'transitions out of order');
  refuse(encodeTzif({ types: [], footer: 'CET-1' }), 'no time types');
  refuse(encodeTzif({ types: [{ utoff: 100000, abbr: 'BIG' }], footer: '' }), 'an offset over 26 h');
  refuse(encodeTzif({ types, footer: 'CET-1', leapSeconds: [[78796800, 1]] }), 'leap-second records (right/ files)');
  refuse(Buffer.from(encodeTzif({ types, footer: 'CET-1' }).toString('latin1').replace('TZif2', 'TZif1'), 'latin1'), 'unknown version byte');
  // Version 1 has no footer to trip over, so only the length check catches a short file.
  const v1 = encodeTzif({ version: '\0', transitions: [[1000, 0]], types });
  t.ok(writeZone(v1).zone, 'the intact version 1 file reads');
  refuse(v1.subarray(0, v1.length - 1), 'a version 1 file missing its last designation byte');
});

// ---------------------------------------------------------------------------------------

t.test('localDateIn around midnight in Oslo', async (t) => {
  if (!needTzdata(t)) return;
  const oslo = mustRead(t, 'Europe/Oslo');
  if (oslo === null) return;
  const date = (iso: string): string => localDateIn(oslo, new Date(iso));
  t.equal(date('2026-03-28T22:59:59Z'), '2026-03-28', 'UTC+1: 23:59:59 on the 28th');
  t.equal(date('2026-03-28T23:30:00Z'), '2026-03-29', 'UTC+1: 00:30 on the 29th');
  t.equal(date('2026-06-30T21:59:59Z'), '2026-06-30', 'UTC+2: 23:59:59 on the 30th');
  t.equal(date('2026-06-30T22:30:00Z'), '2026-07-01', 'UTC+2: 00:30 on 1 July');
  t.equal(date('2026-12-31T23:00:00Z'), '2027-01-01', 'New Year');
  t.throws(() => localDateIn(oslo, new Date(Number.NaN)), RangeError, 'an invalid Date throws like Intl does');
});
