/**
 * Commands applied together (kiosk/sync/commands/batch.ts): a run of reservation.upsert shares
 * one savepoint and reads ahead what it changes, yet every command still fails alone, a repeat
 * still gets its first answer, and the statements per command stay about one (what a snapshot
 * of 10,000 costs; the time is test/bench/outbox-drain.ts's).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { hashPinForUnit } from '../../kiosk/core/pin.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import type { Db, Tx } from '../../kiosk/store/db.js';
import * as pinHashingStore from '../../kiosk/store/pin-hashing.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import type { CommandArgs, CommandMessage, ReservationWire } from '../../kiosk/sync/messages.js';
import { commandFixture as fixture, countRows, wire } from '../helpers/command-fixture.js';

const upsert = (id: string, reservation: Partial<ReservationWire>, version = 1): CommandMessage => ({
  v: 1,
  type: 'command',
  id,
  name: 'reservation.upsert',
  args: { reservation: wire(reservation), version },
});

const cancel = (id: string, args: CommandArgs['reservation.cancel']): CommandMessage => ({ v: 1, type: 'command', id, name: 'reservation.cancel', args });

const summary = (results: { commandId: string; ok: boolean; error?: { code: string } }[]): [string, string][] =>
  results.map((r) => [r.commandId, r.ok ? 'ok' : (r.error?.code ?? '?')]);

t.test('bad commands anywhere in a batch are refused alone; the others apply once, with their effects', async (t) => {
  const f = await fixture(t);
  const batch = [
    upsert('u0', { id: 'r-0', code: 'C-0', plate: '!!' }), // first: not a plate
    upsert('u1', { id: 'r-1', code: 'C-1' }),
    upsert('u2', { id: 'r-2', code: 'C-1' }), // the code r-1 has
    upsert('u3', { id: 'r-3', code: 'C-3', plate: '??' }), // two failures in a row
    upsert('u4', { id: 'r-4', code: 'C-4' }),
    upsert('u5', { id: 'r-5', code: 'C-5' }),
    upsert('u6', { id: 'r-6', code: 'C-4' }), // last: the code r-4 has
  ];
  const results = await f.processor.applyMany(batch);
  t.same(summary(results), [
    ['u0', 'SCHEMA'],
    ['u1', 'ok'],
    ['u2', 'CONFLICT'],
    ['u3', 'SCHEMA'],
    ['u4', 'ok'],
    ['u5', 'ok'],
    ['u6', 'CONFLICT'],
  ]);
  t.same((await f.db.all<{ id: string }>('SELECT id FROM reservations ORDER BY id')).map((r) => r.id), ['r-1', 'r-4', 'r-5']);
  t.same(f.changes, [['r-1', 'updated'], ['r-4', 'updated'], ['r-5', 'updated']], 'one change each, only for what applied, in order');
  t.equal(await countRows(f.db, 'applied_commands'), 7, 'every answer remembered, failures too');
  t.equal(await countRows(f.db, 'reservation_timeline'), 0, 'nothing left behind by the attempts rolled back');

  // The same batch again: every command gets its first answer, nothing changes.
  const again = await f.processor.applyMany(batch);
  t.same(again, results, 'the stored answers, word for word');
  t.equal(f.changes.length, 3);
  t.equal(await countRows(f.db, 'applied_commands'), 7);
});

t.test('what a batch reads ahead is what each command would have read itself', async (t) => {
  const f = await fixture(t);
  t.match(await f.run('seed', 'reservation.upsert', { reservation: wire({ appointmentTime: '07:00' }), version: 1 }), { ok: true });
  const results = await f.processor.applyMany([
    upsert('v2', { appointmentTime: '09:00' }, 2), // an update of a row read ahead
    upsert('n1', { id: 'r-2', code: 'C-2' }),
    upsert('v3', { appointmentTime: '10:00' }, 3), // the same reservation again: must see version 2
    upsert('v2b', { appointmentTime: '11:00' }, 2), // and again: stale against 3
    upsert('n1', { id: 'r-2', code: 'C-2' }), // a repeat inside the batch
    upsert('n1', { id: 'r-2', code: 'C-2', driverName: 'Other' }), // the same id, other content
    upsert('bad', { id: 'r-9', code: 'C-9', plate: '!!' }),
    upsert('v4', { appointmentTime: '12:00' }, 4), // after a replay: reads r-1 at version 3
  ]);
  t.same(summary(results), [
    ['v2', 'ok'],
    ['n1', 'ok'],
    ['v3', 'ok'],
    ['v2b', 'ok'],
    ['n1', 'ok'],
    ['n1', 'DUPLICATE_ID'],
    ['bad', 'SCHEMA'],
    ['v4', 'ok'],
  ]);
  t.match(results.map((r) => (r.ok ? r.result : null)), [
    { applied: true, created: false, version: 2 },
    { applied: true, created: true },
    { applied: true, created: false, version: 3 },
    { applied: false, reason: 'stale', version: 3 },
    { applied: true, created: true },
    null,
    null,
    { applied: true, created: false, version: 4 },
  ]);
  t.same(results[4], results[1], 'the repeat gets the first answer');
  t.match(await reservations.getById(f.db, 'r-1'), { appointmentTime: '12:00', version: 4 });
  t.match(await reservations.getById(f.db, 'r-2'), { driverName: 'Kari Nordmann' });
  t.equal(await countRows(f.db, 'applied_commands'), 7, 'seed, v2, n1, v3, v2b, bad, v4 (not the DUPLICATE_ID)');
});

t.test('a pickup naming its compartment and a cancel between upserts: each applied once across the replays', async (t) => {
  const f = await fixture(t);
  const results = await f.processor.applyMany([
    upsert('p1', { id: 'p-1', code: 'P-1', kind: 'pickup', compartmentId: 2 }),
    upsert('p2', { id: 'p-2', code: 'P-2', kind: 'pickup', compartmentId: 2 }), // compartment 2 holds p-1's key now
    upsert('d1', { id: 'd-1', code: 'D-1' }),
    cancel('c1', { reservationId: 'd-1', version: 2 }),
    cancel('c2', { reservationId: 'ghost', version: 2 }),
    upsert('d2', { id: 'd-2', code: 'D-2' }),
    upsert('d3', { id: 'd-3', code: 'D-3' }),
  ]);
  t.same(summary(results), [
    ['p1', 'ok'],
    ['p2', 'CONFLICT'],
    ['d1', 'ok'],
    ['c1', 'ok'],
    ['c2', 'NOT_FOUND'],
    ['d2', 'ok'],
    ['d3', 'ok'],
  ]);
  t.match(await f.db.get('SELECT state, reservation_id FROM compartments WHERE id = 2'), { state: 'occupied', reservation_id: 'p-1' });
  t.match(await reservations.getById(f.db, 'p-1'), { status: 'ready', compartmentId: 2 });
  t.equal(await reservations.getById(f.db, 'p-2'), null);
  t.match(await reservations.getById(f.db, 'd-1'), { status: 'cancelled' });
  t.same(
    await f.db.all("SELECT reservation_id, event FROM reservation_timeline ORDER BY id"),
    [
      { reservation_id: 'p-1', event: 'key-in-compartment' },
      { reservation_id: 'd-1', event: 'cancelled-by-back-office' },
    ],
    'one timeline entry each: the rolled-back attempt left none',
  );
});

/** The Db with its transactions counted, and a hook run before each statement inside them (each is a round trip to the binding's thread). */
function observed(db: Db, beforeStatement: (sql: string) => void = () => undefined): { db: Db; transactions: () => number } {
  let transactions = 0;
  const wrap = (tx: Tx): Tx => ({
    inTransaction: true,
    run: (sql, params) => (beforeStatement(sql), tx.run(sql, params)),
    get: (sql, params) => (beforeStatement(sql), tx.get(sql, params)),
    all: (sql, params) => (beforeStatement(sql), tx.all(sql, params)),
    exec: (sql) => (beforeStatement(sql), tx.exec(sql)),
    othersWaiting: () => tx.othersWaiting(),
  });
  const counted: Db = Object.create(db) as Db;
  Object.assign(counted, { transaction: <T>(fn: (tx: Tx) => Promise<T>) => ((transactions += 1), db.transaction((tx) => fn(wrap(tx)))) });
  return { db: counted, transactions: () => transactions };
}

