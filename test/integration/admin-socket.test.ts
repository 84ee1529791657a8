/**
 * The admin socket itself, spoken to byte by byte: mode 0660 and its group, every bad request
 * answered BAD_REQUEST with nothing changed, a client that goes silent or away mid-request
 * does not hurt the service, and nothing a request carries reaches the log.
 */
import { stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { REDACTED_PATHS } from '../../kiosk/logging.js';
import { startAdminSocket } from '../../kiosk/admin/socket-server.js';
import { AdminOperations } from '../../kiosk/admin/operations.js';
import { MAX_REQUEST_BYTES } from '../../kiosk/admin/protocol.js';
import { shortSocketPath, withAdminLocker } from '../helpers/lockerctl.js';
import { until } from '../helpers/locker.js';

/** Sends raw bytes, collects every line until the service closes the connection. */
function exchange(path: string, bytes: string | Buffer, options: { end?: boolean } = {}): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let text = '';
    socket.on('connect', () => {
      socket.write(bytes);
      if (options.end) socket.end();
    });
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)));
  });
}

t.test('mode 0660, the configured group when it exists; removed at stop', async (t) => {
  const { locker, socket } = await withAdminLocker(t);
  const info = await stat(socket);
  t.ok(info.isSocket());
  t.equal(info.mode & 0o777, 0o660, 'owner and group may connect, nobody else');
  t.equal(locker.adminSocket, socket);

  // A group file that names the test's own group as keylocker-admin: the socket gets that gid.
  const path = await shortSocketPath(t);
  const groupFile = join(t.testdir(), 'group');
  const gid = process.getgid?.() ?? 0;
  await writeFile(groupFile, `root:x:0:\nkeylocker-admin:x:${gid}:tech\n`);
  const ops = new AdminOperations({ ...portsOf(locker) });
  const admin = await startAdminSocket({ path, group: 'keylocker-admin', operations: ops, logger: pino({ level: 'silent' }), groupFile });
  t.equal(admin?.group, 'keylocker-admin');
  t.equal((await stat(path)).gid, gid);
  await admin?.close();
  await t.rejects(stat(path), { code: 'ENOENT' }, 'the socket file is removed at stop');

  const none = await startAdminSocket({ path, group: 'no-such-group', operations: ops, logger: pino({ level: 'silent' }), groupFile });
  t.equal(none?.group, null, 'a missing group leaves the service user only');
  await none?.close();

  const noDir = await startAdminSocket({ path: join(t.testdir(), 'missing', 'admin.sock'), group: 'x', operations: ops, logger: pino({ level: 'silent' }) });
  t.equal(noDir, null, 'no directory for it (a developer machine): no socket, the locker runs on');
});

