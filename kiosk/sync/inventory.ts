/**
 * What the locker holds, for the back office (docs/protocol.md, "Inventory"): a fixed-size
 * summary in the hello (count and digest), and pages for `inventory.page`.
 *
 * The digest is `sha256:` + hex SHA-256 of one line per reservation, `<id>\t<version>\t<paymentVersion>\n`,
 * ordered by the UTF-8 bytes of the ids (SQLite's BINARY collation, which `id > ?` paging also
 * follows). Statuses are left out: the back office learns them from events, and a deposit must
 * not make it page through everything again.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../store/db.js';
import type { InventoryItem, InventorySummary, ReservationStatusWire } from './messages.js';

/** Rows read at a time while hashing (bounded memory at any size). */
const DIGEST_BATCH = 2000;

export async function inventorySummary(q: Queryable): Promise<InventorySummary> {
  const hash = createHash('sha256');
  let count = 0;
  let after: string | null = null;
  // Bounded: each round reads a batch or stops.
  for (let round = 0; round < 1_000_000; round += 1) {
    const rows: { id: string; version: number; payment_version: number }[] = await q.all(
      after === null
        ? 'SELECT id, version, payment_version FROM reservations ORDER BY id LIMIT ?'
        : 'SELECT id, version, payment_version FROM reservations WHERE id > ? ORDER BY id LIMIT ?',
      after === null ? [DIGEST_BATCH] : [after, DIGEST_BATCH],
    );
    for (const row of rows) hash.update(inventoryLine(row.id, row.version, row.payment_version));
    count += rows.length;
    if (rows.length < DIGEST_BATCH) break;
    after = rows[rows.length - 1]?.id ?? null;
  }
  return { count, digest: `sha256:${hash.digest('hex')}` };
}

/** One line of the digest; exported so that a back office (and the tests) compute the same. */
export function inventoryLine(id: string, version: number, paymentVersion: number): string {
  return `${id}\t${version}\t${paymentVersion}\n`;
}

/** The digest of a list of items, sorted here by the UTF-8 bytes of their ids. */
export function digestOf(items: readonly Pick<InventoryItem, 'id' | 'version' | 'paymentVersion'>[]): string {
  const sorted = [...items].sort((a, b) => Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8')));
  const hash = createHash('sha256');
  for (const item of sorted) hash.update(inventoryLine(item.id, item.version, item.paymentVersion));
  return `sha256:${hash.digest('hex')}`;
}

export interface InventoryPage {
  items: InventoryItem[];
  /** The `after` of the next page; null after the last. */
  next: string | null;
}

export async function inventoryPage(q: Queryable, after: string | null, limit: number): Promise<InventoryPage> {
  const rows = await q.all<{ id: string; version: number; payment_version: number; status: ReservationStatusWire }>(
    after === null
      ? 'SELECT id, version, payment_version, status FROM reservations ORDER BY id LIMIT ?'
      : 'SELECT id, version, payment_version, status FROM reservations WHERE id > ? ORDER BY id LIMIT ?',
    after === null ? [limit + 1] : [after, limit + 1],
  );
  const page = rows.slice(0, limit);
  return {
    items: page.map((row) => ({ id: row.id, version: row.version, paymentVersion: row.payment_version, status: row.status })),
    next: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}
