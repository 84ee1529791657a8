import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import FakeTimers from '@sinonjs/fake-timers';
import t, { type Test } from 'tap';
import { createSilentLogger } from '../../kiosk/logging.js';
import { MAX_HOLD_WAIT_MS, openDatabase, SERVICE_DB, SQLITE_MIN_VERSION, sqliteVersionProblem, type Db, type Tx } from '../../kiosk/store/db.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, schemaVersion } from '../../kiosk/store/migrations.js';
import { compartments, outbox, reservations, settings } from '../../kiosk/store/repositories.js';
import { heldTransaction, openTempDb, sampleReservation } from '../helpers/store.js';

const logger = createSilentLogger();
const NOW = new Date('2025-03-14T07:00:00.000Z');
const STAMP = { wallTime: NOW.toISOString(), monoTime: 1234.5, bootId: 'boot-1' };

async function tableNames(db: Db): Promise<string[]> {
  const rows = await db.all<{ name: string }>(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  return rows.map((row) => row.name);
}

t.test('every connection gets WAL, synchronous=FULL, a busy timeout and foreign keys', async (t) => {
  const { db } = await openTempDb(t);
  t.same(await db.get('PRAGMA journal_mode'), { journal_mode: 'wal' });
  t.same(await db.get('PRAGMA synchronous'), { synchronous: 2 });
  t.same(await db.get('PRAGMA busy_timeout'), { timeout: 5000 });
  t.same(await db.get('PRAGMA foreign_keys'), { foreign_keys: 1 });
  await t.rejects(
    db.run("INSERT INTO compartments (id, state, reservation_id, updated_at) VALUES (1, 'reserved', 'nobody', 'x')"),
    { code: 'SQLITE_CONSTRAINT' },
    'a reference to a missing reservation is refused',
  );
});

t.test('the SQLite under the store is new enough for what the store asks of it, and an old one is named', async (t) => {
  const { db } = await openTempDb(t);
  const row = await db.get<{ version: string }>('SELECT sqlite_version() AS version');
  t.equal(sqliteVersionProblem(row?.version ?? ''), null, `SQLite ${row?.version} is at least ${SQLITE_MIN_VERSION}`);
  t.same(await db.get("SELECT count(*) AS n FROM jsonb_each('[[1],[2]]')"), { n: 2 }, 'jsonb_each works');
  for (const version of ['3.45.0', '3.45.1', '3.52.0', '4.0.0', '3.100.0']) t.equal(sqliteVersionProblem(version), null, `${version} is enough`);
  for (const version of ['3.44.2', '3.38.5', '2.99.99']) t.match(sqliteVersionProblem(version), new RegExp(`SQLite ${version.replace(/\./g, '\\.')} is too old: the store needs 3\\.45\\.0`), `${version} is not`);
  t.match(sqliteVersionProblem('3.45'), /is not a version/);
  t.match(sqliteVersionProblem(''), /is not a version/);
});

t.test('an empty database is migrated to the latest version', async (t) => {
  const { db } = await openTempDb(t);
  t.equal(await schemaVersion(db), LATEST_SCHEMA_VERSION);
  t.same(await tableNames(db), [
    'applied_commands', 'audit_log', 'compartments', 'help_calls', 'inflight', 'link_open_awaiting', 'link_open_nonces', 'lockouts', 'mechanic_requests', 'mechanic_tokens', 'outbox', 'payment_details',
    'refused_events', 'reservation_amount_due', 'reservation_timeline', 'reservations', 'schema_version', 'settings',
  ]);
  const applied = await db.all<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
  t.same(applied.map((row) => row.version), MIGRATIONS.map((m) => m.version));
});

for (let from = 1; from < LATEST_SCHEMA_VERSION; from += 1) {
  t.test(`a version ${from} database with data is brought up to date, rows intact`, async (t) => {
    const dir = t.testdir();
    const path = join(dir, 'locker.db');
    const old = await openDatabase(path, logger, { migrations: MIGRATIONS.slice(0, from) });
    t.equal(await schemaVersion(old), from);
    // Plain SQL that is valid against the version 1 schema, as an old release would have written it.
    await old.exec(`
      INSERT INTO compartments (id, state, updated_at) VALUES (1, 'free', '2025-01-01T00:00:00Z');
      INSERT INTO reservations (id, code, kind, work_order, plate, plate_display, driver_name, phones, email,
        appointment_date, appointment_time, pin_hash, status, compartment_id, version, created_at, updated_at)
        VALUES ('r-old', 'C-9', 'dropoff', 'WO-9', 'AB12345', 'AB 12345', 'Kari', '["+4791234567"]', NULL,
        '2025-01-02', '09:00', 'scrypt$x', 'deposited', 1, 3, '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z');
      UPDATE compartments SET state = 'occupied', reservation_id = 'r-old' WHERE id = 1;
      INSERT INTO outbox (type, payload, wall_time, mono_time, boot_id)
        VALUES ('key.deposited', '{"reservationId":"r-old"}', '2025-01-01T00:00:00Z', 10, 'b0');
      INSERT INTO settings (key, value) VALUES ('sync.cursor', '42');
    `);
    await old.close();

    const db = await openDatabase(path, logger);
    t.teardown(() => db.close());
    t.equal(await schemaVersion(db), LATEST_SCHEMA_VERSION);
    const reservation = await reservations.getById(db, 'r-old');
    t.match(reservation, { code: 'C-9', status: 'deposited', compartmentId: 1, phones: ['+4791234567'], version: 3 });
    t.match(await compartments.get(db, 1), { state: 'occupied', reservationId: 'r-old' });
    t.match(await outbox.listAfter(db, 0, 10), [{ seq: 1, type: 'key.deposited', payload: { reservationId: 'r-old' } }]);
    t.equal(await settings.get(db, 'sync.cursor'), '42');
    // The newer tables work on the migrated file.
    await db.run("INSERT INTO help_calls (id, session_id, requested_at) VALUES ('h1', 's1', '2025-01-02T00:00:00Z')");
    await db.run("INSERT INTO inflight VALUES (1, 'r-old', 'dropoff', 's1', '2025-01-02T00:00:00Z')");
  });
}

t.test('a database newer than the code is refused and left alone', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'locker.db');
  await (await openDatabase(path, logger)).close();
  await t.rejects(openDatabase(path, logger, { migrations: MIGRATIONS.slice(0, 1) }), {
    code: 'SCHEMA_TOO_NEW',
    message: new RegExp(`schema version ${LATEST_SCHEMA_VERSION} but this software only knows up to 1`),
  });
  const db = await openDatabase(path, logger);
  t.teardown(() => db.close());
  t.equal(await schemaVersion(db), LATEST_SCHEMA_VERSION);
});

