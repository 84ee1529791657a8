/**
 * The receipt step's typed address (issue 12): the order's own phone or e-mail is offered first;
 * the customer may type another, validated (a bad one changes nothing), sent to the back office
 * only in receipt.requested's `destination`, masked on the screen, in the staff outbox and in
 * the locker's records otherwise. A real locker beside the reference back office.
 */
import t, { type Test } from 'tap';
import { act, ok, recordedEvents, until, withLocker, type TestLocker } from '../helpers/locker.js';

type Sent = { channel: string; to: string; toMasked?: string };
const sent = (locker: TestLocker) => (locker.backOffice.service.messenger as unknown as { all(): Sent[] }).all();

/** The paid demo pickup (PIN 345678, compartment 16) up to its receipt step. */
async function atReceipt(t: Test, locker: TestLocker): Promise<void> {
  await ok(t, locker, { type: 'start', journey: 'pickup' });
  await ok(t, locker, { type: 'pin', pin: '345678' });
  locker.hardware.sim!.closeDoor(15);
  await until(() => locker.hardware.bank.doorState(16) === 'closed', 'door 16 closed');
  t.match(await ok(t, locker, { type: 'confirm' }), { step: 'receipt', receipt: { sms: '+47 *** ** 223', email: 'i***@example.com' } }, "the order's own, masked, offered first");
}

t.test('a typed mobile number: validated, E.164 in the event only, masked in the outbox', async (t) => {
  const locker = await withLocker(t);
  await atReceipt(t, locker);
  const bad = await act(locker, { type: 'receipt', channel: 'sms', to: '12' });
  t.match(bad, { status: 400, error: { code: 'PHONE_INVALID' } });
  t.match(await act(locker, { type: 'receipt', channel: 'qr', to: '98765432' }), { status: 400, error: { code: 'BAD_ACTION' } }, 'a QR has no address');
  t.same((await recordedEvents(locker)).filter((e) => e.type === 'receipt.requested'), [], 'a bad address sends nothing');
  t.equal((await ok(t, locker, { type: 'receipt', channel: 'sms', to: '987 65 432' })).step, 'done');
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'receipt.requested'), [
    { payload: { reservationId: 'demo-pickup-paid', channel: 'sms', destination: '+4798765432', destinationMasked: '+47 *** ** 432' } },
  ]);
  await until(() => sent(locker).some((m) => m.channel === 'sms' && m.to === '+4798765432'), 'the SMS to the typed number');
  t.notOk(sent(locker).some((m) => m.to === '+4790011223'), "nothing to the order's own number");
  const outbox = JSON.stringify(await (await fetch(`${locker.urls.backOffice}api/outbox`)).json());
  t.match(outbox, /\+47 \*\*\* \*\* 432/);
  t.notMatch(outbox, /98765432/, 'the staff outbox shows it masked');
});

t.test("a typed e-mail: validated; the order's own when none is typed (destination null)", async (t) => {
  const locker = await withLocker(t);
  await atReceipt(t, locker);
  t.match(await act(locker, { type: 'receipt', channel: 'email', to: 'not-an-address' }), { status: 400, error: { code: 'EMAIL_INVALID' } });
  t.match(await act(locker, { type: 'receipt', channel: 'email', to: 'a b@example.com' }), { status: 400, error: { code: 'EMAIL_INVALID' } });
  t.equal((await ok(t, locker, { type: 'receipt', channel: 'email', to: ' ola.nordmann@example.org ' })).step, 'done');
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'receipt.requested'), [
    { payload: { channel: 'email', destination: 'ola.nordmann@example.org', destinationMasked: /^o\*+@example\.org$/ } },
  ]);
  await until(() => sent(locker).some((m) => m.channel === 'email' && m.to === 'ola.nordmann@example.org'), 'the e-mail to the typed address');
});

t.test("no address typed: the order's own, destination null", async (t) => {
  const locker = await withLocker(t);
  await atReceipt(t, locker);
  await ok(t, locker, { type: 'receipt', channel: 'email' });
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'receipt.requested'), [{ payload: { channel: 'email', destination: null, destinationMasked: 'i***@example.com' } }]);
  await until(() => sent(locker).some((m) => m.channel === 'email' && m.to === 'ingrid@example.com'), "the order's own e-mail");
});
