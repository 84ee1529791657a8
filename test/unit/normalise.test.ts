import fc from 'fast-check';
import t from 'tap';
import { COUNTRIES, type Country } from '../../kiosk/config/schema.js';
import { normalisePhone, normalisePlate, plateText } from '../../kiosk/core/normalise.js';

t.test('plates: real-looking plates per country', async (t) => {
  const cases: [input: string, preferred: Country | undefined, plate: string, country: Country | null][] = [
    ['AB 12345', undefined, 'AB12345', 'NO'],
    ['el 12345', undefined, 'EL12345', 'NO'],
    ['EK-12345', undefined, 'EK12345', 'NO'],
    ['AB 1234', undefined, 'AB1234', 'NO'],
    ['AB 12 345', 'DK', 'AB12345', 'DK'],
    ['ABC 123', undefined, 'ABC123', 'SE'],
    ['abc 12a', 'SE', 'ABC12A', 'SE'],
    ['AB-123-CD', undefined, 'AB123CD', 'FR'],
    ['1234 AB 75', undefined, '1234AB75', 'FR'],
    ['123 ABC 2A', undefined, '123ABC2A', 'FR'],
    ['B-MW 1234', undefined, 'BMW1234', 'DE'],
    ['M AB 123E', undefined, 'MAB123E', 'DE'],
    ['LÖ-X 99', undefined, 'LÖX99', 'DE'],
    ['ABC 123', 'DE', 'ABC123', 'DE'],
    ['AB12 CDE', undefined, 'AB12CDE', 'GB'],
    ['A123 BCD', undefined, 'A123BCD', 'GB'],
    ['ABC 123D', 'GB', 'ABC123D', 'GB'],
    ['AB·123·CD', undefined, 'AB123CD', 'FR'],
    ['ab.12.345', undefined, 'AB12345', 'NO'],
    ['  ab 12345\t', undefined, 'AB12345', 'NO'],
    ['AB\u2013123\u2013CD', undefined, 'AB123CD', 'FR'], // en dashes
    ['ＡＢ１２３４５', undefined, 'AB12345', 'NO'], // full-width keyboard
    ['LA\u0308X 99', undefined, 'LÄX99', 'DE'], // decomposed Ä
    ['XYZ', undefined, 'XYZ', null],
    ['AB', undefined, 'AB', null],
    ['ÆØÅ123', undefined, 'ÆØÅ123', null],
    ['CD 12345 67', undefined, 'CD1234567', null],
  ];
  for (const [input, preferred, plate, country] of cases) {
    t.same(normalisePlate(input, preferred), { ok: true, plate, country }, JSON.stringify(input));
  }
});

t.test('plates: the locker country wins an ambiguous shape only when it fits', async (t) => {
  t.same(normalisePlate('AB12345', 'DK'), { ok: true, plate: 'AB12345', country: 'DK' });
  t.same(normalisePlate('AB12345', 'GB'), { ok: true, plate: 'AB12345', country: 'NO' });
});

t.test('plates: bad input is refused with a typed error', async (t) => {
  const cases: [input: string, error: string][] = [
    ['', 'empty'],
    ['   ', 'empty'],
    [' - . · ', 'empty'],
    ['A', 'too_short'],
    ['ABCDEFGHIJK', 'too_long'],
    ['A'.repeat(65), 'too_long'],
    ['AB_123', 'invalid_characters'],
    ['AB12ß', 'invalid_characters'],
    ['AB12€', 'invalid_characters'],
    ['AB🚗12', 'invalid_characters'],
    ['AB12345;DROP', 'invalid_characters'],
  ];
  for (const [input, error] of cases) {
    t.same(normalisePlate(input), { ok: false, error }, JSON.stringify(input));
  }
});

t.test('phones: national and international forms per country', async (t) => {
  const cases: [input: string, country: Country, e164: string, found: Country | null][] = [
    ['912 34 567', 'NO', '+4791234567', 'NO'],
    ['+47 912 34 567', 'NO', '+4791234567', 'NO'],
    ['0047 91234567', 'SE', '+4791234567', 'NO'],
    ['+47-912-34-567', 'FR', '+4791234567', 'NO'],
    ['070-123 45 67', 'SE', '+46701234567', 'SE'],
    ['+46 (0)70 123 45 67', 'NO', '+46701234567', 'SE'],
    ['08-123 456', 'SE', '+468123456', 'SE'],
    ['20 12 34 56', 'DK', '+4520123456', 'DK'],
    ['+45 20 12 34 56', 'NO', '+4520123456', 'DK'],
    ['06 12 34 56 78', 'FR', '+33612345678', 'FR'],
    ['06.12.34.56.78', 'FR', '+33612345678', 'FR'],
    ['+33 (0)6 12 34 56 78', 'NO', '+33612345678', 'FR'],
    ['0151 23456789', 'DE', '+4915123456789', 'DE'],
    ['030 / 123456', 'DE', '+4930123456', 'DE'],
    ['07700 900123', 'GB', '+447700900123', 'GB'],
    ['+44 (0)20 7946 0958', 'NO', '+442079460958', 'GB'],
    ['+1 (415) 555-0100', 'NO', '+14155550100', null],
    ['  +4791234567  ', 'SE', '+4791234567', 'NO'],
  ];
  for (const [input, country, e164, found] of cases) {
    t.same(normalisePhone(input, country), { ok: true, e164, country: found }, `${input} (${country})`);
  }
});