t.test('a snapshot batch of 256 new reservations costs a few statements, not one or more per command', async (t) => {
  const f = await fixture(t);
  let statements = 0;
  const { db } = observed(f.db, () => (statements += 1));
  // As the locker's SyncService: the unit's PIN hashing made at start and handed in.
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger(), pinHashing: await pinHashingStore.loadOrCreate(f.db) });
  const batch = Array.from({ length: 256 }, (_, i) => upsert(`s${i}`, { id: `s-${i}`, code: `S-${i}` }));
  const results = await processor.applyMany(batch);
  t.ok(results.every((r) => r.ok), 'all applied');
  t.equal(await countRows(f.db, 'reservations'), 256);
  // The answered ids, the savepoint, the read-ahead, one INSERT of the 256 rows (as one JSON
  // array), the release, one INSERT of the 256 answers. (Each command under its own savepoint,
  // reading its answer and its row and writing its answer alone, was six each: 1,536; 30 rows
  // and 100 answers per INSERT were 15.)
  t.equal(statements, 6, `${statements} statements for 256 commands`);
});

t.test('a new reservation written with its batch reads back exactly as a lone upsert writes it', async (t) => {
  const f = await fixture(t);
  // Values a JSON round trip could change: digits that must stay text, quotes, backslashes,
  // non-Latin letters and an emoji, several phones, an empty string where one is allowed.
  const awkward = (id: string, code: string): Partial<ReservationWire> => ({
    id,
    code,
    workOrder: '000123',
    plate: 'AB 12345',
    driverName: 'Ørjan "Oz" \\ Ødegård 😀 Ñandú',
    phones: ['+4791000001', '+4791000002'],
    email: 'o.z@example.com',
    appointmentTime: null,
    paymentRequired: true,
  });
  const batched = await f.processor.applyMany([upsert('b1', awkward('r-batch', '0042')), upsert('b2', { id: 'r-other', code: '17' })]);
  t.ok(batched.every((r) => r.ok), 'the batch applied');
  const alone = await f.processor.apply(upsert('a1', awkward('r-alone', '0043')));
  t.ok(alone.ok, 'the lone one applied');
  const columns = (row: Record<string, unknown> | undefined): Record<string, unknown> => {
    const { id: _id, code: _code, created_at: _c, updated_at: _u, ...rest } = row ?? {};
    return rest;
  };
  const batchRow = await f.db.get<Record<string, unknown>>('SELECT * FROM reservations WHERE id = ?', ['r-batch']);
  const aloneRow = await f.db.get<Record<string, unknown>>('SELECT * FROM reservations WHERE id = ?', ['r-alone']);
  t.same(columns(batchRow), columns(aloneRow), 'every column as the row-by-row INSERT wrote it');
  t.strictSame(
    await f.db.get('SELECT typeof(code) AS code, typeof(work_order) AS wo, typeof(payment_required) AS paid, typeof(version) AS version, typeof(appointment_time) AS time FROM reservations WHERE id = ?', ['r-batch']),
    { code: 'text', wo: 'text', paid: 'integer', version: 'integer', time: 'null' },
    'text stays text (no leading zero lost), integers stay integers, null stays NULL',
  );
  t.equal(batchRow?.code, '0042');
  t.equal(batchRow?.driver_name, 'Ørjan "Oz" \\ Ødegård 😀 Ñandú');
  const other = await reservations.getById(f.db, 'r-other');
  t.equal(other?.code, '17', 'a code of digits stays the string it was');
});

