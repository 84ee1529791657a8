/**
 * An inventory the back office can trust at any size (docs/protocol.md, "Inventory"): the hello
 * carries a fixed-size count and digest however many reservations the locker holds, and
 * `inventory.page` lists every one of them. The old hello listed at most 600 versions, newest
 * appointments first, so today's reservations fell out of it behind 650 future bookings.
 */
import t from 'tap';
import type { Db } from '../../kiosk/store/db.js';
import { reservations } from '../../kiosk/store/repositories.js';
import { digestOf, inventorySummary } from '../../kiosk/sync/inventory.js';
import type { InventoryItem } from '../../kiosk/sync/messages.js';
import { commandFixture as fixture, countRows } from '../helpers/command-fixture.js';
import { sampleReservation } from '../helpers/store.js';
import { fillReservations, lockerSide } from '../helpers/sync.js';

const TOTAL = 5000;
const TODAY = '2025-03-14';

const fillLocker = (db: Db): Promise<void> => fillReservations(db, TOTAL, 100, TODAY);

t.test(`with ${TOTAL} reservations the hello stays small, and paging lists every one, today's included`, async (t) => {
  const f = await fixture(t);
  await fillLocker(f.db);

  const side = await lockerSide(t);
  await fillLocker(side.db);
  const hello = await side.makeSync('ws://127.0.0.1:1/locker').buildHello();
  const bytes = Buffer.byteLength(JSON.stringify(hello));
  t.ok(bytes < 4096, `the hello is ${bytes} bytes whatever the inventory`);
  t.equal(hello.inventory.count, TOTAL);
  t.match(hello.inventory.digest, /^sha256:[0-9a-f]{64}$/);

  const items: InventoryItem[] = [];
  let after: string | null = null;
  let pages = 0;
  for (let round = 0; round < 100; round += 1) {
    const result = await f.run(`page-${round}`, 'inventory.page', { after, limit: 200 });
    if (!result.ok) throw new Error(`page ${round}: ${result.error?.message}`);
    const page = result.result as { items: InventoryItem[]; next: string | null; count: number | null; digest: string | null };
    t.ok(Buffer.byteLength(JSON.stringify(result)) < 64 * 1024, 'a page fits a frame');
    items.push(...page.items);
    pages += 1;
    if (page.next === null) {
      t.same([page.count, page.digest], [TOTAL, hello.inventory.digest], 'the last page carries the count and digest');
      break;
    }
    t.same([page.count, page.digest], [null, null], 'other pages do not (it costs a read of every row)');
    after = page.next;
  }
  t.equal(pages, TOTAL / 200, 'every page full, the last says there is no next');
  t.equal(items.length, TOTAL, 'every reservation listed once');
  t.equal(new Set(items.map((i) => i.id)).size, TOTAL);
  const todays = items.filter((i) => Number(i.id.slice(2)) < 100);
  t.equal(todays.length, 100, "today's reservations are all there");
  t.equal(digestOf(items), hello.inventory.digest, "the pages' digest is the hello's: the back office can check what it paged");
  t.same((await inventorySummary(f.db)).digest, hello.inventory.digest, 'the same inventory, the same digest');
  t.equal(await countRows(f.db, 'applied_commands'), 0, 'read-only: pages are not remembered');
});

t.test('a repeated page id is answered afresh; the digest follows versions, not statuses', async (t) => {
  const f = await fixture(t);
  await f.db.transaction(async (tx) => {
    await reservations.upsert(tx, sampleReservation({ id: 'b', code: 'B', version: 1 }));
    await reservations.upsert(tx, sampleReservation({ id: 'a', code: 'A', version: 2 }));
  });
  const first = await f.run('same', 'inventory.page', { after: null, limit: 1 });
  t.match(first, { ok: true, result: { items: [{ id: 'a', version: 2, paymentVersion: 0, status: 'booked' }], next: 'a', count: null } });
  const before = (await inventorySummary(f.db)).digest;
  await f.db.transaction((tx) => reservations.update(tx, 'a', { status: 'deposited' }, new Date()));
  t.equal((await inventorySummary(f.db)).digest, before, 'a deposit does not change the digest');
  await f.db.transaction((tx) => reservations.update(tx, 'a', { paymentVersion: 4 }, new Date()));
  const again = await f.run('same', 'inventory.page', { after: null, limit: 1 });
  t.match(again, { ok: true, result: { items: [{ id: 'a', version: 2, paymentVersion: 4, status: 'deposited' }] } }, 'the same id, read again');
  t.not((await inventorySummary(f.db)).digest, before, 'a new payment version changes the digest');
  t.match(await f.run('last', 'inventory.page', { after: 'a', limit: 5 }), { ok: true, result: { items: [{ id: 'b' }], next: null, count: 2 } });
  t.match(await f.run('past', 'inventory.page', { after: 'zzz', limit: 5 }), { ok: true, result: { items: [], next: null } });
});
