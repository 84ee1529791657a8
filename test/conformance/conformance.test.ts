/**
 * The conformance kit in CI: the reference back office passes every rule of docs/protocol.md,
 * and deliberately broken back offices fail the rules they break (the kit is not a rubber stamp).
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { startReferenceBackOffice } from '../reference-backoffice/start.js';
import { MiniBackOffice } from '../helpers/mini-back-office.js';
import { main } from './cli.js';
import { runConformance, type Report } from './kit.js';
import { KitUnit } from './kit-unit.js';
import { RULES } from './rules.js';

const AUDIENCE = 'conformance-audience';

function verdicts(report: Report): Record<string, string> {
  return Object.fromEntries(report.results.map((r) => [r.id, r.verdict]));
}

t.test('the reference back office passes every rule', async (t) => {
  const backOffice = await startReferenceBackOffice({
    dataDir: t.testdir(),
    port: 0,
    audience: AUDIENCE,
    logger: createSilentLogger(),
    timeZone: 'Europe/Oslo',
    demo: false,
    pinCost: { N: 16, r: 1, p: 1 },
    pingIntervalMs: 60_000,
  });
  t.teardown(() => backOffice.stop());
  const privateKey = generateKeyPairSync('ed25519').privateKey;
  const enrolment = new KitUnit('kit-unit-1', privateKey, AUDIENCE).enrolment();
  await backOffice.registerUnit(enrolment.unitId, enrolment.publicJwk);

  for (const round of [1, 2]) {
    // A second run against the same back office: the kit picks up where the unit's stream stands.
    const report = await runConformance({ url: backOffice.lockerUrl, unitId: 'kit-unit-1', privateKey, audience: AUDIENCE, timeoutMs: 10_000 });
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
  const code = await main(['--url', backOffice.lockerUrl, '--unit-id', 'kit-unit-1', '--unit-key', keyPath, '--audience', AUDIENCE, '--json'], (s) => out.push(s), () => undefined);
  t.equal(code, 0, 'exit code 0');
  t.equal((JSON.parse(out.join('')) as Report).passed, RULES.length);
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
