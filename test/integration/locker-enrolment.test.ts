/**
 * Enrolment a technician can do (docs/protocol.md, "Enrolment"): at first start the locker logs
 * its enrolment record (public JWK with kid), and /health shows it; and a locker with a back
 * office configured loads no demo data of its own: every reservation comes from that back office.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { decodeConfig } from '../../kiosk/config/load.js';
import { startLocker } from '../../kiosk/locker.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { loadOrCreateIdentity } from '../../kiosk/sync/identity.js';
import { TEST_LOCKS } from '../helpers/locker.js';
import { MiniBackOffice, waitFor } from '../helpers/mini-back-office.js';

const SMALL = { server: { host: '127.0.0.1', port: 0 }, locks: TEST_LOCKS };

t.test('first start: the enrolment record is in the log and on /health, its kid the thumbprint the tokens carry', async (t) => {
  const dir = t.testdir();
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) }));
  const locker = await startLocker({ config: decodeConfig({ dataDir: dir, unitId: 'oslo-ryen-1', ...SMALL }, null), logger });
  t.teardown(() => locker.stop());
  const identity = await loadOrCreateIdentity(dir, 'oslo-ryen-1');
  const expected = { unitId: 'oslo-ryen-1', kid: identity.kid, publicJwk: { kty: 'OKP', crv: 'Ed25519', x: identity.publicKeyJwk.x, kid: identity.kid, alg: 'EdDSA', use: 'sig' } };

  const logged = lines.find((line) => line['msg'] === 'new unit key made: enrol this public JWK with the back office');
  t.same(logged?.['enrolment'], expected, 'the log holds the record a technician copies');
  t.equal(logged?.['fingerprint'], identity.fingerprint);
  t.notOk(JSON.stringify(lines).includes('PRIVATE KEY'), 'never the private key');

  const health = (await (await fetch(locker.urls.health)).json()) as { unitKey: unknown };
  t.same(health.unitKey, { ...expected, fingerprint: identity.fingerprint }, '/health shows it');
});

t.test('with backOffice.url set, no demo data loads: the locker holds only what its back office sends', async (t) => {
  const dir = t.testdir();
  const identity = await loadOrCreateIdentity(dir, 'locker-demo');
  const bo = new MiniBackOffice({ publicKeyJwk: identity.publicKeyJwk, unitId: 'locker-demo' });
  await bo.listen();
  t.teardown(() => bo.close());
  const locker = await startLocker({ config: decodeConfig({ dataDir: dir, ...SMALL, backOffice: { url: bo.url } }, null), logger: createSilentLogger() });
  t.teardown(() => locker.stop());
  const sync = locker.sync;
  if (!sync) throw new Error('no link');
  if (sync.state !== 'online') await waitFor(sync.events, 'state', (s) => (s === 'online' ? true : undefined), 10_000, 'online');
  t.equal((await locker.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM reservations'))?.n, 0, 'no reservation but what the back office sends');
  const hello = bo.connections[0]?.received.find((m) => m.type === 'hello');
  t.match(hello, { type: 'hello', unitId: 'locker-demo', timeZone: 'Europe/Oslo', inventory: { count: 0 } });

  // /health shows what the back office refused (nack), as the technician needs it.
  const refused = waitFor(sync.events, 'refused', (seq) => seq, 5000, 'the refusal');
  await locker.store.transaction((tx) => tx.event('compartment.left-open', { compartment: 1, openForS: 130 }));
  await bo.nextMessage((m) => m.type === 'event' && m.event === 'compartment.left-open');
  const seq = (await locker.db.get<{ seq: number }>("SELECT seq FROM outbox WHERE type = 'compartment.left-open'"))?.seq ?? 0;
  bo.send({ v: 1, type: 'nack', seq, code: 'CONFLICT', reason: 'no such door here' });
  await refused;
  const health = (await (await fetch(locker.urls.health)).json()) as { backOffice: Record<string, unknown> };
  t.match(health.backOffice, { provisioned: true, state: 'online', refusedEvents: { count: 1, latest: [{ seq, type: 'compartment.left-open', code: 'CONFLICT', reason: 'no such door here' }] } });
  t.type(health.backOffice['clockOffsetMs'], 'number', 'and how far its clock is from the back office');
});
