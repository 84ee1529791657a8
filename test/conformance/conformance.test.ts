/**
 * The conformance kit in CI: the reference back office passes every rule of docs/protocol.md,
 * and deliberately broken back offices fail the rules they break (the kit is not a rubber stamp).
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { startReferenceBackOffice } from '../reference-backoffice/start.js';
import { MiniBackOffice } from '../helpers/mini-back-office.js';
import { main } from './cli.js';
import type { SimulatedProvider } from '../reference-backoffice/payment-provider.js';
import { reservations, type MasterReservation } from '../reference-backoffice/store.js';
import type { KitCustomer } from './kit-customer.js';
import { runConformance, type Report } from './kit.js';
import { KitUnit } from './kit-unit.js';
import { RULES } from './rules.js';

const AUDIENCE = 'conformance-audience';

type ReferenceBackOffice = Awaited<ReturnType<typeof startReferenceBackOffice>>;

function startReference(t: Test): Promise<ReferenceBackOffice> {
  return startReferenceBackOffice({
    dataDir: t.testdir(),
    port: 0,
    audience: AUDIENCE,
    logger: createSilentLogger(),
    timeZone: 'Europe/Oslo',
    demo: false,
    pinCost: { N: 1024, r: 1, p: 1 },
    pingIntervalMs: 60_000,
  }).then((backOffice) => {
    t.teardown(() => backOffice.stop());
    return backOffice;
  });
}

/** Staff make a pickup for the kit's unit: its key in compartment 3, 1 500.00 NOK due. */
async function pickupToPay(backOffice: ReferenceBackOffice, unitId: string, workOrder: string): Promise<string> {
  const r = await backOffice.service.createReservation({ unitId, kind: 'pickup', workOrder, plate: 'EL12345', driverName: 'Kit Customer', phones: ['+4791234567'], compartmentId: 3, paymentRequired: true, paymentAmount: 150_000, currency: 'NOK' });
  return r.id;
}

/**
 * The customer at the reference back office: approves on the simulated provider without its
 * notice reaching the back office (a lost webhook), and presses the order's phone link.
 */
function referenceCustomer(backOffice: ReferenceBackOffice): KitCustomer {
  const links = new Map<string, string>();
  return {
    async payUnnoticed(link) {
      const providerId = new URL(link).pathname.split('/').pop() as string;
      await (backOffice.service.provider as SimulatedProvider).approve(providerId);
    },
    async pressOpen(reservationId) {
      const url = links.get(reservationId) ?? (await backOffice.service.openLinks.issue(reservationId)).url;
      links.set(reservationId, url);
      await backOffice.service.openLinks.open(url.split('/').pop() as string).catch(() => undefined);
    },
  };
}

function verdicts(report: Report): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
}

