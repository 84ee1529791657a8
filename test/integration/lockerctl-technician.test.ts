/**
 * lockerctl status, open, selftest, quarantine clear and lockout clear against a running locker on the simulator
 * (with the reference back office), through the admin socket; status also against the same
 * locker stopped. Bad input of every kind: refused with its exit code, nothing moved.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { EXIT } from '../../kiosk/cli/output.js';
import { act, JAM_TEST_LOCKS, ok, recordedEvents, until, type TestLocker } from '../helpers/locker.js';
import { lockerctl, withAdminLocker } from '../helpers/lockerctl.js';

interface AuditRow {
  compartment_id: number;
  phase: string;
  actor: string;
  result: string | null;
  detail: string;
  intent_id: number | null;
  id: number;
}

const technicianAudit = (locker: TestLocker): Promise<AuditRow[]> =>
  locker.db.all<AuditRow>("SELECT id, compartment_id, phase, actor, result, detail, intent_id FROM audit_log WHERE actor = 'technician' ORDER BY id");

/** Pulses the simulator was asked for, per compartment (the bank's pulseStarted events). */
function countPulses(locker: TestLocker): Map<number, number> {
  const pulses = new Map<number, number>();
  locker.hardware.bank.events.on('pulseStarted', (id) => pulses.set(id, (pulses.get(id) ?? 0) + 1));
  return pulses;
}

/** The technician at the locker: every door the bank saw open is closed again. */
function closeEveryDoor(locker: TestLocker, except: readonly number[] = []): void {
  locker.hardware.bank.events.on('openOutcome', (outcome) => {
    if (outcome.ok && !except.includes(outcome.compartment)) locker.hardware.sim?.closeDoor(outcome.compartment - 1);
  });
}

t.test('status: unit, version, boards, every compartment, link with outbox lag, clock', async (t) => {
  const { locker, ctl } = await withAdminLocker(t);
  const run = await ctl(['status', '--json']);
  t.equal(run.code, EXIT.OK, run.stderr);
  const status = run.json();
  t.match(status, {
    ok: true,
    command: 'status',
    service: 'running',
    unitId: 'locker-demo',
    version: locker.config && /\d+\.\d+\.\d+/,
    hardware: 'sim',
    boards: [{ board: 0, online: true, lastError: null }],
    backOffice: { provisioned: true, state: 'online', outboxPending: Number, refusedEvents: 0 },
    clock: { timeZone: 'Europe/Oslo', synchronised: true },
    pinLockout: { lockerLockedForS: 0, reservationsLocked: 0 },
  });
  const compartments = status.compartments as { id: number; state: string; door: string; content: string }[];
  t.equal(compartments.length, 16, 'every compartment');
  t.same(compartments.find((c) => c.id === 16), { id: 16, state: 'occupied', door: 'closed', content: 'key', reservationId: 'demo-pickup-paid', quarantineReason: null, inJourney: false });
  t.match(compartments.find((c) => c.id === 1), { state: 'free', door: 'closed', content: 'empty' });

  // The outbox lag: with the back office gone, events wait and their age shows.
  await locker.backOffice.stop();
  await until(() => locker.sync.state !== 'online', 'the link to drop');
  locker.hardware.sim?.forceDoor(4);
  await until(async () => (await locker.store.compartment(5))?.state === 'quarantined', 'the forced door to be recorded');
  const offline = (await ctl(['status', '--json'])).json();
  t.match(offline.backOffice, { state: /connecting|offline/ });
  t.ok((offline.backOffice as { outboxPending: number }).outboxPending >= 1, 'the forced door waits in the outbox');
  t.type((offline.backOffice as { outboxLagS: unknown }).outboxLagS, 'number', 'with the age of the oldest event');
  t.match((offline.compartments as unknown[])[4], { id: 5, state: 'quarantined', door: 'open', quarantineReason: 'door opened without a command' });

  const human = await ctl(['status']);
  t.equal(human.code, EXIT.OK);
  t.match(human.stdout, /^unit locker-demo, version \S+, up \d+ s, hardware sim$/m);
  t.match(human.stdout, /^5\s+quarantined\s+open\s+uncertain \(quarantined\)\s+door opened without a command$/m);
  t.match(human.stdout, /^outbox:\s+\d+ pending, oldest \d+ s old$/m);
});

