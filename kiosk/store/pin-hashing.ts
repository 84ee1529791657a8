/**
 * The unit's PIN salt and cost (core/pin.ts, UnitPinHashing), made once per database and
 * published in every `hello`, so a back office hashes each PIN for this unit the same way and
 * the locker finds a typed PIN by index. Kept in `settings`; not a secret.
 */
import { isUnitPinHashing, newUnitPinHashing, type UnitPinHashing } from '../core/pin.js';
import type { Db, Queryable } from './db.js';
import * as settings from './settings.js';

const KEY = 'pin.hashing';

/** The unit's PIN hashing, or null when none was made yet (or the row is unreadable). */
export async function get(q: Queryable): Promise<UnitPinHashing | null> {
  const text = await settings.get(q, KEY);
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isUnitPinHashing(value) ? { salt: value.salt, N: value.N, r: value.r, p: value.p } : null;
  } catch {
    return null;
  }
}

/** At start: the stored one, or a new one made and stored now. */
export async function loadOrCreate(db: Db): Promise<UnitPinHashing> {
  return db.transaction(async (tx) => {
    const existing = await get(tx);
    if (existing) return existing;
    const made = newUnitPinHashing();
    await settings.set(tx, KEY, JSON.stringify(made));
    return made;
  });
}
