/**
 * What the reference back office believes each unit holds (docs/protocol.md, "Inventory"):
 * filled by paging with `inventory.page`, kept current by the results of its own commands, and
 * compared with the digest in each hello. Reads take a Db or a Tx, writes a Tx.
 */
import type { Queryable, Tx } from '../../kiosk/store/db.js';
import { digestOf } from '../../kiosk/sync/inventory.js';
import type { InventoryItem, ReservationStatusWire } from '../../kiosk/sync/messages.js';

export const inventory = {
  async isKnown(q: Queryable, unitId: string): Promise<boolean> {
    return (await q.get<{ known: number }>('SELECT inventory_known AS known FROM units WHERE unit_id = ?', [unitId]))?.known === 1;
  },
  async setKnown(tx: Tx, unitId: string, known: boolean): Promise<void> {
    await tx.run('UPDATE units SET inventory_known = ? WHERE unit_id = ?', [known ? 1 : 0, unitId]);
  },
  /** Starts a paging over: what was known is dropped. */
  async clear(tx: Tx, unitId: string): Promise<void> {
    await tx.run('DELETE FROM unit_inventory WHERE unit_id = ?', [unitId]);
    await tx.run('UPDATE units SET inventory_known = 0 WHERE unit_id = ?', [unitId]);
  },
  async put(tx: Tx, unitId: string, items: readonly InventoryItem[]): Promise<void> {
    for (const item of items) {
      await tx.run(
        `INSERT INTO unit_inventory (unit_id, reservation_id, version, payment_version, status) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (unit_id, reservation_id) DO UPDATE SET version = excluded.version, payment_version = excluded.payment_version, status = excluded.status`,
        [unitId, item.id, item.version, item.paymentVersion, item.status],
      );
    }
  },
  /** A command's result told a new version (upsert, cancel) or payment version. */
  async note(tx: Tx, unitId: string, reservationId: string, change: { version?: number; paymentVersion?: number; status?: ReservationStatusWire }): Promise<void> {
    await tx.run(
      `INSERT INTO unit_inventory (unit_id, reservation_id, version, payment_version, status) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (unit_id, reservation_id) DO UPDATE SET
         version = MAX(version, excluded.version),
         payment_version = MAX(payment_version, excluded.payment_version),
         status = COALESCE(?, status)`,
      [unitId, reservationId, change.version ?? 0, change.paymentVersion ?? 0, change.status ?? 'booked', change.status ?? null],
    );
  },
  async list(q: Queryable, unitId: string): Promise<InventoryItem[]> {
    const rows = await q.all<{ reservation_id: string; version: number; payment_version: number; status: ReservationStatusWire }>(
      'SELECT reservation_id, version, payment_version, status FROM unit_inventory WHERE unit_id = ?',
      [unitId],
    );
    return rows.map((row) => ({ id: row.reservation_id, version: row.version, paymentVersion: row.payment_version, status: row.status }));
  },
  async digest(q: Queryable, unitId: string): Promise<string> {
    return digestOf(await inventory.list(q, unitId));
  },
};