t.test('a snapshot is one log line per batch, each failure still its own; a few commands are a line each', async (t) => {
  const lines: { level: number; msg: string; commandId?: string; ok?: number; commands?: number; byName?: Record<string, number>; code?: string }[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  const f = await fixture(t);
  const processor = new CommandProcessor({ db: f.db, lockouts: new LockoutService(), logger, pinHashing: await pinHashingStore.loadOrCreate(f.db) });
  const snapshot = Array.from({ length: 40 }, (_, i) => upsert(`s${i}`, { id: `s-${i}`, code: `S-${i}` }));
  snapshot[7] = upsert('s7', { id: 's-7', code: 'S-7', plate: '!!' });
  const results = await processor.applyMany(snapshot);
  t.equal(results.filter((r) => r.ok).length, 39);
  const applied = lines.filter((line) => line.msg === 'command applied');
  t.same(applied.map((line) => [line.commandId, line.code]), [['s7', 'SCHEMA']], 'the failure, alone');
  const summaries = lines.filter((line) => line.msg === 'commands applied');
  t.equal(summaries.length, 1, 'one line for the successes');
  t.same(summaries[0]?.byName, { 'reservation.upsert': 39 });
  t.equal(summaries[0]?.ok, 39);
  t.equal(summaries[0]?.commands, 40);

  lines.length = 0;
  await processor.applyMany([upsert('few1', { id: 'f-1', code: 'F-1' }), upsert('few2', { id: 'f-2', code: 'F-2' })]);
  t.same(lines.filter((line) => line.msg === 'command applied').map((line) => line.commandId), ['few1', 'few2'], 'a line each');
  t.notOk(lines.some((line) => line.msg === 'commands applied'));
});

t.test('commands prepared ahead of their round apply exactly as commands that were not', async (t) => {
  // Two lockers, the same unit PIN hashing: one applies the commands as they come, the other
  // after CommandProcessor.prepareAhead (what CommandQueue does while the batch before commits).
  const plain = await fixture(t);
  const ahead = await fixture(t);
  const hashing = await pinHashingStore.loadOrCreate(plain.db);
  const unitHash = await hashPinForUnit('480265', hashing);
  const [, N, r, p, salt, key] = unitHash.split('$');
  const batch = (): CommandMessage[] => [
    upsert('u1', { id: 'r-1', code: 'C-1', pinHash: unitHash }), // indexed
    upsert('u2', { id: 'r-2', code: 'C-2' }), // a legacy hash: no index
    upsert('u3', { id: 'r-3', code: 'C-3', plate: '!!' }), // not a plate
    upsert('u4', { id: 'r-4', code: 'C-4', pinHash: 'scrypt$16384$8$1$bm90' }), // not a hash
    upsert('u5', { id: 'r-5', code: 'C-5', pinHash: `scrypt$1048576$8$1$${salt}$${key}` }), // a cost the locker refuses
    upsert('u6', { id: 'r-6', code: 'C-6', plate: ' ab 12 345 ', pinHash: `scrypt$${N}$${r}$${p}$${salt}$${key?.replace(/=$/, '')}` }), // unpadded: the same index
    cancel('c1', { reservationId: 'r-2', version: 2 }),
  ];
  const lockers = [
    { name: 'as they come', f: plain, processor: new CommandProcessor({ db: plain.db, lockouts: new LockoutService(), logger: createSilentLogger(), pinHashing: hashing }) },
    // Its hashing handed in (as SyncService does), so the PIN index is prepared too.
    { name: 'prepared', f: ahead, processor: new CommandProcessor({ db: ahead.db, lockouts: new LockoutService(), logger: createSilentLogger(), pinHashing: hashing }) },
  ];
  const answers: unknown[] = [];
  const rows: unknown[] = [];
  for (const { name, f, processor } of lockers) {
    const commands = batch();
    if (name === 'prepared') for (const command of commands) processor.prepareAhead(command);
    answers.push(await processor.applyMany(commands));
    rows.push(await f.db.all('SELECT id, plate, pin_hash, pin_index, status, version FROM reservations ORDER BY id'));
  }
  t.same(summary(answers[0] as never), [
    ['u1', 'ok'],
    ['u2', 'ok'],
    ['u3', 'SCHEMA'],
    ['u4', 'SCHEMA'],
    ['u5', 'SCHEMA'],
    ['u6', 'ok'],
    ['c1', 'ok'],
  ]);
  t.strictSame(answers[1], answers[0], 'the same answers, word for word (each refusal says why)');
  t.strictSame(rows[1], rows[0], 'the same rows');
  t.match(rows[0], [{ id: 'r-1', pin_index: key, plate: 'AB12345' }, { id: 'r-2', pin_index: null, status: 'cancelled' }, { id: 'r-6', pin_index: key }]);
});

t.test('a command prepared before the unit knows its PIN hashing still gets its index in its round', async (t) => {
  const f = await fixture(t);
  const hashing = await pinHashingStore.loadOrCreate(f.db);
  const unitHash = await hashPinForUnit('480265', hashing);
  // No hashing handed in: read from the database in the first round that needs it.
  const processor = new CommandProcessor({ db: f.db, lockouts: new LockoutService(), logger: createSilentLogger() });
  const commands = [upsert('u1', { id: 'r-1', code: 'C-1', pinHash: unitHash }), upsert('u2', { id: 'r-2', code: 'C-2', pinHash: unitHash.replace('480', '') })];
  for (const command of commands) processor.prepareAhead(command);
  const results = await processor.applyMany(commands);
  t.same(summary(results), [
    ['u1', 'ok'],
    ['u2', 'ok'],
  ]);
  t.equal((await reservations.getById(f.db, 'r-1'))?.pinIndex, unitHash.split('$')[5], 'indexed all the same');
});

/** `more` handing out `rounds` in turn, then nothing; how many times it was asked. */
function rounds(...queued: CommandMessage[][]): { more: () => CommandMessage[]; asked: () => number } {
  let asked = 0;
  return { more: () => ((asked += 1), queued.shift() ?? []), asked: () => asked };
}

t.test('rounds handed over by `more` share one transaction; each answer is what a round of its own gives', async (t) => {
  const f = await fixture(t);
  const { db, transactions } = observed(f.db);
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger() });
  const queued = rounds(
    [upsert('m3', { id: 'm-3', code: 'M-3' }), upsert('m1', { id: 'm-1', code: 'M-1' }, 2)], // round one's id, other content
    [upsert('m4', { id: 'm-4', code: 'M-1' }), upsert('m2', { id: 'm-2', code: 'M-2' })], // m4 clashes with m-1's code; m2 repeats round one's id
  );
  const results = await processor.applyMany([upsert('m1', { id: 'm-1', code: 'M-1' }), upsert('m2', { id: 'm-2', code: 'M-2' })], queued.more);
  t.same(
    summary(results),
    [['m1', 'ok'], ['m2', 'ok'], ['m3', 'ok'], ['m1', 'DUPLICATE_ID'], ['m4', 'CONFLICT'], ['m2', 'ok']],
    'every command of every round answered, in order',
  );
  t.equal(transactions(), 1, 'one transaction, one commit');
  t.equal(queued.asked(), 3, 'asked until it had nothing more');
  t.same(results[5], results[1], 'the repeat in a later round gets the first answer');
  t.equal(await countRows(f.db, 'reservations'), 3);
  t.equal(await countRows(f.db, 'applied_commands'), 4, 'each id remembered once; the reused id and the repeat not again');
});