t.test('the reference back office passes every rule', async (t) => {
  const backOffice = await startReference(t);
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const enrolment = new KitUnit('kit-unit-1', privateKey, AUDIENCE).enrolment();
  await backOffice.registerUnit(enrolment.unitId, enrolment.publicJwk);

  for (const round of [1, 2]) {
    // A second run against the same back office: the kit picks up where the unit's stream stands.
    await pickupToPay(backOffice, 'kit-unit-1', `WO-KIT-${round}`);
    const report = await runConformance({ url: backOffice.lockerUrl, unitId: 'kit-unit-1', privateKey, audience: AUDIENCE, timeoutMs: 10_000, customer: referenceCustomer(backOffice) });
    t.equal(report.results.length, RULES.length, `round ${round}: every rule judged`);
    for (const result of report.results) t.equal(result.verdict, 'pass', `round ${round}: ${result.id} ${result.title}: ${result.detail}`);
    t.equal(report.passed, RULES.length);
  }
  t.comment(`rules: ${RULES.map((r) => r.id).join(', ')}`);

  // The command line: the same, as JSON, exit code 0.
  const dir = t.testdir();
  const keyPath = join(dir, 'kit.pem');
  await writeFile(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const out: string[] = [];
  // Without a customer (the command line has none): those three rules are not checked, each with its reason.
  const code = await main(['--url', backOffice.lockerUrl, '--unit-id', 'kit-unit-1', '--unit-key', keyPath, '--audience', AUDIENCE, '--json'], (s) => out.push(s), () => undefined);
  t.equal(code, 0, 'exit code 0');
  const cli = JSON.parse(out.join('')) as Report;
  t.equal(cli.failed, 0);
  t.same(cli.results.filter((r) => r.verdict === 'skip').map((r) => r.id), ['P-PAY-1', 'P-RCPT-1', 'P-OPEN-1'], 'only the customer rules are not checked');
  for (const r of cli.results.filter((x) => x.verdict === 'skip')) t.match(r.detail, /^not checked: .+/, `${r.id}: ${r.detail}`);
});

t.test('a back office that acknowledges beyond what was sent and never answers a help call fails those rules', async (t) => {
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const enrolment = new KitUnit('kit-unit-2', privateKey, AUDIENCE).enrolment();
  const broken = new MiniBackOffice({ publicKeyJwk: enrolment.publicJwk, unitId: 'kit-unit-2', audience: AUDIENCE, ackBeyondBy: 3 });
  await broken.listen();
  t.teardown(() => broken.close());
  // It never sends what it lacks: the short timeout only bounds how long the kit waits for it.
  const report = await runConformance({ url: broken.url, unitId: 'kit-unit-2', privateKey, audience: AUDIENCE, timeoutMs: 500 });
  const v = verdicts(report);
  t.equal(v['P-EVT-4'], 'fail', `P-EVT-4: ${report.results.find((r) => r.id === 'P-EVT-4')?.detail}`);
  t.match(report.results.find((r) => r.id === 'P-EVT-4')?.detail, /ack of seq \d+, not sent on that connection/);
  t.equal(v['P-HELP-1'], 'fail', 'P-HELP-1: no help.update received');
  t.equal(v['P-EVT-6'], 'fail', 'P-EVT-6: it never refuses anything');
  t.equal(v['P-INV-1'], 'fail', 'P-INV-1: it never pages');
  t.equal(v['P-AUTH-8'], 'fail', 'P-AUTH-8: it lets the same token connect again');
  t.equal(v['P-AUTH-9'], 'fail', 'P-AUTH-9: it keeps both connections of the unit');
  t.equal(v['P-AUTH-1'], 'pass', 'what it does right still passes');
  t.equal(v['P-SESS-1'], 'pass');
  t.equal(v['P-AUTH-4'], 'pass');

  const out: string[] = [];
  const dir = t.testdir();
  const keyPath = join(dir, 'kit.pem');
  await writeFile(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const code = await main(['--url', broken.url, '--unit-id', 'kit-unit-2', '--unit-key', keyPath, '--audience', AUDIENCE, '--timeout-ms', '500'], (s) => out.push(s), () => undefined);
  t.equal(code, 1, 'exit code 1');
  t.match(out.join('\n'), /^FAIL  P-EVT-4 /m, 'the text report names the failed rule');
});

t.test('a back office that refuses the staff-side events (remote open, its alarm) fails P-STAFF-1 (the reference back office passes it: first test)', async (t) => {
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const enrolment = new KitUnit('kit-unit-3', privateKey, AUDIENCE).enrolment();
  const refusing = new MiniBackOffice({ publicKeyJwk: enrolment.publicJwk, unitId: 'kit-unit-3', audience: AUDIENCE, nackTypes: ['alarm.remote-open-throttled'] });
  await refusing.listen();
  t.teardown(() => refusing.close());
  const report = await runConformance({ url: refusing.url, unitId: 'kit-unit-3', privateKey, audience: AUDIENCE, timeoutMs: 500 });
  t.equal(verdicts(report)['P-STAFF-1'], 'fail');
  t.match(report.results.find((r) => r.id === 'P-STAFF-1')?.detail, /refused: this back office does not take this event/);
});

t.test('the command line: usage errors, and the enrolment record', async (t) => {
  const err: string[] = [];
  t.equal(await main(['--url', 'wss://x/locker'], () => undefined, (s) => err.push(s)), 2);
  t.match(err.join(''), /--unit-id is required/);
  const dir = t.testdir();
  await writeFile(join(dir, 'rsa.pem'), generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
  t.equal(await main(['--unit-id', 'u', '--unit-key', join(dir, 'rsa.pem'), '--print-enrolment'], () => undefined, (s) => err.push(s)), 2);
  t.match(err.join(''), /an rsa key, not Ed25519/);
  const key = generateKeyPairSync('ed25519').privateKey;
  await writeFile(join(dir, 'ed.pem'), key.export({ format: 'pem', type: 'pkcs8' }));
  const out: string[] = [];
  t.equal(await main(['--unit-id', 'u-1', '--unit-key', join(dir, 'ed.pem'), '--print-enrolment'], (s) => out.push(s), () => undefined), 0);
  t.match(JSON.parse(out.join('')), { unitId: 'u-1', kid: /^[A-Za-z0-9_-]{43}$/, publicJwk: { kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' } });
  const help: string[] = [];
  t.equal(await main(['--help'], (s) => help.push(s), () => undefined), 0);
  t.match(help.join(''), /--unit-key/);
});

/** A run of the kit against a reference back office broken by `breakIt`, with its customer and a pickup to pay. */
async function brokenRun(t: Test, unitId: string, breakIt: (backOffice: ReferenceBackOffice, customer: KitCustomer) => KitCustomer | void): Promise<Report> {
  const backOffice = await startReference(t);
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  await backOffice.registerUnit(unitId, new KitUnit(unitId, privateKey, AUDIENCE).enrolment().publicJwk);
  await pickupToPay(backOffice, unitId, 'WO-BROKEN');
  const customer = referenceCustomer(backOffice);
  const used = breakIt(backOffice, customer) ?? customer;
  return runConformance({ url: backOffice.lockerUrl, unitId, privateKey, audience: AUDIENCE, timeoutMs: 1_500, customer: used });
}

/** Presses the link while the back office's own record says `lie` (a link page that trusts its own idea of the order). */
async function pressLying(customer: KitCustomer, reservationId: string, lie: Partial<MasterReservation>): Promise<void> {
  const get = reservations.get;
  reservations.get = async (q, id) => {
    const r = await get(q, id);
    return r && { ...r, ...lie };
  };
  try {
    await customer.pressOpen(reservationId);
  } finally {
    reservations.get = get;
  }
}

/** The back office's payment desk drops events of `type` (it never acts on them). */
function ignoring(backOffice: ReferenceBackOffice, type: string): void {
  const desk = backOffice.service.payments;
  const onEvent = desk.onEvent.bind(desk);
  desk.onEvent = (tx, event, r) => (event.type === type ? Promise.resolve(0) : onEvent(tx, event, r));
}

const detail = (report: Report, id: string): string => report.results.find((r) => r.id === id)?.detail ?? '';

t.test('a back office that ignores "Check payment" fails P-PAY-1', async (t) => {
  const report = await brokenRun(t, 'kit-unit-4', (backOffice) => ignoring(backOffice, 'payment.check-requested'));
  t.equal(verdicts(report)['P-PAY-1'], 'fail', detail(report, 'P-PAY-1'));
  t.match(detail(report, 'P-PAY-1'), /no newer payment\.status/);
  t.equal(verdicts(report)['P-STAFF-1'], 'pass', 'the rest still passes');
});

t.test('a back office that never answers a QR receipt fails P-RCPT-1', async (t) => {
  const report = await brokenRun(t, 'kit-unit-5', (backOffice) => ignoring(backOffice, 'receipt.requested'));
  t.equal(verdicts(report)['P-PAY-1'], 'pass', detail(report, 'P-PAY-1'));
  t.equal(verdicts(report)['P-RCPT-1'], 'fail', detail(report, 'P-RCPT-1'));
  t.match(detail(report, 'P-RCPT-1'), /no receipt\.link/);
  t.equal(verdicts(report)['P-OPEN-1'], 'pass', detail(report, 'P-OPEN-1'));
});

t.test('a back office whose phone link opens before the locker was told paid fails P-OPEN-1', async (t) => {
  const report = await brokenRun(t, 'kit-unit-6', (_backOffice, customer) => ({
    ...customer,
    // Its link page takes its own word for "paid" (here: always), not what it sent the locker.
    async pressOpen(reservationId) {
      await pressLying(customer, reservationId, { paymentStatus: 'paid' });
    },
  }));
  t.equal(verdicts(report)['P-OPEN-1'], 'fail', detail(report, 'P-OPEN-1'));
  t.match(detail(report, 'P-OPEN-1'), /sent while the unit would refuse it: UNPAID/);
  t.equal(verdicts(report)['P-PAY-1'], 'pass', 'the rest still passes');
});

t.test('a back office that sends the link open again after the key was taken fails P-OPEN-1', async (t) => {
  let pressed = 0;
  const report = await brokenRun(t, 'kit-unit-7', (_backOffice, customer) => ({
    ...customer,
    // Its link page never looks at the order: the third press (after key.collected) is sent too.
    async pressOpen(reservationId) {
      pressed += 1;
      if (pressed < 3) return customer.pressOpen(reservationId);
      await pressLying(customer, reservationId, { status: 'ready' });
    },
  }));
  t.equal(pressed, 3, 'pressed before paying, after paying, after the key was taken');
  t.equal(verdicts(report)['P-OPEN-1'], 'fail', detail(report, 'P-OPEN-1'));
  t.match(detail(report, 'P-OPEN-1'), /NOT_READY/);
});