t.test('a migration that fails leaves the previous version intact', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'locker.db');
  const broken = [
    ...MIGRATIONS.slice(0, 1),
    { version: 2, name: 'broken', up: 'CREATE TABLE half_done (a); INSERT INTO no_such_table VALUES (1);' },
  ];
  await t.rejects(openDatabase(path, logger, { migrations: broken }), /no such table/);
  const db = await openDatabase(path, logger, { migrations: MIGRATIONS.slice(0, 1) });
  t.teardown(() => db.close());
  t.equal(await schemaVersion(db), 1);
  t.notOk((await tableNames(db)).includes('half_done'));
});

t.test('a migration list with a gap is a programming error', async (t) => {
  const dir = t.testdir();
  const gap = [MIGRATIONS[0]!, { ...MIGRATIONS[1]!, version: 3 }];
  await t.rejects(openDatabase(join(dir, 'x.db'), logger, { migrations: gap }), { code: 'MIGRATIONS_INVALID' });
});

t.test('a transaction commits all its writes, or none when it throws', async (t) => {
  const { db } = await openTempDb(t);
  const result = await db.transaction(async (tx) => {
    await settings.set(tx, 'a', '1');
    await settings.set(tx, 'b', '2');
    return 'done';
  });
  t.equal(result, 'done');
  t.equal(await settings.get(db, 'b'), '2');

  const boom = new Error('boom');
  await t.rejects(
    db.transaction(async (tx) => {
      await settings.set(tx, 'a', 'changed');
      await outbox.append(tx, 'x', {}, STAMP);
      throw boom;
    }),
    boom,
  );
  t.equal(await settings.get(db, 'a'), '1');
  t.equal(await outbox.pendingCount(db), 0);

  await t.rejects(
    db.transaction(async (tx) => {
      await settings.set(tx, 'a', 'changed');
      await tx.run('INSERT INTO settings (key) VALUES (?)', ['no value']); // NOT NULL violated
    }),
    { code: 'SQLITE_CONSTRAINT' },
  );
  t.equal(await settings.get(db, 'a'), '1', 'a failing statement rolls back the earlier ones');
});

t.test('concurrent transactions run one after another', async (t) => {
  const { db } = await openTempDb(t);
  const events: string[] = [];
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) =>
      db.transaction(async (tx) => {
        events.push(`begin ${i}`);
        const before = Number((await settings.get(tx, 'counter')) ?? '0');
        await new Promise((resolve) => setImmediate(resolve)); // let the others try to cut in
        await settings.set(tx, 'counter', String(before + 1));
        events.push(`end ${i}`);
        if (i === 3) throw new Error('transaction 3 fails after writing');
      }),
    ),
  );
  t.same(
    results.map((r) => r.status),
    ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
  );
  t.same(events, Array.from({ length: 8 }, (_, i) => [`begin ${i}`, `end ${i}`]).flat(), 'no interleaving, in order');
  t.equal(await settings.get(db, 'counter'), '7', 'seven increments committed, the failed one rolled back');
});

