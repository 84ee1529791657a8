/**
 * The pickup message carries the phone link by itself (issue 12): staff make a pickup with its
 * key in a compartment and an amount due; the reference back office sends the pickup message
 * through its Messenger with the order's /open/<token> link (the outbox page shows it whole,
 * being what the customer receives; no log line holds the token). The link opens nothing before
 * the payment, and after it exactly one pulse on that compartment.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { createLogger, createSilentLogger } from '../../kiosk/logging.js';
import { startReferenceBackOffice } from '../reference-backoffice/start.js';
import { TEST_PIN_COST, until, withLocker } from '../helpers/locker.js';
import { scratchDir } from '../helpers/scratch.js';

interface Sent {
  channel: string;
  to: string;
  subject: string;
  body: string;
  link: string | null;
  reservationId: string | null;
}

t.test('the pickup message links to /open/<token>: refused before paying, one pulse after', async (t) => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  const locker = await withLocker(t, {}, { logger });
  const service = locker.backOffice.service;
  const sim = locker.hardware.sim!;
  const sent = () => (service.messenger as unknown as { all(): Sent[] }).all();

  const r = await service.createReservation({ unitId: locker.config.unitId, kind: 'pickup', workOrder: 'WO-7001', plate: 'EL 70010', driverName: 'Ola Link', phones: ['+4791177001'], compartmentId: 10, paymentRequired: true, paymentAmount: 129_000, currency: 'NOK' });
  await until(async () => (await locker.store.reservation(r.id))?.compartmentId === 10, 'the locker holds the pickup in compartment 10');

  const pickup = sent().filter((m) => m.reservationId === r.id && m.subject === 'Ready for pickup: WO-7001');
  t.equal(pickup.length, 1, 'one pickup message');
  const message = pickup[0] as Sent;
  t.match(message, { channel: 'sms', to: '+4791177001', link: /\/open\/[A-Za-z0-9_-]{43}$/ });
  const link = message.link as string;
  const token = link.split('/').pop() as string;
  t.ok(message.body.includes(link), 'the link is in the text the customer receives');
  t.match(message.body, /compartment 10/);
  t.match(message.body, /Pay 1290\.00 NOK/);
  const outbox = (await (await fetch(`${locker.urls.backOffice}api/outbox`)).json()) as { messages: { subject: string; body: string; link: string | null; toMasked: string }[] };
  t.match(outbox.messages.find((m) => m.subject === 'Ready for pickup: WO-7001'), { link, toMasked: '+47 *** ** 001', body: /\/open\// }, 'the outbox page shows the message with its link, the number masked');

  const api = (path: string, method = 'GET') => fetch(`${locker.urls.backOffice}api/${path}`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
  t.match(await (await api(`open/${token}`)).json(), { state: 'pay', compartment: 10 });
  const pulses = sim.pulseCount;
  t.equal((await api(`open/${token}/open`, 'POST')).status, 409, 'pressed before paying: refused by the back office');

  // The customer pays (the payment link, approved on the phone).
  t.equal((await api(`reservations/${r.id}/payment/send-link`, 'POST')).status, 200);
  const payLink = sent().find((m) => m.reservationId === r.id && m.subject === 'Payment link')?.link as string;
  t.equal((await api(`pay/${payLink.split('/').pop() as string}/approve`, 'POST')).status, 200);
  await until(async () => (await locker.store.reservation(r.id))?.paymentStatus === 'paid', 'the locker holds paid');
  t.equal(sim.pulseCount, pulses, 'nothing opened yet');

  t.match(await (await api(`open/${token}`)).json(), { state: 'ready' });
  t.equal((await api(`open/${token}/open`, 'POST')).status, 202);
  await until(() => sim.pulseCount === pulses + 1, 'one pulse');
  await until(() => locker.hardware.bank.doorState(10) === 'open', 'door 10 open');
  await until(async () => ((await (await api(`open/${token}`)).json()) as { state: string }).state === 'opened', 'the page says opened');
  t.equal(sim.pulseCount, pulses + 1, 'exactly one pulse');

  t.notOk(lines.some((line) => line.includes(token)), `the token is in no log line (${lines.length} lines)`);
  t.notOk(lines.some((line) => line.includes('/open/')), 'nor any open link');
});

t.test('staff put the key in later (an update gives the pickup a compartment): one pickup message then, none for later edits or for a drop-off', async (t) => {
  const backOffice = await startReferenceBackOffice({ dataDir: scratchDir(t), port: 0, audience: 'pickup-message', logger: createSilentLogger(), timeZone: 'Europe/Oslo', demo: false, pinCost: TEST_PIN_COST });
  t.teardown(() => backOffice.stop());
  const jwk = createPublicKey(generateKeyPairSync('ed25519').privateKey).export({ format: 'jwk' });
  await backOffice.registerUnit('unit-pm', { ...jwk, alg: 'EdDSA' });
  const service = backOffice.service;
  const sent = () => (service.messenger as unknown as { all(): Sent[] }).all();
  const r = await service.createReservation({ unitId: 'unit-pm', kind: 'pickup', workOrder: 'WO-7002', plate: 'EL 70020', driverName: 'Kari Later', phones: [], email: 'kari@example.com' });
  await service.createReservation({ unitId: 'unit-pm', kind: 'dropoff', workOrder: 'WO-7003', plate: 'EL 70030', driverName: 'Per Drop', phones: ['+4791177003'] });
  t.same(sent(), [], 'nothing sent for a booked pickup or a drop-off');
  await service.updateReservation(r.id, { compartmentId: 4 });
  t.match(sent(), [{ channel: 'email', to: 'kari@example.com', subject: 'Ready for pickup: WO-7002', link: /\/open\/[A-Za-z0-9_-]{43}$/, body: /compartment 4 .*Open it from your phone: http/ }], 'one e-mail (no phone on the order), no payment due');
  await service.updateReservation(r.id, { driverName: 'Kari Later-Nordmann' });
  t.equal(sent().length, 1, 'an edit of a ready pickup sends nothing more');
  // Sent again on request: a new link, the first still valid.
  t.same(await service.resendPickupMessage(r.id), { channel: 'email' });
  t.equal(sent().length, 2);
  t.not(sent()[1]?.link, sent()[0]?.link, 'a new link');
  await t.rejects(service.resendPickupMessage('no-such-order'), { code: 'NOT_FOUND' });
});
