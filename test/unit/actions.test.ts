import t, { type Test } from 'tap';
import { MAX_REMARK_LENGTH, cleanText, parseAction } from '../../kiosk/core/actions.js';
import { isDomainError } from '../../kiosk/errors.js';

function refused(t: Test, body: unknown, code = 'BAD_ACTION'): void {
  try {
    parseAction(body);
    t.fail(`accepted ${JSON.stringify(body)}`);
  } catch (error) {
    t.ok(isDomainError(error), 'a DomainError');
    t.equal((error as { code: string }).code, code, `${JSON.stringify(body)?.slice(0, 60)} refused with ${code}`);
  }
}

t.test('well-formed actions decode to themselves', async (t) => {
  const good = [
    { type: 'start', journey: 'dropoff' },
    { type: 'language', lang: 'sv' },
    { type: 'identifyMode', mode: 'plate' },
    { type: 'pin', pin: '123456' },
    { type: 'lookup', by: 'phone', value: '+47 912 34 567' },
    { type: 'details', phone: null, remark: 'Winter tyres please' },
    { type: 'help', open: true },
    { type: 'confirm' },
    { type: 'activity' },
  ];
  for (const action of good) t.same(parseAction(action), action);
  t.same(parseAction({ type: 'details', phone: '', remark: '' }), { type: 'details', phone: null, remark: null });
  t.same(parseAction({ type: 'confirm', extra: 'ignored' }), { type: 'confirm' });
});

t.test('anything else is refused with a clear code', async (t) => {
  refused(t, null);
  refused(t, 'start');
  refused(t, []);
  refused(t, {});
  refused(t, { type: 'openAll' });
  refused(t, { type: 'start', journey: 'steal' });
  refused(t, { type: 'language', lang: 'de' });
  refused(t, { type: 'pin', pin: 123456 });
  refused(t, { type: 'pin', pin: '' });
  refused(t, { type: 'pin', pin: '1'.repeat(17) });
  refused(t, { type: 'lookup', by: 'email', value: 'x' });
  refused(t, { type: 'lookup', by: 'plate', value: 'A'.repeat(33) });
  refused(t, { type: 'help', open: 'yes' });
  refused(t, { type: 'details', phone: 5, remark: null });
  refused(t, { type: 'details', phone: null, remark: 'x'.repeat(MAX_REMARK_LENGTH + 1) }, 'REMARK_TOO_LONG');
  refused(t, { type: '__proto__' });
  refused(t, JSON.parse('{"__proto__": {"type": "confirm"}}'));
});

t.test('free text loses control characters and extra space', async (t) => {
  t.equal(cleanText('  Left\nfront\ttyre \u0000 flat  '), 'Left front tyre flat');
  t.equal(cleanText('\u2028'), '');
  t.equal(cleanText('Ærlig talt, ça va'), 'Ærlig talt, ça va');
});