t.test('bad requests: a clear error, nothing changed, the service goes on', async (t) => {
  const { locker, socket } = await withAdminLocker(t);
  const auditBefore = await locker.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM audit_log');
  const pulses: number[] = [];
  locker.hardware.bank.events.on('pulseStarted', (id) => pulses.push(id));
  const cases: [string, string | RegExp][] = [
    ['not json\n', 'the request is not JSON'],
    ['[1,2]\n', 'the request must be a JSON object'],
    ['{"op":"explode"}\n', 'op must be one of status, open, selftest, quarantine.clear, lockout.clear'],
    ['{"op":"open"}\n', /args: /],
    ['{"op":"open","args":{"compartment":3}}\n', /args\.reason/],
    ['{"op":"open","args":{"compartment":"3","reason":"lock check"}}\n', /args\.compartment/],
    ['{"op":"open","args":{"compartment":3.5,"reason":"lock check"}}\n', /args\.compartment/],
    ['{"op":"open","args":{"compartment":3,"reason":"lock check","force":true}}\n', 'unknown field "args.force"'],
    ['{"op":"status","extra":1}\n', 'unknown field "extra"'],
    ['{"op":"selftest","args":{"timeoutMs":5}}\n', /args\.timeoutMs/],
    ['{"op":"selftest","args":{"compartments":[1,"2"]}}\n', /args\.compartments\.1/],
  ];
  for (const [request, message] of cases) {
    const replies = await exchange(socket, request);
    t.equal(replies.length, 1, `one reply to ${request.trim()}`);
    t.match(replies[0], { ok: false, error: { code: 'BAD_REQUEST', message } }, request.trim());
  }
  const long = await exchange(socket, `{"op":"status","pad":"${'x'.repeat(MAX_REQUEST_BYTES)}`);
  t.match(long, [{ ok: false, error: { code: 'BAD_REQUEST', message: `the request is longer than ${MAX_REQUEST_BYTES} bytes` } }]);
  const noNewline = await exchange(socket, '{"op":"status"}', { end: true });
  t.match(noNewline, [{ ok: true, result: { unitId: 'locker-demo' } }], 'a request ended by half-close is still read');
  const silent = await exchange(socket, '', { end: true });
  t.same(silent, [], 'a client that says nothing gets nothing');

  // A client that goes away mid-selftest: the test finishes, the service is fine.
  const gone = createConnection(socket);
  await new Promise<void>((resolve) => gone.on('connect', () => resolve()));
  gone.write('{"op":"selftest","args":{"compartments":[1],"timeoutMs":1000}}\n');
  await until(() => pulses.length > 0, 'the selftest to pulse');
  gone.destroy();
  await until(async () => (await locker.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE phase = 'outcome' AND actor = 'technician'"))?.n === 1, 'the selftest outcome to be recorded');
  t.same(pulses, [1], 'only the selftest pulsed; no bad request moved a lock');
  t.equal((await locker.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM audit_log'))?.n, (auditBefore?.n ?? 0) + 2, 'the bad requests wrote nothing');
  const after = await exchange(socket, '{"op":"status"}\n');
  t.match(after, [{ ok: true, result: { boards: [{ online: true }] } }], 'the service still answers');
});

t.test('a second selftest while one runs is BUSY; progress lines come before the reply', async (t) => {
  const { locker, socket } = await withAdminLocker(t);
  const first = exchange(socket, '{"op":"selftest","args":{"compartments":[2],"timeoutMs":5000}}\n');
  await until(() => locker.hardware.bank.doorState(2) === 'open', 'compartment 2 to open');
  t.match(await exchange(socket, '{"op":"selftest","args":{"compartments":[3]}}\n'), [{ ok: false, error: { code: 'BUSY' } }]);
  t.match(await exchange(socket, '{"op":"open","args":{"compartment":3,"reason":"lock check"}}\n'), [{ ok: false, error: { code: 'BUSY' } }]);
  // Closed once the bank has its verdict (the outcome is audited before the wait for the door).
  await until(async () => (await locker.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM audit_log WHERE phase = 'outcome'"))?.n === 1, 'the open to be confirmed');
  locker.hardware.sim?.closeDoor(1);
  const lines = await first;
  t.match(lines, [
    { progress: { compartment: 2, phase: 'opening' } },
    { progress: { compartment: 2, phase: 'open' } },
    { progress: { compartment: 2, phase: 'done', result: 'confirmed' } },
    { ok: true, result: { confirmed: 1, faults: 0 } },
  ]);
});

t.test("a technician's reason never reaches the log", async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink);
  const { socket } = await withAdminLocker(t, {}, { logger });
  const reason = 'customer Kari Nordmann +4791234567 asked';
  t.match(await exchange(socket, JSON.stringify({ op: 'open', args: { compartment: 4, reason } }) + '\n'), [{ ok: true }]);
  await exchange(socket, JSON.stringify({ op: 'open', args: { compartment: 99, reason } }) + '\n');
  await exchange(socket, JSON.stringify({ op: 'open', args: { compartment: 5, reason: 'x', note: reason } }) + '\n');
  const log = lines.join('');
  t.match(log, /technician opened a compartment/, 'the open is logged');
  t.notMatch(log, /Nordmann|4791234567/, 'without the reason');
});

function portsOf(locker: Awaited<ReturnType<typeof withAdminLocker>>['locker']) {
  return {
    config: locker.config,
    version: '0.0.0',
    db: locker.db,
    store: locker.store,
    bank: locker.hardware.bank,
    lockouts: locker.lockouts,
    sync: locker.sync,
    screens: locker.journeys.events,
    clock: { now: () => Date.now(), setTimeout: (f: () => void, ms: number) => setTimeout(f, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) },
    wallClock: () => new Date(),
    startedAt: Date.now(),
    logger: pino({ level: 'silent' }),
  };
}
