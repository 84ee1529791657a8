/**
 * Walk the journeys with logging at trace level into memory, then look for what must never
 * be there: PINs, phone numbers, e-mail addresses, tokens.
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { createLogger } from '../../kiosk/logging.js';
import { act, ok, until, withLocker } from '../helpers/locker.js';

t.test('no PIN, phone number, e-mail address or token in the logs', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level: 'trace', destination: sink });
  // The locker and the reference back office both log into the sink.
  const locker = await withLocker(t, {}, { logger });

  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await act(locker, { type: 'pin', pin: '654321' });
  await ok(t, locker, { type: 'lookup', by: 'phone', value: '+47 912 34 567' });
  await ok(t, locker, { type: 'sendPin' });
  await ok(t, locker, { type: 'back' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: '+46 70 123 45 67', remark: 'call me' });
  await ok(t, locker, { type: 'confirm' });
  locker.hardware.sim?.closeDoor(0);
  await until(() => locker.hardware.bank.doorState(1) === 'closed', 'door closed');
  await ok(t, locker, { type: 'confirm' });
  await until(async () => (await locker.sync.status()).outboxPending === 0, 'events delivered');

  const text = lines.join('');
  t.ok(lines.length > 20, `${lines.length} log lines to look at`);
  for (const secret of ['123456', '654321', '91234567', '701234567', 'example.com', 'kari.nordmann', 'eyJ']) {
    t.notOk(text.includes(secret), `"${secret}" is not in the logs`);
  }
});