t.test('a call waiting for the database ends the transaction after the round in progress', async (t) => {
  const f = await fixture(t);
  let roundStarted!: () => void;
  const started = new Promise<void>((resolve) => (roundStarted = resolve));
  const { db, transactions } = observed(f.db, () => roundStarted());
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger() });
  const queued = rounds([upsert('w2', { id: 'w-2', code: 'W-2' })]);
  const applying = processor.applyMany([upsert('w1', { id: 'w-1', code: 'W-1' })], queued.more);
  // A customer's tap arrives while the first round runs: its first statement is with SQLite (a
  // round trip to the binding's thread; this continuation runs before any reply comes back).
  await started;
  const waiter = f.db.get<{ n: number }>('SELECT count(*) AS n FROM reservations');
  const results = await applying;
  t.same(summary(results), [['w1', 'ok']], 'the round in progress answered alone');
  t.equal(queued.asked(), 0, 'no further round taken while a call waits');
  t.equal(transactions(), 1);
  t.same(await waiter, { n: 1 }, 'the waiting call ran after that commit, and saw it');
  t.equal(await countRows(f.db, 'applied_commands'), 1, 'the next round is still queued, not applied');
});

t.test('a later round that fails unexpectedly rolls back the rounds before it: every command answered INTERNAL, none remembered', async (t) => {
  const f = await fixture(t);
  let inserts = 0;
  const { db } = observed(f.db, (sql) => {
    if (/^\s*INSERT INTO applied_commands/.test(sql) && ++inserts === 2) throw new Error('disk I/O error');
  });
  const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger() });
  const queued = rounds([upsert('f2', { id: 'f-2', code: 'F-2' })]);
  const results = await processor.applyMany([upsert('f1', { id: 'f-1', code: 'F-1' })], queued.more);
  t.same(summary(results), [['f1', 'INTERNAL'], ['f2', 'INTERNAL']], 'round one is not reported applied: its commit never happened');
  t.equal(await countRows(f.db, 'reservations'), 0, 'nothing of either round kept');
  t.equal(await countRows(f.db, 'applied_commands'), 0, 'nothing remembered: both may be sent again');
  const again = await processor.applyMany([upsert('f1', { id: 'f-1', code: 'F-1' }), upsert('f2', { id: 'f-2', code: 'F-2' })]);
  t.same(summary(again), [['f1', 'ok'], ['f2', 'ok']], 'sent again, they apply');
});
