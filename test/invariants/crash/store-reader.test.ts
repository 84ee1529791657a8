/**
 * The crash campaign reads the locker's file after every kill. A start killed before its
 * migrations committed leaves no file, an empty one, or one migrated part-way; the campaign
 * must check such a file with the schema-free rules and not read it as a store. CI found this
 * (seed 3939044612): the campaign read an empty file after a start-up kill and the test threw
 * "no such table: reservations". Each file state is built here, without timing.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { openDatabase } from '../../../kiosk/store/db.js';
import { MIGRATIONS } from '../../../kiosk/store/migrations.js';
import { checkInvariantsReport } from '../check.js';
import { readStore, schemaComplete } from './store-reader.js';

const silent = pino({ level: 'silent' });

t.test('a file a start-up kill left before the migrations finished is not read as a store', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keylocker-reader-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));

  const none = join(dir, 'none.db');
  t.equal(await schemaComplete(none), false, 'no file yet');

  const empty = join(dir, 'empty.db');
  await writeFile(empty, '');
  t.equal(await schemaComplete(empty), false, 'an empty file (created, no migration committed)');
  await t.rejects(readStore(empty), /no such table: reservations/, 'what CI met: reading it as a store throws');
  const emptyCheck = await checkInvariantsReport(empty, { atRest: false });
  t.same(emptyCheck.violations, [], 'the schema-free rules hold on it');
  t.ok(emptyCheck.checked > 0, `${emptyCheck.checked} rules checked on the empty file`);

  const partial = join(dir, 'partial.db');
  const db = await openDatabase(partial, silent, { migrations: MIGRATIONS.slice(0, 2) });
  await db.close();
  t.equal(await schemaComplete(partial), false, 'migrated part-way (each migration commits on its own)');
  await t.rejects(readStore(partial), /no such table/, 'the tables of later migrations are missing');
  t.same((await checkInvariantsReport(partial, { atRest: false })).violations, []);

  const whole = join(dir, 'whole.db');
  const full = await openDatabase(whole, silent);
  await full.close();
  t.equal(await schemaComplete(whole), true, 'migrated to the latest version');
  const view = await readStore(whole, true);
  t.same({ reservations: view.reservations, outbox: view.outbox, lastSeq: view.lastSeq }, { reservations: [], outbox: [], lastSeq: 0 }, 'read as a store: nothing booked yet');
  t.equal(view.landing, 'no-actuation');
});
