import type { Queryable, Tx } from './db.js';

/** Small key/value settings that must survive a restart (e.g. the last synced cursor). */

export async function get(q: Queryable, key: string): Promise<string | null> {
  const row = await q.get<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]);
  return row?.value ?? null;
}

export async function set(tx: Tx, key: string, value: string): Promise<void> {
  await tx.run(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    [key, value],
  );
}
