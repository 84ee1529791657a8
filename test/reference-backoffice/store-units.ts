/** The lockers the back office knows (public key, link state, acknowledged events) and the tokens they used. */
import type { JWK } from 'jose';
import type { HelloMessage } from '../../kiosk/sync/messages.js';
import type { Queryable, Tx } from '../../kiosk/store/db.js';
import { parseJson } from './store-rows.js';

// --- units ------------------------------------------------------------------------------

export type LinkState = 'never' | 'online' | 'offline';

export interface Unit {
  unitId: string;
  publicKeyJwk: JWK;
  ackedSeq: number;
  /** The next sequence number the locker will use, as last known (hello, or the latest event + 1). */
  nextSeq: number | null;
  lastSeen: string | null;
  lastEventAt: string | null;
  linkState: LinkState;
  lastHello: HelloMessage | null;
  registeredAt: string;
  /** The locker-wide PIN back-off the unit reported (its clock), until it reports the end; null: none. */
  lockoutUntil: string | null;
}

interface UnitRow {
  unit_id: string;
  public_key_jwk: string;
  acked_seq: number;
  next_seq: number | null;
  last_seen: string | null;
  last_event_at: string | null;
  link_state: LinkState;
  last_hello: string | null;
  registered_at: string;
  lockout_until: string | null;
}

function toUnit(row: UnitRow): Unit {
  return {
    unitId: row.unit_id,
    publicKeyJwk: parseJson<JWK>(row.public_key_jwk) ?? {},
    ackedSeq: row.acked_seq,
    nextSeq: row.next_seq,
    lastSeen: row.last_seen,
    lastEventAt: row.last_event_at,
    linkState: row.link_state,
    lastHello: parseJson<HelloMessage>(row.last_hello),
    registeredAt: row.registered_at,
    lockoutUntil: row.lockout_until,
  };
}

export const units = {
  async register(tx: Tx, unitId: string, jwk: JWK, now: Date): Promise<void> {
    await tx.run(
      `INSERT INTO units (unit_id, public_key_jwk, registered_at) VALUES (?, ?, ?)
       ON CONFLICT (unit_id) DO UPDATE SET public_key_jwk = excluded.public_key_jwk`,
      [unitId, JSON.stringify(jwk), now.toISOString()],
    );
  },
  async get(q: Queryable, unitId: string): Promise<Unit | null> {
    const row = await q.get<UnitRow>('SELECT * FROM units WHERE unit_id = ?', [unitId]);
    return row ? toUnit(row) : null;
  },
  async list(q: Queryable): Promise<Unit[]> {
    return (await q.all<UnitRow>('SELECT * FROM units ORDER BY unit_id')).map(toUnit);
  },
  async markOnline(tx: Tx, unitId: string, hello: HelloMessage, now: Date): Promise<void> {
    await tx.run(
      `UPDATE units SET link_state = 'online', last_seen = ?, last_hello = ?,
         next_seq = MAX(COALESCE(next_seq, 0), ?) WHERE unit_id = ?`,
      [now.toISOString(), JSON.stringify(hello), hello.outbox.nextSeq, unitId],
    );
  },
  async setAckedSeq(tx: Tx, unitId: string, ackedSeq: number): Promise<void> {
    await tx.run('UPDATE units SET acked_seq = ? WHERE unit_id = ?', [ackedSeq, unitId]);
  },
  async markOffline(q: Queryable, unitId: string, now: Date): Promise<void> {
    await q.run("UPDATE units SET link_state = 'offline', last_seen = ? WHERE unit_id = ? AND link_state = 'online'", [
      now.toISOString(),
      unitId,
    ]);
  },
  /** At start: nobody is connected yet, whatever the last run left behind. */
  async markAllOffline(q: Queryable): Promise<void> {
    await q.run("UPDATE units SET link_state = 'offline' WHERE link_state = 'online'");
  },
  async touch(q: Queryable, unitId: string, now: Date): Promise<void> {
    await q.run('UPDATE units SET last_seen = ? WHERE unit_id = ?', [now.toISOString(), unitId]);
  },
  /**
   * A compartment's state changed by an event (quarantined, cleared): kept in the last hello's
   * list so the staff page shows it without waiting for the next connection.
   */
  async setCompartmentState(tx: Tx, unitId: string, compartment: number, state: HelloMessage['compartments'][number]['state'], reservationId: string | null): Promise<void> {
    const row = await tx.get<{ last_hello: string | null }>('SELECT last_hello FROM units WHERE unit_id = ?', [unitId]);
    const hello = parseJson<HelloMessage>(row?.last_hello ?? null);
    if (!hello) return;
    const compartments = hello.compartments.map((c) => (c.id === compartment ? { ...c, state, reservationId } : c));
    await tx.run('UPDATE units SET last_hello = ? WHERE unit_id = ?', [JSON.stringify({ ...hello, compartments }), unitId]);
  },
  async setLockout(tx: Tx, unitId: string, until: string | null): Promise<void> {
    await tx.run('UPDATE units SET lockout_until = ? WHERE unit_id = ?', [until, unitId]);
  },
};

export const tokens = {
  /**
   * Records a token id as used; false when it was used before (a replay). Ids of expired
   * tokens are forgotten: such a token is refused for its age anyway.
   */
  async use(tx: Tx, jti: string, unitId: string, expiresAt: Date, now: Date): Promise<boolean> {
    await tx.run('DELETE FROM used_tokens WHERE expires_at < ?', [now.toISOString()]);
    const { changes } = await tx.run('INSERT INTO used_tokens (jti, unit_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING', [
      jti,
      unitId,
      expiresAt.toISOString(),
    ]);
    return changes === 1;
  },
};