t.test('work outside a transaction waits until it ends and sees only what it committed', async (t) => {
  const { db } = await openTempDb(t);
  for (const outcome of ['commit', 'rollback'] as const) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const transaction = db.transaction(async (tx) => {
      await settings.set(tx, outcome, 'written');
      entered();
      await gate;
      if (outcome === 'rollback') throw new Error('rolled back');
    });
    await inside;
    let readFinished = false;
    const read = settings.get(db, outcome).then((value) => ((readFinished = true), value));
    // Proving that something does not happen needs a pause: long enough for an unblocked read.
    await new Promise((resolve) => setTimeout(resolve, 30));
    t.equal(readFinished, false, `${outcome}: the read waits`);
    release();
    await (outcome === 'commit' ? transaction : t.rejects(transaction));
    t.equal(await read, outcome === 'commit' ? 'written' : null);
  }
});

t.test('heldForMs: how long the current holder (a statement, a whole transaction) has held the database', async (t) => {
  let now = 1_000;
  for (const nestingCheck of [true, false]) {
    const { db } = await openTempDb(t, { nestingCheck, monotonicMs: () => now });
    t.equal(db.heldForMs(), 0, `${nestingCheck}: free`);
    const { entered, finish, done } = heldTransaction(db, (tx) => settings.set(tx, 'k', 'v'));
    await entered;
    now += 45_000;
    t.equal(db.heldForMs(), 45_000, `${nestingCheck}: held by the open transaction since it began`);
    finish();
    await done;
    t.equal(db.heldForMs(), 0, `${nestingCheck}: free again after its commit`);
    t.equal(await settings.get(db, 'k'), 'v');
    // A failed transaction lets go too.
    await t.rejects(db.transaction(async () => Promise.reject(new Error('boom'))), /boom/);
    t.equal(db.heldForMs(), 0, `${nestingCheck}: free after a rollback`);
  }
});

/**
 * The service's database (no at-once nesting check): a call waits behind the current holder at
 * most MAX_HOLD_WAIT_MS of that holder's time. setTimeout and the holding clock are fake; SQLite
 * runs for real.
 */
async function serviceDb(t: Test) {
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'], now: 0 });
  t.teardown(() => clock.uninstall());
  const { db } = await openTempDb(t, { ...SERVICE_DB, monotonicMs: () => clock.now });
  return { db, clock };
}

t.test('without the nesting check, the db used inside its own transaction gives up after the limit, and the transaction rolls back', async (t) => {
  const { db, clock } = await serviceDb(t);
  let inside!: () => void;
  const entered = new Promise<void>((resolve) => (inside = resolve));
  let reached = false;
  const transaction = db.transaction(async (tx) => {
    await settings.set(tx, 'k', 'v');
    inside();
    await settings.get(db, 'k'); // the mistake the nesting check refuses at once
    reached = true;
  });
  await entered;
  await clock.tickAsync(MAX_HOLD_WAIT_MS - 1);
  t.equal(db.heldForMs(), MAX_HOLD_WAIT_MS - 1, 'held by the transaction waiting on itself');
  const refused = t.rejects(transaction, { code: 'DB_WAIT_TIMEOUT', message: /from inside its own transaction/ });
  await clock.tickAsync(2);
  await refused;
  t.equal(reached, false, 'the inner read never ran');
  t.equal(db.heldForMs(), 0, 'the database is free again');
  t.equal(await settings.get(db, 'k'), null, 'the transaction rolled back');
  t.equal(await db.transaction(async (tx) => (await settings.set(tx, 'k', 'w'), 'committed')), 'committed', 'and takes new transactions');
});

t.test("a call behind a holder waits while that holder is within the limit, and gives up past it without ending the holder's transaction", async (t) => {
  const { db, clock } = await serviceDb(t);
  const first = heldTransaction(db, (tx) => settings.set(tx, 'a', '1'));
  await first.entered;
  let answered = false;
  const read = settings.get(db, 'a').then((value) => ((answered = true), value));
  await clock.tickAsync(MAX_HOLD_WAIT_MS - 1_000);
  t.equal(answered, false, 'still waiting, within the limit');
  first.finish();
  await first.done;
  t.equal(await read, '1', 'served once the holder committed');

  const stuck = heldTransaction(db, (tx) => settings.set(tx, 'b', '2'));
  await stuck.entered;
  const behind = t.rejects(settings.get(db, 'b'), { code: 'DB_WAIT_TIMEOUT' }, 'gave up behind a holder past the limit');
  await clock.tickAsync(MAX_HOLD_WAIT_MS + 1);
  await behind;
  t.ok(db.heldForMs() > MAX_HOLD_WAIT_MS, "the holder's transaction goes on");
  stuck.finish();
  await stuck.done;
  t.equal(await settings.get(db, 'b'), '2', 'it committed; the turn the waiter gave up was passed on');
});

