import fc from 'fast-check';
import t from 'tap';
import { maskEmail, maskPhone } from '../../kiosk/core/mask.js';

t.test('maskEmail keeps the first character and the domain', async (t) => {
  t.equal(maskEmail('jane.doe@example.com'), 'j***@example.com');
  t.equal(maskEmail('  Ola.Nordmann@firma.no '), 'O***@firma.no');
  t.equal(maskEmail('j@example.com'), 'j***@example.com');
  t.equal(maskEmail('ærlig@post.dk'), 'æ***@post.dk');
  t.equal(maskEmail('😀smile@example.com'), '😀***@example.com');
  t.equal(maskEmail('"a@b"@example.com'), '"***@example.com');
});

t.test('maskEmail shows nothing for odd input', async (t) => {
  for (const odd of ['', '   ', 'jane', '@example.com', 'jane@', 'jane@localhost', 'jane@exa mple.com', 'jane@example.']) {
    t.equal(maskEmail(odd), '***', JSON.stringify(odd));
  }
});

t.test('maskPhone shows the calling code and the last three digits only', async (t) => {
  t.equal(maskPhone('+4791234123'), '+47 *** ** 123');
  t.equal(maskPhone('+46701234567'), '+46 *** ** 567');
  t.equal(maskPhone('+447700900123'), '+44 *** ** 123');
  t.equal(maskPhone('+14155550100'), '*** ** 100'); // calling code not one we know: not shown
  t.equal(maskPhone('91234123'), '*** ** 123');
});

t.test('maskPhone shows nothing for short or odd input', async (t) => {
  for (const odd of ['', '+', '+47', '+47123', '123456', 'not a number']) {
    t.equal(maskPhone(odd), '***', JSON.stringify(odd));
  }
});

t.test('maskPhone never reveals more than three digits beyond a known calling code', async (t) => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'+0123456789 -'), maxLength: 20 }), (input) => {
      const shown = maskPhone(input).replace(/^\+(47|46|45|33|49|44) /, '');
      return shown.replace(/\D/g, '').length <= 3;
    }),
  );
  t.pass('property held');
});
