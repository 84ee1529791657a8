/**
 * Bench: what a back office pays to trust a locker's inventory of 5,000 reservations
 * (docs/protocol.md, "Inventory"), beside a baseline from the same run: the hello's summary
 * (count and digest over every row) and a full paging (25 inventory.page commands of 200 through
 * the CommandProcessor, as they arrive over the wire), against one plain SELECT of the same rows.
 *
 * `npm run bench` calls benchInventory() from test/bench/run.ts; `tsx test/bench/inventory.ts`
 * runs it alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LockoutService } from '../../kiosk/core/lockout.js';
import { createSilentLogger } from '../../kiosk/logging.js';
import { openDatabase, SERVICE_DB } from '../../kiosk/store/db.js';
import { CommandProcessor } from '../../kiosk/sync/commands.js';
import { inventorySummary } from '../../kiosk/sync/inventory.js';
import { buildHello } from '../../kiosk/sync/hello.js';
import { fillReservations } from '../helpers/sync.js';
import { PI4_FACTOR, piEstimate } from './scale.js';

const RESERVATIONS = 5000;
const PAGE = 200;

export async function benchInventory(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'keylocker-bench-inventory-'));
  const db = await openDatabase(join(dir, 'locker.db'), createSilentLogger(), SERVICE_DB);
  try {
    await fillReservations(db, RESERVATIONS, 100, '2025-03-14');
    await db.all('SELECT * FROM reservations'); // warm the page cache for every measurement alike
    let started = performance.now();
    const rows = await db.all('SELECT id, version, payment_version, status FROM reservations ORDER BY id');
    const plainSelectMs = performance.now() - started;
    if (rows.length !== RESERVATIONS) throw new Error('not every row was read');

    started = performance.now();
    await inventorySummary(db);
    const summaryMs = performance.now() - started;
    const hello = await buildHello({
      db, unitId: 'bench', softwareVersion: 'bench', bootId: 'bench', timeZone: 'Europe/Oslo', pingIntervalMs: 15_000, maxInFlight: 500,
      wallClock: () => new Date(), clockSynchronised: () => true, doorState: () => 'closed',
      pinHashing: null,
    });

    const processor = new CommandProcessor({ db, lockouts: new LockoutService(), logger: createSilentLogger() });
    let after: string | null = null;
    let pages = 0;
    started = performance.now();
    for (let round = 0; round < 1000; round += 1) {
      const result = await processor.apply({ v: 1, type: 'command', id: `page-${round}`, name: 'inventory.page', args: { after, limit: PAGE } });
      if (!result.ok) throw new Error('a page failed');
      pages += 1;
      after = (result.result as { next: string | null }).next;
      if (after === null) break;
    }
    const pagingMs = performance.now() - started;
    return {
      reservations: RESERVATIONS,
      helloBytes: Buffer.byteLength(JSON.stringify(hello)),
      helloSummaryMs: round(summaryMs),
      pages,
      fullPagingMs: round(pagingMs),
      plainSelectAllMs: round(plainSelectMs),
      fullPagingVsPlainSelect: round(pagingMs / plainSelectMs),
      pi4Estimate: {
        helloSummaryMs: piEstimate(summaryMs),
        fullPagingMs: piEstimate(pagingMs),
        scaled: `x ${PI4_FACTOR.low}-${PI4_FACTOR.high}: ${PI4_FACTOR.why}; reads only, from the page cache`,
      },
    };
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchInventory(), null, 2));
}
