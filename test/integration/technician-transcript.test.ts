/**
 * The technician's session in docs/operations.md is produced here, so it cannot drift: a
 * locker on the simulator (with the reference back office), lockerctl status, selftest (one
 * lock jammed on purpose), open, a refused open, logs. Times, ports and the version are put in
 * a fixed form; anything else that differs from the committed text fails the test.
 *
 * After a deliberate change of the output: `UPDATE_TRANSCRIPT=1 npx tap test/integration/technician-transcript.test.ts`
 * rewrites the block between the markers in docs/operations.md; commit it with the change.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { createLogger } from '../../kiosk/logging.js';
import { JAM_TEST_LOCKS } from '../helpers/locker.js';
import { lockerctl, withAdminLocker, type CtlRun } from '../helpers/lockerctl.js';

const DOC = new URL('../../docs/operations.md', import.meta.url);
const START = '<!-- transcript:start (written by test/integration/technician-transcript.test.ts) -->';
const END = '<!-- transcript:end -->';

/** What varies from run to run, in a fixed form. */
function normalise(text: string, version: string): string {
  return text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '2026-11-28T07:30:00.000Z')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/, up \d+ s,/g, ', up 4 s,')
    .replace(/synchronised yes, -?\d+ ms from/g, 'synchronised yes, 2 ms from')
    .replaceAll(`version ${version},`, 'version 0.1.0,');
}

t.test('a technician session on the simulator', async (t) => {
  const logDir = await mkdtemp(join(tmpdir(), 'kl-transcript-'));
  t.teardown(() => rm(logDir, { recursive: true, force: true }));
  const logFile = join(logDir, 'locker.log');
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true }) });
  const { locker, socket } = await withAdminLocker(t, { locks: JAM_TEST_LOCKS }, { logger });
  // The technician at the locker: each door the self-test opens is closed again; compartment 3's lock is jammed.
  locker.hardware.bank.events.on('openOutcome', (outcome) => {
    if (outcome.ok && outcome.compartment !== 5) locker.hardware.sim?.closeDoor(outcome.compartment - 1);
  });
  locker.hardware.sim?.setJammed(2, true);

  const session: [string, CtlRun][] = [];
  const step = async (shown: string, args: readonly string[]): Promise<CtlRun> => {
    const run = await lockerctl(['--socket', socket, ...args]);
    session.push([shown, run]);
    return run;
  };
  t.equal((await step('lockerctl status', ['status'])).code, 0);
  t.equal((await step('lockerctl selftest 1 2 3 4 --timeout 30', ['selftest', '1', '2', '3', '4', '--timeout', '30'])).code, 7, 'the jam is a fault');
  t.equal((await step('lockerctl open 5 --reason "fitting a new door switch"', ['open', '5', '--reason', 'fitting a new door switch'])).code, 0);
  t.equal((await step('lockerctl open 17 --reason "lock check"', ['open', '17', '--reason', 'lock check'])).code, 3);
  t.equal((await step('lockerctl open 6', ['open', '6'])).code, 2);
  t.equal((await step('lockerctl logs -n 4', ['logs', '--file', logFile, '-n', '4'])).code, 0);

  const version = String(((await step('lockerctl status --json', ['status', '--json'])).json() as { version: string }).version);
  session.pop();
  const transcript = session
    .map(([shown, run]) => {
      const lines = [`$ ${shown}`, run.stderr.trimEnd(), run.stdout.trimEnd()];
      if (run.code !== 0) lines.push(`(exit ${run.code})`);
      return lines.filter(Boolean).join('\n');
    })
    .join('\n\n');
  const block = `${START}\n\`\`\`console\n${normalise(transcript, version)}\n\`\`\`\n${END}`;

  const doc = await readFile(DOC, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  t.ok(from >= 0 && to > from, 'docs/operations.md has the transcript markers');
  const committed = doc.slice(from, to + END.length);
  if (process.env.UPDATE_TRANSCRIPT === '1') {
    await writeFile(DOC, doc.slice(0, from) + block + doc.slice(to + END.length));
    t.pass('docs/operations.md rewritten');
  } else {
    t.equal(committed, block, 'the committed transcript is what lockerctl prints (UPDATE_TRANSCRIPT=1 rewrites it)');
  }
  t.notMatch(block, /123456|Nordmann|@example/, 'no personal data in the transcript');
});