t.test('phones: bad input is refused with a typed error that does not echo the number', async (t) => {
  const cases: [input: string, country: Country, error: string][] = [
    ['', 'NO', 'empty'],
    ['  ', 'NO', 'empty'],
    ['()', 'NO', 'empty'],
    ['abc', 'NO', 'invalid_characters'],
    ['912 34 56a', 'NO', 'invalid_characters'],
    ['+47 912+34567', 'NO', 'invalid_characters'],
    ['12 34', 'NO', 'too_short'],
    ['912345678', 'NO', 'too_long'],
    ['0912 3456', 'NO', 'invalid_number'], // Norway has no trunk 0
    ['06 12 34 56', 'FR', 'too_short'],
    ['020 7946 095', 'GB', 'too_short'],
    ['+0123456789', 'NO', 'invalid_number'],
    ['+1234', 'NO', 'too_short'],
    ['+1234567890123456', 'NO', 'too_long'],
    ['1'.repeat(65), 'NO', 'too_long'],
  ];
  for (const [input, country, error] of cases) {
    const result = normalisePhone(input, country);
    t.same(result, { ok: false, error }, `${input} (${country})`);
  }
});

const country = fc.constantFrom(...COUNTRIES);
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 20 }));

t.test('plates: never throw, and normalising a result again changes nothing', async (t) => {
  fc.assert(
    fc.property(anyText, fc.option(country, { nil: undefined }), (input, preferred) => {
      const first = normalisePlate(input, preferred);
      if (!first.ok) return true;
      const again = normalisePlate(first.plate, preferred);
      return again.ok && again.plate === first.plate && again.country === first.country;
    }),
  );
  t.pass('property held');
});

t.test('plates: plateText (a snapshot\'s, no country) gives what normalisePlate gives, error or plate', async (t) => {
  let compared = 0;
  fc.assert(
    fc.property(fc.oneof(anyText, fc.constantFrom('b-mw 1234', 'AB 12345', 'ab·12\u2013345', ' ', 'ß1', 'x'.repeat(65))), (input) => {
      compared += 1;
      const full = normalisePlate(input);
      const text = plateText(input);
      return full.ok ? text.ok && text.plate === full.plate : !text.ok && text.error === full.error;
    }),
  );
  t.ok(compared >= 100, `${compared} inputs compared`);
});

t.test('plates: separators anywhere do not change the result', async (t) => {
  const core = fc.string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPRSTUVWXYZÆØÅ0123456789'), minLength: 2, maxLength: 10 });
  const separator = fc.constantFrom(' ', '-', '.', '·', '\u2013', '\u00A0');
  fc.assert(
    fc.property(core, fc.array(fc.tuple(fc.nat(), separator), { maxLength: 4 }), (plate, inserts) => {
      let spaced = plate.toLowerCase();
      for (const [at, sep] of inserts) {
        const i = at % (spaced.length + 1);
        spaced = spaced.slice(0, i) + sep + spaced.slice(i);
      }
      const result = normalisePlate(spaced);
      return result.ok && result.plate === plate;
    }),
  );
  t.pass('property held');
});

t.test('phones: never throw, and normalising a result again changes nothing', async (t) => {
  const phoneLike = fc.string({ unit: fc.constantFrom(...'0123456789 +-()./'), maxLength: 24 });
  fc.assert(
    fc.property(fc.oneof(anyText, phoneLike), country, country, (input, home, elsewhere) => {
      const first = normalisePhone(input, home);
      if (!first.ok) return true;
      // An E.164 number means the same whatever the locker's country.
      const again = normalisePhone(first.e164, elsewhere);
      return /^\+[1-9]\d{6,14}$/.test(first.e164) && again.ok && again.e164 === first.e164 && again.country === first.country;
    }),
  );
  t.pass('property held');
});