t.test('status with the service stopped reads a copy of the store', async (t) => {
  const { locker, socket } = await withAdminLocker(t);
  locker.hardware.sim?.forceDoor(2);
  await until(async () => (await locker.store.compartment(3))?.state === 'quarantined', 'the forced door to be recorded');
  const root = join(locker.config.dataDir, 'root');
  await mkdir(join(root, 'etc', 'keylocker'), { recursive: true });
  await writeFile(join(root, 'etc', 'keylocker', 'locker.json'), JSON.stringify({ dataDir: locker.config.dataDir, unitId: 'oslo-1', admin: { socketPath: socket } }));
  await locker.stop();
  const run = await lockerctl(['--root', root, 'status', '--json']);
  t.equal(run.code, EXIT.OK, run.stdout);
  t.match(run.stderr, /not running: reading the store/);
  const status = run.json();
  t.match(status, { service: 'stopped', unitId: 'oslo-1', boards: [], backOffice: { state: 'stopped' } });
  t.match((status.compartments as unknown[])[2], { id: 3, state: 'quarantined', door: 'unknown' });
  t.match((status.compartments as unknown[])[15], { id: 16, state: 'occupied', content: 'key' });
  const human = await lockerctl(['--root', root, 'status']);
  t.match(human.stdout, /service STOPPED \(read from the store\)/);
});

t.test('open N --reason: audited, the door opens; refused without a reason, for an unknown compartment, mid-journey', async (t) => {
  const { locker, ctl } = await withAdminLocker(t);
  const pulses = countPulses(locker);

  const run = await ctl(['open', '3', '--reason', 'replacing the lock', '--json']);
  t.equal(run.code, EXIT.OK, run.stderr);
  t.match(run.json(), { ok: true, compartment: 3, opened: true, result: 'confirmed', pulses: 1, state: 'free' });
  t.equal(locker.hardware.bank.doorState(3), 'open', 'the door is open');
  const audit = await technicianAudit(locker);
  t.equal(audit.length, 2, 'intent and outcome');
  t.match(audit[0], { compartment_id: 3, phase: 'intent', actor: 'technician', result: null });
  t.same(JSON.parse(audit[0]?.detail ?? '{}'), { purpose: 'service', reason: 'replacing the lock' });
  t.match(audit[1], { compartment_id: 3, phase: 'outcome', result: 'opened', intent_id: audit[0]?.id });
  locker.hardware.sim?.closeDoor(2);
  await until(() => locker.hardware.bank.doorState(3) === 'closed', 'the door to close');
  t.equal((await locker.store.compartment(3))?.state, 'free', 'a door the technician opened is not a forced one');

  const missing = await ctl(['open', '4']);
  t.equal(missing.code, EXIT.USAGE, 'no --reason: a usage error');
  t.match(missing.stderr, /required option '--reason <text>' not specified/);
  const unknown = await ctl(['open', '17', '--reason', 'lock check', '--json']);
  t.equal(unknown.code, EXIT.REFUSED);
  t.match(unknown.json(), { ok: false, error: { code: 'REFUSED', serviceError: 'UNKNOWN_COMPARTMENT', message: /no compartment 17 \(this locker has 1-16\)/ } });
  const notNumber = await ctl(['open', 'three', '--reason', 'lock check']);
  t.equal(notNumber.code, EXIT.USAGE);
  t.match(notNumber.stderr, /a compartment number/);
  const shortReason = await ctl(['open', '4', '--reason', ' x ', '--json']);
  t.equal(shortReason.code, EXIT.REFUSED);
  t.match(shortReason.json(), { error: { code: 'BAD_INPUT', message: /args\.reason: must be at least 3 characters/ } });
  const longReason = await ctl(['open', '4', '--reason', 'y'.repeat(201)]);
  t.equal(longReason.code, EXIT.REFUSED);
  t.match(longReason.stderr, /at most 200 characters/);

  // A customer mid-journey: the drop-off's compartment is open and not yet confirmed.
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  await ok(t, locker, { type: 'pin', pin: '123456' });
  await ok(t, locker, { type: 'details', phone: null, remark: null });
  await ok(t, locker, { type: 'confirm' });
  const [inflight] = await locker.store.inflight();
  t.ok(inflight, 'the drop-off is in flight');
  const id = inflight?.compartmentId ?? 0;
  const before = pulses.get(id) ?? 0;
  const busy = await ctl(['open', String(id), '--reason', 'lock check', '--json']);
  t.equal(busy.code, EXIT.REFUSED);
  t.match(busy.json(), { error: { serviceError: 'IN_USE', message: `compartment ${id} is in a customer's journey right now: wait until it is finished` } });
  t.equal(pulses.get(id) ?? 0, before, 'no pulse');
  t.equal((await technicianAudit(locker)).length, 2, 'nothing audited for the refusals');
  t.equal(pulses.get(4) ?? 0, 0, 'compartment 4 was never pulsed by any refused request');
});