t.test('a call behind holders that come and go waits as long as it takes', async (t) => {
  const { db, clock } = await serviceDb(t);
  const first = heldTransaction(db);
  await first.entered;
  const second = heldTransaction(db, (tx) => settings.set(tx, 'c', '3'));
  const read = settings.get(db, 'c');
  await clock.tickAsync(6_000);
  first.finish();
  await first.done;
  await second.entered;
  await clock.tickAsync(6_000); // 12 s of waiting in all: no one holder past 10 s
  second.finish();
  await second.done;
  t.equal(await read, '3', 'served after both');
});

t.test('tx.othersWaiting: whether a call waits for the database now; a call that gave up no longer counts', async (t) => {
  const { db, clock } = await serviceDb(t);
  let inside!: Tx;
  const held = heldTransaction(db, async (tx) => {
    inside = tx;
  });
  await held.entered;
  t.equal(inside.othersWaiting(), false, 'alone');
  const read = settings.get(db, 'x');
  t.equal(inside.othersWaiting(), true, 'a read waits');
  const gaveUp = t.rejects(read, { code: 'DB_WAIT_TIMEOUT' });
  await clock.tickAsync(MAX_HOLD_WAIT_MS + 1);
  await gaveUp;
  t.equal(inside.othersWaiting(), false, 'the read gave up: nobody waits');
  const write = db.transaction((tx) => settings.set(tx, 'x', '1'));
  t.equal(inside.othersWaiting(), true, 'a transaction waits');
  held.finish();
  await held.done;
  await write;
  const next = heldTransaction(db, async (tx) => {
    inside = tx;
  });
  await next.entered;
  t.equal(inside.othersWaiting(), false, 'the one that waited got its turn and is gone');
  next.finish();
  await next.done;
});

t.test('the db cannot be used from inside its own transaction, nor a tx after it ended', async (t) => {
  const { db } = await openTempDb(t);
  await t.rejects(
    db.transaction(async (tx) => {
      await settings.set(tx, 'k', 'v');
      await settings.get(db, 'k');
    }),
    { code: 'DB_USED_INSIDE_TX' },
  );
  await t.rejects(db.transaction(() => db.transaction(async () => 1)), { code: 'DB_USED_INSIDE_TX' });
  await t.rejects(db.transaction(() => db.close()), { code: 'DB_USED_INSIDE_TX' });
  t.equal(await settings.get(db, 'k'), null, 'the refused transaction rolled back');

  const leaked = await db.transaction(async (tx) => tx);
  await t.rejects(settings.get(leaked, 'k'), { code: 'TX_FINISHED' });
  // Work started inside a transaction that runs on after it ended may use the db again.
  let later: Promise<string | null> | undefined;
  await db.transaction(async () => {
    later = new Promise((resolve) => setImmediate(resolve)).then(() => settings.get(db, 'k'));
  });
  t.equal(await later, null);
});

t.test('backup writes a consistent, readable copy and leaves no temporary files', async (t) => {
  const { db, dir } = await openTempDb(t);
  await db.transaction(async (tx) => {
    await compartments.ensure(tx, 4, NOW);
    await reservations.upsert(tx, sampleReservation());
    await outbox.append(tx, 'key.deposited', { reservationId: 'r-1' }, STAMP);
  });
  const dest = join(dir, 'backups', 'locker-copy.db');
  await t.rejects(db.backup(dest), 'the target directory must exist');
  await db.exec('SELECT 1'); // the db is still usable after a failed backup
  const target = join(dir, 'locker-copy.db');
  await db.backup(target);
  await db.backup(target); // replacing an earlier copy
  const files = await readdir(dir);
  t.notOk(files.some((name) => name.endsWith('.tmp') || name.includes('.tmp-')), files.join(', '));

  const copy = await openDatabase(target, logger);
  t.teardown(() => copy.close());
  t.equal(await schemaVersion(copy), LATEST_SCHEMA_VERSION);
  t.equal((await compartments.list(copy)).length, 4);
  t.same(await reservations.getById(copy, 'r-1'), sampleReservation());
  t.equal(await outbox.pendingCount(copy), 1);
});

t.test('after close, work is refused; closing twice is harmless', async (t) => {
  const dir = t.testdir();
  const db = await openDatabase(join(dir, 'locker.db'), logger);
  const pending = settings.get(db, 'x'); // queued before close: still answered
  await Promise.all([db.close(), db.close()]);
  t.equal(await pending, null);
  await t.rejects(db.get('SELECT 1'), { code: 'DB_CLOSED' });
  await t.rejects(db.transaction(async () => 1), { code: 'DB_CLOSED' });
});
