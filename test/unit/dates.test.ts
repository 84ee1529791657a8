/**
 * The locker's local date comes from the tz database, not Intl (kiosk/core/dates.ts): the
 * first Intl.DateTimeFormat with a time zone keeps about 6 MiB of ICU's data resident.
 */
import t from 'tap';
import { addDays, isTimeZone, localDate } from '../../kiosk/core/dates.js';

/** Runs `body` with Intl.DateTimeFormat replaced by one that counts its uses and refuses. */
function withoutIntl<T>(body: () => T): { result: T; intlCalls: number } {
  const original = Intl.DateTimeFormat;
  let intlCalls = 0;
  (Intl as { DateTimeFormat: unknown }).DateTimeFormat = function refused() {
    intlCalls += 1;
    throw new Error('Intl.DateTimeFormat used');
  };
  try {
    return { result: body(), intlCalls };
  } finally {
    (Intl as { DateTimeFormat: unknown }).DateTimeFormat = original;
  }
}

t.test('a zone in the tz database: its dates and its check never touch Intl', async (t) => {
  const { result, intlCalls } = withoutIntl(() => [
    isTimeZone('Europe/Oslo'),
    localDate(new Date('2026-03-28T23:30:00Z'), 'Europe/Oslo'),
    localDate(new Date('2026-03-28T22:59:59Z'), 'Europe/Oslo'),
    localDate(new Date('2026-10-24T22:30:00Z'), 'Europe/Oslo'),
    localDate(new Date('2026-12-31T23:30:00Z'), 'Europe/London'),
  ]);
  t.same(result, [true, '2026-03-29', '2026-03-28', '2026-10-25', '2026-12-31']);
  t.equal(intlCalls, 0, 'Intl.DateTimeFormat not called');
});

t.test('a name the tz database lacks falls back to Intl, with the same answer', async (t) => {
  // Intl matches zone names without regard to case; the database's files do not.
  const at = new Date('2026-06-30T22:30:00Z');
  const { intlCalls } = withoutIntl(() => {
    try {
      localDate(at, 'europe/oslo');
    } catch {
      // the refusing stand-in throws: what matters is that it was asked
    }
  });
  t.equal(intlCalls, 1, 'Intl asked for a name with no file');
  t.equal(localDate(at, 'europe/oslo'), '2026-07-01');
  t.equal(localDate(at, 'Europe/Oslo'), '2026-07-01');
});

t.test('names that are not zones are refused, paths included', async (t) => {
  for (const name of ['Mars/Olympus', '../../etc/passwd', '/etc/passwd', '', 'Europe/Oslo/', 'Europe/../Europe/Oslo']) {
    t.equal(isTimeZone(name), false, JSON.stringify(name));
  }
});

t.test('addDays is calendar arithmetic', async (t) => {
  t.equal(addDays('2028-02-28', 1), '2028-02-29');
  t.equal(addDays('2026-12-31', 1), '2027-01-01');
  t.equal(addDays('2026-03-01', -1), '2026-02-28');
});