t.test('open reports a jammed lock with exit 7', async (t) => {
  const { locker, ctl } = await withAdminLocker(t, { locks: JAM_TEST_LOCKS });
  locker.hardware.sim?.setJammed(5, true);
  const run = await ctl(['open', '6', '--reason', 'lock check', '--json']);
  t.equal(run.code, EXIT.FAULTS_FOUND);
  t.match(run.json(), { ok: true, compartment: 6, opened: false, result: 'JAMMED', pulses: 2 });
  t.match((await technicianAudit(locker)).at(-1), { phase: 'outcome', result: 'JAMMED' });
});

t.test('selftest on the simulator: confirmed, not-closed, jammed, no door signal, board error, skipped', async (t) => {
  const wiring = Array.from({ length: 16 }, (_, index) => ({ id: index + 1, lock: { board: 0, channel: index }, door: index === 3 ? null : { board: 0, channel: index } }));
  const { locker, ctl } = await withAdminLocker(t, { hardware: { kind: 'sim', compartments: wiring }, locks: JAM_TEST_LOCKS });
  closeEveryDoor(locker, [3]);
  locker.hardware.sim?.setJammed(1, true);

  const run = await ctl(['selftest', '1', '2', '3', '4', '16', '--timeout', '1', '--json']);
  t.equal(run.code, EXIT.FAULTS_FOUND, 'faults found: exit 7');
  const result = run.json();
  t.match(result.compartments, [
    { compartment: 1, result: 'confirmed', pulses: 1, detail: /closed again/ },
    { compartment: 2, result: 'jammed', pulses: 2 },
    { compartment: 3, result: 'not-closed', pulses: 1, detail: /not closed within 1 s/ },
    { compartment: 4, result: 'no-door-signal', pulses: 1 },
    { compartment: 16, result: 'skipped', pulses: 0, detail: /occupied: name it with --include-occupied/ },
  ]);
  t.match(result, { confirmed: 1, faults: 3 });
  t.match(run.stderr, /compartment 1: opening\ncompartment 1: open: close the door\ncompartment 1: confirmed/);
  t.equal((await technicianAudit(locker)).filter((row) => row.phase === 'intent').length, 4, 'each open audited (the skipped one not)');

  locker.hardware.sim?.closeDoor(2);
  await until(() => locker.hardware.bank.doorState(3) === 'closed', 'door 3 closed');
  locker.hardware.sim?.setOffline(true);
  await until(() => !locker.hardware.bank.boardStatus()[0]?.online, 'the board to go offline');
  const offline = await ctl(['selftest', '1', '--timeout', '1']);
  t.equal(offline.code, EXIT.FAULTS_FOUND);
  t.match(offline.stdout, /^1\s+board-error\s+0\s+/m);
  locker.hardware.sim?.setOffline(false);
  await until(() => Boolean(locker.hardware.bank.boardStatus()[0]?.online), 'the board to answer');

  const allGood = await ctl(['selftest', '5', '6']);
  t.equal(allGood.code, EXIT.OK, allGood.stderr);
  t.match(allGood.stdout, /^#\s+result\s+pulses\s+detail\n5\s+confirmed\s+1\s+door opened after 1 pulse\(s\); closed again\n6\s+confirmed/m);
  t.match(allGood.stdout, /2 confirmed, 0 fault\(s\)/);

  const occupied = await ctl(['selftest', '16', '--include-occupied', '--json']);
  t.match(occupied.json().compartments, [{ compartment: 16, result: 'confirmed' }], 'a named compartment with a key, when asked');
});

t.test('selftest: bad input is refused before any door opens', async (t) => {
  const { locker, ctl } = await withAdminLocker(t);
  const pulses = countPulses(locker);
  const unknown = await ctl(['selftest', '1', '17', '--json']);
  t.equal(unknown.code, EXIT.REFUSED);
  t.match(unknown.json(), { error: { serviceError: 'UNKNOWN_COMPARTMENT', message: /no compartment 17/ } });
  for (const args of [['selftest', 'x'], ['selftest', '--timeout', '0'], ['selftest', '--timeout', 'soon'], ['selftest', '--bogus'], ['selftest', '0']]) {
    const run = await ctl(args);
    t.equal(run.code, EXIT.USAGE, `${args.join(' ')}: usage error`);
  }
  t.equal(pulses.size, 0, 'no lock was pulsed');
  t.equal((await technicianAudit(locker)).length, 0);
});

t.test('lockout clear lifts the PIN lockout the way lockout.lift does', async (t) => {
  const { locker, ctl } = await withAdminLocker(t);
  await ok(t, locker, { type: 'start', journey: 'dropoff' });
  for (const pin of ['900001', '900002', '900003', '900004', '900005']) await act(locker, { type: 'pin', pin });
  const locked = (await ctl(['status', '--json'])).json();
  t.ok((locked.pinLockout as { lockerLockedForS: number }).lockerLockedForS > 0, 'status shows the lockout');

  const run = await ctl(['lockout', 'clear', '--json']);
  t.equal(run.code, EXIT.OK, run.stderr);
  t.match(run.json(), { ok: true, scope: 'locker', wasLocked: true });
  t.equal(await locker.lockouts.lockedFor(new Date()), null, 'PIN entry allowed again');
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'lockout.ended'), [{ payload: { scope: 'locker', reason: 'lifted' } }], 'the back office is told');
  const again = await ctl(['lockout', 'clear']);
  t.equal(again.code, EXIT.OK);
  t.match(again.stdout, /there was none/);

  const unknown = await ctl(['lockout', 'clear', '--reservation', 'no-such-reservation', '--json']);
  t.equal(unknown.code, EXIT.REFUSED);
  t.match(unknown.json(), { error: { serviceError: 'NOT_FOUND' } });
  t.equal((await ctl(['lockout', 'clear', '--reservation'])).code, EXIT.USAGE, 'the option needs a value');
  const bare = await ctl(['lockout']);
  t.match(bare.stdout + bare.stderr, /clear \[options\]\s+lift the locker-wide PIN lockout/, 'lockout alone lists its commands');
});

