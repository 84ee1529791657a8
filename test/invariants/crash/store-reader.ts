/**
 * What a crash run needs to know from the locker's database between kills, read read-only
 * (the locker may be running beside it): the reservations to walk, the compartments, the
 * outbox, and where the last kill landed.
 */
import sqlite3 from 'sqlite3';
import { LATEST_SCHEMA_VERSION } from '../../../kiosk/store/migrations.js';
import { schemaVersionAt } from '../check.js';

export interface StoreView {
  reservations: { id: string; kind: 'dropoff' | 'pickup'; status: string; compartmentId: number | null }[];
  compartments: { id: number; state: string; reservationId: string | null }[];
  outbox: { seq: number; type: string; payload: string }[];
  /** The last seq the outbox ever handed out (sqlite_sequence), 0 if none. */
  lastSeq: number;
  /** Where the last life stopped: an open intent (between intent and outcome), a journey in flight after its door opened, or neither. */
  landing: 'intent-without-outcome' | 'door-open-in-flight' | 'no-actuation';
}

/**
 * Whether the file holds the locker's whole schema, so readStore can read it. A start killed
 * before its migrations committed leaves no file, an empty one, or one migrated part-way (each
 * migration commits on its own); no journey has touched such a file, and the next start
 * migrates it. (Seed 3939044612 in CI found the campaign reading an empty file after such a kill.)
 */
export async function schemaComplete(path: string): Promise<boolean> {
  return (await schemaVersionAt(path)) === LATEST_SCHEMA_VERSION;
}

/** Reads the store; the file must hold the whole schema (schemaComplete), or this throws. */
export async function readStore(path: string, withOutbox = false): Promise<StoreView> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const handle: sqlite3.Database = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (error) => (error ? reject(error) : resolve(handle)));
  });
  const all = <T>(sql: string): Promise<T[]> => new Promise((resolve, reject) => db.all<T>(sql, (error, rows) => (error ? reject(error) : resolve(rows))));
  try {
    await all('BEGIN');
    const reservations = await all<StoreView['reservations'][number]>('SELECT id, kind, status, compartment_id AS compartmentId FROM reservations ORDER BY id');
    const compartments = await all<StoreView['compartments'][number]>('SELECT id, state, reservation_id AS reservationId FROM compartments ORDER BY id');
    const outbox = withOutbox ? await all<StoreView['outbox'][number]>('SELECT seq, type, payload FROM outbox ORDER BY seq') : [];
    const [sequence] = await all<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'");
    const [open] = await all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM audit_log i WHERE i.phase = 'intent'
         AND i.boot_id = (SELECT boot_id FROM audit_log ORDER BY id DESC LIMIT 1)
         AND NOT EXISTS (SELECT 1 FROM audit_log o WHERE o.intent_id = i.id)`,
    );
    const [inflight] = await all<{ n: number }>('SELECT COUNT(*) AS n FROM inflight');
    await all('COMMIT');
    const landing = (open?.n ?? 0) > 0 ? 'intent-without-outcome' : (inflight?.n ?? 0) > 0 ? 'door-open-in-flight' : 'no-actuation';
    return { reservations, compartments, outbox, lastSeq: sequence?.seq ?? 0, landing };
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}
