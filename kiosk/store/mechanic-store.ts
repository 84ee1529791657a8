/** The core's MechanicStore port (core/ports.ts) over SQLite: mechanic requests and token nonces. */
import type { MechanicRequestRecord, MechanicStore, MechanicTx } from '../core/ports.js';
import type { Db, Queryable, Tx } from './db.js';
import { journeyTxOf, type StoreStamps } from './journey-store.js';

interface RequestRow {
  request_id: string;
  reservation_id: string;
  purpose: MechanicRequestRecord['purpose'];
  tablet_id: string;
  state: MechanicRequestRecord['state'];
}

const toRecord = (row: RequestRow): MechanicRequestRecord => ({
  requestId: row.request_id,
  reservationId: row.reservation_id,
  purpose: row.purpose,
  tabletId: row.tablet_id,
  state: row.state,
});

export function mechanicTxOf(tx: Tx): MechanicTx {
  return {
    async request(requestId) {
      const row = await tx.get<RequestRow>('SELECT * FROM mechanic_requests WHERE request_id = ?', [requestId]);
      return row ? toRecord(row) : null;
    },
    async setRequestState(requestId, state) {
      await tx.run('UPDATE mechanic_requests SET state = ? WHERE request_id = ?', [state, requestId]);
    },
    async tokenIssued(t) {
      await tx.run('INSERT INTO mechanic_tokens (nonce, request_id, tablet_id, boot_id, issued_mono, issued_at) VALUES (?, ?, ?, ?, ?, ?)', [
        t.nonce,
        t.requestId,
        t.tabletId,
        t.bootId,
        t.issuedMono,
        t.at,
      ]);
    },
    async burnNonce(nonce, at) {
      const { changes } = await tx.run('UPDATE mechanic_tokens SET used_at = ? WHERE nonce = ? AND used_at IS NULL', [at, nonce]);
      return changes === 1;
    },
  };
}

export async function pendingRequests(q: Queryable): Promise<MechanicRequestRecord[]> {
  const rows = await q.all<RequestRow>("SELECT * FROM mechanic_requests WHERE state = 'pending' ORDER BY received_at, request_id");
  return rows.map(toRecord);
}

/**
 * `onCommitted` runs after a transaction that may have appended events (the sync sends them now).
 */
export function createMechanicStore(db: Db, stamps: StoreStamps, onCommitted: () => void = () => undefined): MechanicStore {
  return {
    async transaction(fn) {
      const result = await db.transaction((tx) => fn(journeyTxOf(tx, stamps), mechanicTxOf(tx)));
      try {
        onCommitted();
      } catch {
        // Committed is committed.
      }
      return result;
    },
    pendingRequests: () => pendingRequests(db),
  };
}