t.test('quarantine clear N --reason: back in service, audited, the back office told; refused when it cannot be', async (t) => {
  const { locker, ctl } = await withAdminLocker(t);
  const sim = locker.hardware.sim;
  if (!sim) throw new Error('simulator expected');
  sim.forceDoor(4); // compartment 5, free, forced open: quarantined
  await until(async () => (await locker.store.compartment(5))?.state === 'quarantined', 'compartment 5 quarantined');

  const open = await ctl(['quarantine', 'clear', '5', '--reason', 'looked: empty', '--json']);
  t.equal(open.code, EXIT.REFUSED, 'its door is still open');
  t.match(open.json(), { error: { serviceError: 'REFUSED', message: /door 5 is open: close it first/ } });
  t.equal((await locker.store.compartment(5))?.state, 'quarantined', 'nothing changed');

  sim.closeDoor(4);
  await until(() => locker.hardware.bank.doorState(5) === 'closed', 'door 5 closed');
  const run = await ctl(['quarantine', 'clear', '5', '--reason', 'looked: empty', '--json']);
  t.equal(run.code, EXIT.OK, run.stderr);
  t.match(run.json(), { ok: true, compartment: 5, state: 'free', reservationId: null });
  t.equal((await locker.store.compartment(5))?.state, 'free', 'back in service');
  t.match((await recordedEvents(locker)).filter((e) => e.type === 'compartment.quarantine-cleared'), [{ payload: { compartment: 5, state: 'free', by: 'technician', reason: 'looked: empty' } }], 'the back office is told');
  const audit = await locker.db.all<{ actor: string; action: string }>("SELECT actor, action FROM audit_log WHERE compartment_id = 5 AND action = 'clear'");
  t.same(audit, [{ actor: 'staff:technician', action: 'clear' }], 'audited');

  const again = await ctl(['quarantine', 'clear', '5', '--reason', 'looked: empty', '--json']);
  t.equal(again.code, EXIT.REFUSED, 'not quarantined any more');
  t.match(again.json(), { error: { serviceError: 'REFUSED', message: /compartment 5 is free, not quarantined/ } });
  const unknown = await ctl(['quarantine', 'clear', '17', '--reason', 'looked: empty', '--json']);
  t.match(unknown.json(), { error: { serviceError: 'UNKNOWN_COMPARTMENT' } });
  t.equal((await ctl(['quarantine', 'clear', '5'])).code, EXIT.USAGE, 'no --reason: a usage error');
  const shortReason = await ctl(['quarantine', 'clear', '5', '--reason', 'x', '--json']);
  t.match(shortReason.json(), { error: { code: 'BAD_INPUT', message: /args\.reason: must be at least 3 characters/ } });
});

t.test('commands that need the service say it is not running (exit 6)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kl-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const args of [['open', '3', '--reason', 'lock check'], ['selftest'], ['quarantine', 'clear', '3', '--reason', 'lock check'], ['lockout', 'clear']]) {
    const run = await lockerctl(['--socket', join(dir, 'none.sock'), ...args]);
    t.equal(run.code, EXIT.NOT_RUNNING, args.join(' '));
    t.match(run.stderr, /the locker service is not running/);
  }
});

t.test('every technician command has --help', async (t) => {
  for (const args of [['status'], ['open'], ['selftest'], ['quarantine', 'clear'], ['lockout', 'clear'], ['logs'], ['diagnostics'], ['provision']]) {
    const run = await lockerctl([...args, '--help']);
    t.equal(run.code, EXIT.OK, args.join(' '));
    t.match(run.stdout, /Usage: lockerctl /);
    t.match(run.stdout, /Exit codes:/);
  }
});
